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


CLIXML_HEADER = "#< CLIXML\r\n"
OBJS_OPEN = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
PROGRESS_ACTIVITY = "Preparing modules for first use."
WARNING_TEXT = "The lab host is busy: this warning and the progress records come with exit code 0."


def _progress(ref: int) -> str:
    """One progress record as powershell.exe serializes it to a redirected stderr (the shape of
    a real server's answer kept in pywinrm's tests, winrm/tests/test_session.py)."""
    type_names = (
        '<TN RefId="0"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN>'
        if ref == 0
        else '<TNRef RefId="0" />'
    )
    return (
        f'<Obj S="progress" RefId="{ref}">{type_names}<MS><I64 N="SourceId">1</I64>'
        f'<PR N="Record"><AV>{PROGRESS_ACTIVITY}</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC>'
        "<T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>"
    )


def progress_records() -> str:
    """Two progress records and one warning record (``S S="warning"``, as ConsoleHost's
    WriteWarningLine serializes it), the inside of an ``Objs`` element."""
    return f'{_progress(0)}{_progress(1)}<S S="warning">{_encode(WARNING_TEXT)}</S>'


def with_progress(stderr: bytes) -> bytes:
    """``stderr`` with the progress and warning records first, in the one CLIXML document
    powershell.exe writes. Plain-text stderr (cmd.exe's, not PowerShell's) is left alone."""
    text = stderr.decode("utf-8", "surrogateescape")
    if not text:
        return (CLIXML_HEADER + OBJS_OPEN + progress_records() + "</Objs>").encode()
    if text.startswith(CLIXML_HEADER + "<Objs"):
        at = text.index(">", len(CLIXML_HEADER)) + 1
        return (text[:at] + progress_records() + text[at:]).encode("utf-8", "surrogateescape")
    return stderr
