# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text from a target made safe for every sink: a terminal, a JSON or CSV file, an HTML page.

FOR INTERNAL COLLECTION USE ONLY.

A host's answer is the host's word: a computer name, a GPO name or an event's peer label can
hold a lone surrogate (which breaks any UTF-8 write), control characters (which move a terminal's
cursor or end a CSV row) or bidirectional overrides (which make a name read as another). read.py
passes every string of an answer through safe_text, so nothing downstream sees them raw. Written
here rather than taken from a library: the escapes are a handful, and the set is the point.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, the line and paragraph separators, and the bidirectional marks,
# embeddings, overrides and isolates (Unicode UAX #9).
_UNSAFE = re.compile(
    "[\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]"
)
_SURROGATE = re.compile("[\\ud800-\\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """Lone surrogates become U+FFFD; controls, separators and bidi marks become visible
    escapes (\\x1b, \\u202e). Ordinary text, non-Latin scripts included, is unchanged."""
    return _UNSAFE.sub(_escape, _SURROGATE.sub("\ufffd", text))
