# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Quote text for a PowerShell single-quoted string literal.

FOR INTERNAL COLLECTION USE ONLY.

PowerShell treats the four typographic single quotes (U+2018 to U+201B) as single quotes too
(about_Quoting_Rules: "To include a single quotation mark in a single-quoted string, use a second
consecutive single quote"; the language specification's "single-quote-character" class lists
U+2018, U+2019, U+201A and U+201B). ansible.windows' plugin_utils/_quote.py doubles the same
five characters; it is not importable from here without depending on that collection, so the
same rule is restated.
"""

from __future__ import annotations

_SINGLE_QUOTES = ("'", "\u2018", "\u2019", "\u201a", "\u201b")


def quote_pwsh(text: str) -> str:
    """Return ``text`` as a single-quoted PowerShell literal: nothing in it is expanded."""
    quoted = text
    for char in _SINGLE_QUOTES:
        quoted = quoted.replace(char, char + char)
    return "'" + quoted + "'"
