# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report as CSV: one row per host and setting, for spreadsheets and SIEM imports.

FOR INTERNAL COLLECTION USE ONLY. Cells that a spreadsheet would read as a formula (leading =,
+, -, @, tab or carriage return; OWASP "CSV Injection") get a leading apostrophe, since host and
GPO names come from the managed hosts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any, List

from ._report_drift import CHANGE_COLUMNS, change_rows

COLUMNS = (
    "host",
    "computer_name",
    "profile",
    "os_family",
    "status",
    "status_reasons",
    "setting",
    "value",
    "expected",
    "compliant",
    "owner",
    "gpo",
    "waiver",
    "reason",
    "wire_signing_required",
    "wire_agrees_with_config",
    "unsigned_client_events",
)

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def render_csv(report: Mapping[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in report["hosts"]:
        wire = row["wire"] or {}
        events = row["audit_events"]
        event_count = events["server"]["count"] if events else None
        names: List[str] = [s["name"] for s in report["settings"]]
        for name in names if not row["facts_missing"] else [""]:
            data = row["settings"].get(name, {})
            writer.writerow(
                [
                    _cell(v)
                    for v in (
                        row["host"],
                        row["computer_name"],
                        row["profile"],
                        row["os_family"],
                        row["status"],
                        "; ".join(row["status_reasons"]),
                        name,
                        data.get("value"),
                        data.get("expected"),
                        data.get("compliant"),
                        data.get("owner"),
                        data.get("gpo"),
                        data.get("waiver"),
                        data.get("reason") or row["outcome"]["failure"],
                        wire.get("signing_required"),
                        wire.get("agrees_with_config"),
                        event_count,
                    )
                ]
            )
    return out.getvalue()


def render_changes_csv(report: Mapping[str, Any]) -> str:
    """The report's "changes since" section (a previous report was given): one row per change."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CHANGE_COLUMNS)
    changes = report.get("changes_since")
    if changes:
        for row in change_rows(changes):
            writer.writerow([_cell(v) for v in row])
    return out.getvalue()
