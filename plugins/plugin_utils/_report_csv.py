# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report as CSV: one row per host and setting, for spreadsheets and SIEM imports.

FOR INTERNAL COLLECTION USE ONLY. Cells that a spreadsheet would read as a formula (leading =,
+, -, @, tab or carriage return; OWASP "CSV Injection") get a leading apostrophe, since host and
GPO names come from the managed hosts. The rollback report (_rollback.py) writes its CSV through
the same csv_text and csv_cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, List, Tuple

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
    "smb1_only",
    "cis",
    "stig",
    "stig_vuln_id",
    "cce",
    "check_mode",
    "seen_by_this_run",
    "row_generated_at",
)

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A CSV cell's text: empty for None, true/false for a bool, a formula defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV document: the header, then each row's cells through csv_cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()


def _host_rows(report: Mapping[str, Any]) -> Iterator[Tuple[object, ...]]:
    for row in report["hosts"]:
        # A row carried from an earlier report (not seen by this run) keeps that report's time.
        carried = row.get("carried") or {}
        generated_at = carried.get("generated_at") if carried else report.get("generated_at")
        wire = row["wire"] or {}
        events = row["audit_events"]
        event_count = events["server"]["count"] if events else None
        names: List[str] = [s["name"] for s in report["settings"]]
        for name in names if not row["facts_missing"] else [""]:
            data = row["settings"].get(name, {})
            ids = data.get("benchmarks") or {}
            yield (
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
                data.get("smb1_only"),
                ids.get("cis"),
                ids.get("stig"),
                ids.get("stig_vuln_id"),
                ids.get("cce"),
                bool(row["outcome"].get("check_mode")),
                not carried,
                generated_at,
            )


def render_csv(report: Mapping[str, Any]) -> str:
    return csv_text(COLUMNS, _host_rows(report))


def render_changes_csv(report: Mapping[str, Any]) -> str:
    """The report's "changes since" section (a previous report was given): one row per change."""
    changes = report.get("changes_since")
    return csv_text(CHANGE_COLUMNS, change_rows(changes) if changes else [])
