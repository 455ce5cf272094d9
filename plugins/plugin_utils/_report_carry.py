# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep a fleet report whole when a run sees part of the fleet (--limit, a smaller hosts list).

FOR INTERNAL COLLECTION USE ONLY. Pure functions: no Ansible, no files.

The report in the destination (the last real run's) may list hosts this run did not see. Their
latest rows are kept, each marked ``carried`` with the time and run of the report it came from
(a row carried twice keeps its first origin), and the report says what it covers:
``coverage`` (also in the summary) names this run's host count, the carried hosts, and this
run's own numbers by status, so carried rows are never taken for this run's findings.

Rows are carried only from a report of this schema version and of the same baseline; anything
else is replaced, and ``replaced`` says what was there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Tuple

from ._report_model import REPORT_SCHEMA_VERSION, report_from_rows

Json = Dict[str, Any]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _host_count(doc: object) -> Optional[int]:
    hosts = _mapping(doc).get("hosts")
    return len(hosts) if isinstance(hosts, list) else None


def _baselines(text: object) -> List[str]:
    return sorted({b.strip() for b in str(text or "").split(",")} - {""})


def _refusal(previous: object, current: Mapping[str, Any]) -> Optional[str]:
    """Why the previous report's rows cannot be carried into ``current``, or None."""
    doc = _mapping(previous)
    if not isinstance(doc.get("hosts"), list):
        return "it is not an SMB signing report"
    if doc.get("schema_version") != REPORT_SCHEMA_VERSION:
        return "its schema_version is {!r}, this report's {}".format(
            doc.get("schema_version"), REPORT_SCHEMA_VERSION
        )
    if _mapping(doc.get("run")).get("check_mode"):
        return "it is a check-mode report"
    before, now = _baselines(doc.get("baseline")), _baselines(current.get("baseline"))
    if before and now and before != now:
        return "its baseline is {}, this run's {}".format(", ".join(before), ", ".join(now))
    return None


def replaced_line(previous_name: str, previous: object, why: str) -> str:
    """The sentence the action's message ends with when a previous report was replaced."""
    count = _host_count(previous)
    what = f"of {count} hosts " if count is not None else ""
    return f"the previous report {what}in {previous_name} was replaced: {why}"


def _coverage(report: Mapping[str, Any], this_run: List[Json], carried: List[Json]) -> Json:
    statuses = dict.fromkeys(report["summary"]["by_status"], 0)
    for row in this_run:
        statuses[row["status"]] += 1
    origins: Dict[Tuple[Any, Any], int] = {}
    for row in carried:
        origin = row["carried"]
        key = (origin.get("generated_at"), origin.get("run"))
        origins[key] = origins.get(key, 0) + 1
    return {
        "hosts": len(this_run) + len(carried),
        "this_run_hosts": len(this_run),
        "this_run_by_status": statuses,
        "carried_hosts": sorted(r["host"] for r in carried),
        "carried_from": [
            {"generated_at": when, "run": run, "hosts": n}
            for (when, run), n in sorted(origins.items(), key=lambda kv: str(kv[0]))
        ],
        "replaced": None,
    }


def with_carried(report: Mapping[str, Any], previous: object, previous_name: str = "") -> Json:
    """``report`` (one run's, from build_report) with the previous report's rows of the hosts
    this run did not see, and its ``coverage``. ``previous`` is the destination's report as
    read (None: there was none). The run's own keys (run, check mode) are kept."""
    this_run = [dict(r) for r in report["hosts"]]
    seen = {r["host"] for r in this_run}
    carried: List[Json] = []
    replaced: Optional[str] = None
    if previous is not None:
        why = _refusal(previous, report)
        if why:
            replaced = replaced_line(previous_name, previous, why)
        else:
            doc = _mapping(previous)
            origin = {
                "generated_at": doc.get("generated_at"),
                "run": _mapping(doc.get("run")).get("id"),
                "report": previous_name,
            }
            for row in doc["hosts"]:
                if not isinstance(row, Mapping) or row.get("host") in seen:
                    continue
                kept = dict(row)
                kept["carried"] = dict(_mapping(row.get("carried")) or origin)
                carried.append(kept)
                seen.add(row["host"])
    if carried:
        out: Json = dict(report)
        rebuilt = report_from_rows(
            this_run + carried,
            str(report["generated_at"]),
            title=str(report["title"]),
            group_by=str(report["effective"]["groups"]["group_by"]),
        )
        out.update(
            hosts=rebuilt["hosts"], effective=rebuilt["effective"], summary=rebuilt["summary"]
        )
    else:
        out = dict(report)
        out["summary"] = dict(report["summary"])
    coverage = _coverage(out, this_run, carried)
    coverage["replaced"] = replaced
    out["coverage"] = coverage
    out["summary"]["coverage"] = coverage
    return out


def coverage_note(report: Mapping[str, Any]) -> str:
    """What the action's message adds about coverage: empty when this run saw every host."""
    coverage = _mapping(report.get("coverage"))
    notes = []
    carried = coverage.get("carried_hosts") or []
    if carried:
        notes.append(
            "; {} seen by this run, {} carried over from earlier reports (not seen by this "
            "run)".format(coverage["this_run_hosts"], len(carried))
        )
    if coverage.get("replaced"):
        notes.append("; " + str(coverage["replaced"]))
    return "".join(notes)
