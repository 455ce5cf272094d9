# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet's warnings, each told once: how many hosts gave it and the first few of them.

FOR INTERNAL COLLECTION USE ONLY. Pure functions over the report's host rows, whose
``warnings`` come from each host's facts (``ansible_facts.smb_signing.warnings``). The modules
write a host's warning as ``HOST: text``; the host's name is taken off, so the same text from a
thousand hosts is one entry with a count, and the per-host detail stays in the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Dict, List

Json = Dict[str, Any]

# Hosts named in a warning's line; the count says how many more.
FIRST_HOSTS = 5


def _text(row: Mapping[str, Any], warning: str) -> str:
    for name in (row.get("host"), row.get("computer_name")):
        if name and warning.startswith(f"{name}: "):
            return warning[len(name) + 2 :]
    return warning


def warning_summary(rows: Sequence[Mapping[str, Any]], first: int = FIRST_HOSTS) -> List[Json]:
    """One entry per distinct warning text: the count of hosts and the first ``first`` hosts
    (in the rows' order), most frequent first."""
    hosts_by_text: Dict[str, List[str]] = {}
    for row in rows:
        for warning in dict.fromkeys(_text(row, str(w)) for w in row.get("warnings") or []):
            hosts_by_text.setdefault(warning, []).append(str(row.get("host")))
    ordered = sorted(hosts_by_text.items(), key=lambda item: (-len(item[1]), item[0]))
    return [
        {"message": text, "count": len(hosts), "hosts": hosts[:first]} for text, hosts in ordered
    ]


def warning_lines(summary: Sequence[Mapping[str, Any]]) -> List[str]:
    """The summary as lines to print, one per warning text."""
    lines = []
    for entry in summary:
        count, hosts = entry["count"], list(entry["hosts"])
        more = count - len(hosts)
        who = ", ".join(hosts) + (f" and {more} more" if more > 0 else "")
        noun = "host" if count == 1 else "hosts"
        lines.append(f"{count} {noun} ({who}): {entry['message']}")
    return lines
