# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What changed between a previous fleet report and this one, and who changed it.

FOR INTERNAL COLLECTION USE ONLY. Pure functions: no Ansible, no files.

A report alone shows a state. To tell a change this collection made from corrective drift (a GPO,
another tool, a person), a run needs to know what the collection wrote in between. Two records
give it:

- every report row keeps, per setting its run changed, the value before and the value written
  (``outcome.written``, see ``_report_model``);
- the report directory keeps a run history, ``smb_signing_history.jsonl``: one compact JSON line
  per run of the report (``history_entry``), appended, never rewritten. A later run reads the
  lines after the previous report's run and sees every enforce (or rollback) run in between that
  wrote its report into the same directory (or into the previous report's directory).

A value change is ``this collection`` when the writes in between explain it end to end (the first
write starts from the previous value, each write starts where the one before ended, the last ends
at today's value); otherwise it is ``elsewhere``, with the collection's writes named when there
were some (a GPO that reverted an enforce run shows up so).

Limits: runs that wrote their report into another directory are not seen (their changes count as
``elsewhere``), and a history that was deleted or cannot be read says so in
``changes_since.history``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Dict, List, Optional, Tuple

Json = Dict[str, Any]

HISTORY_FILE = "smb_signing_history.jsonl"
HISTORY_FORMAT = 1

BY_COLLECTION = "this collection"
BY_ELSEWHERE = "elsewhere"

# Statuses a host can leave or enter that the summary names on their own.
NONCOMPLIANT = "noncompliant"
COMPLIANT = "compliant"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def report_runs(report: Mapping[str, Any]) -> List[str]:
    """The run ids a report stands for: its own, or a merged report's sources' runs."""
    merged = _mapping(report.get("merge"))
    if merged:
        return [str(r) for r in merged.get("runs") or []]
    run = _mapping(report.get("run")).get("id")
    return [str(run)] if run else []


def _row_writes(row: Mapping[str, Any]) -> Dict[str, Tuple[bool, bool]]:
    outcome = _mapping(row.get("outcome"))
    if outcome.get("check_mode") or row.get("carried"):
        # Planned only, or a row carried from an earlier report (_report_carry): its writes
        # are that report's run's, recorded when it ran.
        return {}
    out: Dict[str, Tuple[bool, bool]] = {}
    for name, data in _mapping(outcome.get("written")).items():
        d = _mapping(data)
        if isinstance(d.get("before"), bool) and isinstance(d.get("written"), bool):
            out[str(name)] = (d["before"], d["written"])
    return out


def history_entry(report: Mapping[str, Any], mode: Optional[str] = None) -> Json:
    """One run's line of the history: who, when, and per host each setting it wrote as
    [before, written]. A check-mode run wrote nothing."""
    run = _mapping(report.get("run"))
    check_mode = bool(run.get("check_mode"))
    writes: Json = {}
    if not check_mode:
        for row in report.get("hosts") or []:
            done = _row_writes(row)
            if done:
                writes[str(row["host"])] = {k: [b, w] for k, (b, w) in sorted(done.items())}
    return {
        "format": HISTORY_FORMAT,
        "run": str(run.get("id") or ""),
        "generated_at": str(report.get("generated_at") or ""),
        "mode": mode or str(report.get("mode") or ""),
        "check_mode": check_mode,
        "hosts": len(report.get("hosts") or []),
        "writes": writes,
    }


def history_line(entry: Mapping[str, Any]) -> str:
    return json.dumps(entry, separators=(",", ":"), sort_keys=True) + "\n"


def parse_history(name: str, lines: Iterable[str]) -> Tuple[List[Json], List[str]]:
    """The entries of one history file in file order, and a note per line it could not read."""
    entries: List[Json] = []
    problems: List[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            problems.append(f"{name}:{number}: not JSON; line skipped")
            continue
        if not isinstance(entry, dict) or entry.get("format") != HISTORY_FORMAT:
            problems.append(f"{name}:{number}: not a history line of format {HISTORY_FORMAT}")
            continue
        entries.append(entry)
    return entries, problems


def runs_between(
    histories: Sequence[Sequence[Json]],
    previous: Mapping[str, Any],
    current_runs: Sequence[str],
) -> Tuple[List[Json], bool]:
    """The runs after the previous report's and before this one, from each history (file
    order after the previous run's last line; by time where the previous run is not in that
    history), without duplicates, oldest first; and whether some history held the previous
    run (else the result rests on timestamps alone)."""
    prev_runs = set(report_runs(previous))
    prev_time = str(previous.get("generated_at") or "")
    found_previous = False
    seen: Dict[str, Json] = {}
    for entries in histories:
        positions = [i for i, e in enumerate(entries) if str(e.get("run")) in prev_runs]
        if positions:
            found_previous = True
            after = list(entries[positions[-1] + 1 :])
        else:
            after = [e for e in entries if str(e.get("generated_at") or "") >= prev_time]
        for entry in after:
            run = str(entry.get("run"))
            if run in prev_runs or run in current_runs or run in seen:
                continue
            seen[run] = entry
    between = sorted(seen.values(), key=lambda e: str(e.get("generated_at") or ""))
    return between, found_previous


def _peers(row: Mapping[str, Any], side: str) -> Dict[str, int]:
    events = _mapping(row.get("audit_events"))
    part = _mapping(events.get(side))
    return {
        str(p.get("peer")).lower(): int(p.get("count") or 0)
        for p in part.get("peers") or []
        if isinstance(p, Mapping)
    }


def _value_change(
    host: str,
    name: str,
    before: Optional[bool],
    now: Optional[bool],
    writes: Sequence[Tuple[str, bool, bool]],
) -> Optional[Json]:
    """One setting's change, classified; None when nothing changed and nothing was written."""
    if before is None or now is None:
        return None

    def change(by: str, runs: List[str], detail: str) -> Json:
        return {
            "host": host,
            "setting": name,
            "from": before,
            "to": now,
            "by": by,
            "runs": runs,
            "detail": detail,
        }

    if not writes:
        if before == now:
            return None
        return change(BY_ELSEWHERE, [], "no run of this collection wrote it in between")
    chained = (
        writes[0][1] == before
        and all(a[2] == b[1] for a, b in zip(writes, writes[1:]))
        and writes[-1][2] == now
    )
    runs = [w[0] for w in writes]
    wrote = "; ".join(f"run {r} wrote {w} (was {b})" for r, b, w in writes)
    if chained:
        if before == now:
            return None  # written and written back by this collection (enforce, then rollback)
        return change(BY_COLLECTION, runs, wrote)
    detail = f"{wrote}; the host holds {now} now" if before == now else wrote
    return change(
        BY_ELSEWHERE,
        runs,
        f"changed elsewhere as well: {detail}"
        if before != now
        else f"reverted elsewhere: {detail}",
    )


def changes_since(
    previous: Mapping[str, Any],
    current: Mapping[str, Any],
    between: Sequence[Json],
    *,
    history: Optional[Json] = None,
    previous_name: str = "",
) -> Json:
    """The "changes since" section: ``previous`` and ``current`` are whole reports, ``between``
    the history entries of the runs in between (``runs_between``)."""
    prev_rows = {str(r["host"]): r for r in previous.get("hosts") or [] if isinstance(r, Mapping)}
    # The hosts this run saw: a row carried from an earlier report (_report_carry) is no news,
    # so a host this run did not see counts as gone from it.
    cur_rows = {
        str(r["host"]): r
        for r in current.get("hosts") or []
        if isinstance(r, Mapping) and not r.get("carried")
    }
    current_run = ", ".join(report_runs(current)) or "this run"

    # Every write in between, then this report's own, per host and setting, oldest first.
    writes: Dict[Tuple[str, str], List[Tuple[str, bool, bool]]] = {}
    for entry in between:
        for host, settings in _mapping(entry.get("writes")).items():
            for name, pair in _mapping(settings).items():
                if isinstance(pair, list) and len(pair) == 2:
                    writes.setdefault((str(host), str(name)), []).append(
                        (str(entry.get("run")), bool(pair[0]), bool(pair[1]))
                    )
    for host, row in cur_rows.items():
        for name, (b, w) in _row_writes(row).items():
            writes.setdefault((host, name), []).append((current_run, b, w))

    value_changes: List[Json] = []
    owner_changes: List[Json] = []
    wire_changes: List[Json] = []
    peers_new: List[Json] = []
    status_changes: List[Json] = []
    for host in sorted(set(prev_rows) & set(cur_rows)):
        prev, cur = prev_rows[host], cur_rows[host]
        if prev.get("status") != cur.get("status"):
            status_changes.append(
                {"host": host, "from": prev.get("status"), "to": cur.get("status")}
            )
        if prev.get("facts_missing") or cur.get("facts_missing"):
            continue
        p_settings, c_settings = _mapping(prev.get("settings")), _mapping(cur.get("settings"))
        for name in c_settings:
            p, c = _mapping(p_settings.get(name)), _mapping(c_settings.get(name))
            change = _value_change(
                host, name, p.get("value"), c.get("value"), writes.get((host, name), [])
            )
            if change:
                value_changes.append(change)
            if p and (p.get("owner"), p.get("gpo")) != (c.get("owner"), c.get("gpo")):
                owner_changes.append(
                    {
                        "host": host,
                        "setting": name,
                        "from": p.get("owner"),
                        "to": c.get("owner"),
                        "gpo_from": p.get("gpo"),
                        "gpo_to": c.get("gpo"),
                    }
                )
        p_wire, c_wire = _mapping(prev.get("wire")), _mapping(cur.get("wire"))
        p_req, c_req = p_wire.get("signing_required"), c_wire.get("signing_required")
        if isinstance(p_req, bool) and isinstance(c_req, bool) and p_req != c_req:
            wire_changes.append({"host": host, "from": p_req, "to": c_req})
        for side in ("server", "client"):
            known = _peers(prev, side)
            for peer, count in _peers(cur, side).items():
                if peer not in known:
                    peers_new.append({"host": host, "side": side, "peer": peer, "count": count})

    newly_noncompliant = [c for c in status_changes if c["to"] == NONCOMPLIANT]
    newly_compliant = [c for c in status_changes if c["to"] == COMPLIANT]
    run_list = [
        {
            "run": str(e.get("run")),
            "generated_at": e.get("generated_at"),
            "mode": e.get("mode"),
            "check_mode": bool(e.get("check_mode")),
            "hosts_written": len(_mapping(e.get("writes"))),
        }
        for e in between
    ]
    return {
        "previous": {
            "report": previous_name,
            "generated_at": previous.get("generated_at"),
            "runs": report_runs(previous),
            "mode": previous.get("mode"),
            "hosts": len(prev_rows),
        },
        "runs_between": run_list,
        "history": dict(history or {}),
        "hosts_new": sorted(set(cur_rows) - set(prev_rows)),
        "hosts_gone": sorted(set(prev_rows) - set(cur_rows)),
        "newly_noncompliant": newly_noncompliant,
        "newly_compliant": newly_compliant,
        "status_changes": status_changes,
        "value_changes": value_changes,
        "owner_changes": owner_changes,
        "wire_changes": wire_changes,
        "new_unsigned_peers": peers_new,
    }


def summary_of(changes: Mapping[str, Any]) -> Json:
    """The few lines of the changes that the summary (set_stats) carries."""
    values = changes["value_changes"]
    return {
        "previous": changes["previous"]["generated_at"],
        "hosts_new": list(changes["hosts_new"]),
        "hosts_gone": list(changes["hosts_gone"]),
        "newly_noncompliant": [c["host"] for c in changes["newly_noncompliant"]],
        "newly_compliant": [c["host"] for c in changes["newly_compliant"]],
        "changed_by_this_collection": sorted(
            f"{c['host']}:{c['setting']}" for c in values if c["by"] == BY_COLLECTION
        ),
        "changed_elsewhere": sorted(
            f"{c['host']}:{c['setting']}" for c in values if c["by"] == BY_ELSEWHERE
        ),
        "owner_changes": sorted(f"{c['host']}:{c['setting']}" for c in changes["owner_changes"]),
        "wire_changes": sorted(c["host"] for c in changes["wire_changes"]),
        "new_unsigned_peers": sorted(
            f"{c['host']}:{c['side']}:{c['peer']}" for c in changes["new_unsigned_peers"]
        ),
        "runs_between": [r["run"] for r in changes["runs_between"]],
    }


def summary_line(changes: Mapping[str, Any]) -> str:
    s = summary_of(changes)
    return (
        "since {}: {} changed by this collection, {} elsewhere, {} newly noncompliant, "
        "{} new and {} gone hosts".format(
            s["previous"],
            len(s["changed_by_this_collection"]),
            len(s["changed_elsewhere"]),
            len(s["newly_noncompliant"]),
            len(s["hosts_new"]),
            len(s["hosts_gone"]),
        )
    )


CHANGE_COLUMNS = ("change", "host", "setting", "from", "to", "by", "runs", "detail")


def change_rows(changes: Mapping[str, Any]) -> List[List[object]]:
    """Every change as one flat row (the changes CSV and the HTML tables)."""
    rows: List[List[object]] = []
    for host in changes["hosts_new"]:
        rows.append(["host_new", host, "", "", "", "", "", "not in the previous report"])
    for host in changes["hosts_gone"]:
        rows.append(["host_gone", host, "", "", "", "", "", "not in this report"])
    for c in changes["status_changes"]:
        rows.append(["status", c["host"], "", c["from"], c["to"], "", "", ""])
    for c in changes["value_changes"]:
        rows.append(
            [
                "value",
                c["host"],
                c["setting"],
                c["from"],
                c["to"],
                c["by"],
                " ".join(c["runs"]),
                c["detail"],
            ]
        )
    for c in changes["owner_changes"]:
        detail = f"GPO {c['gpo_from'] or '-'} -> {c['gpo_to'] or '-'}"
        rows.append(["owner", c["host"], c["setting"], c["from"], c["to"], "", "", detail])
    for c in changes["wire_changes"]:
        rows.append(
            ["wire", c["host"], "", c["from"], c["to"], "", "", "signing required on the wire"]
        )
    for c in changes["new_unsigned_peers"]:
        rows.append(
            [
                "unsigned_peer",
                c["host"],
                c["side"],
                "",
                c["peer"],
                "",
                "",
                f"{c['count']} events",
            ]
        )
    return rows
