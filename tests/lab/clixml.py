"""stderr in the CLIXML form that powershell.exe writes when its error stream is redirected.

Shape taken from a real server's answer kept in pywinrm's tests (winrm/tests/conftest.py,
``get_ps_output_response``): ``#< CLIXML`` then an ``Objs`` element with one ``S S="Error"``
string per line, CR LF escaped as ``_x000D__x000A_`` (MS-PSRP 2.2.5.3.2, encoding of strings).
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

_NEEDS_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


def _encode(text: str) -> str:
    text = _NEEDS_ESCAPE.sub(r"_x005F_\1", text)
    text = escape(text)
    return "".join(c if c in "\t" or 0x20 <= ord(c) < 0xD800 else f"_x{ord(c):04X}_" for c in text)


def error_clixml(message: str) -> str:
    """CLIXML for a terminating error whose message is ``message``."""
    lines = message.splitlines() or [""]
    body = "".join(f'<S S="Error">{_encode(line)}_x000D__x000A_</S>' for line in lines)
    return (
        "#< CLIXML\r\n"
        '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        f"{body}</Objs>"
    )
