# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollback of a recorded enforce run: the plan from its report, and the rollback's own report.

FOR INTERNAL COLLECTION USE ONLY. Pure functions: no Ansible, no files.

The plan gives each host of the recorded report the ``rollback`` option of win_smb_signing: per
setting the run changed, ``from`` (the value it wrote) and ``to`` (the value before). The module
restores a setting only where the host still holds ``from``; the rollback report then names, per
host and setting, what was restored, what was already back at its value before, what was changed
since and left alone, and the hosts that failed, could not be reached or are not in the
inventory.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any, Dict, List, Optional

from ._report_csv import csv_cell, csv_text
from ._report_model import NotAReport, as_report

Json = Dict[str, Any]

RESTORED = "restored"
ALREADY = "already at its value before"
LEFT_ALONE = "changed since; left alone"
FAILED = "failed"
UNREACHABLE = "unreachable"
NOT_IN_INVENTORY = "not in the inventory"
NOT_IN_PLAY = "not in this play"
STATES = (RESTORED, ALREADY, LEFT_ALONE, FAILED, UNREACHABLE, NOT_IN_INVENTORY, NOT_IN_PLAY)


class RollbackError(ValueError):
    """A recorded report that cannot be rolled back, with the reason."""


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def plan(doc: object, name: str) -> Json:
    """Per host, the rollback option for win_smb_signing; refuses what it cannot undo."""
    try:
        doc = as_report(doc, "rolls back")
    except NotAReport as exc:
        raise RollbackError(f"{name}: {exc}") from None
    if _mapping(doc.get("run")).get("check_mode"):
        raise RollbackError(f"{name}: a check-mode run wrote nothing, so there is nothing to undo")
    # A row carried from an earlier report (_report_carry) was written by another run.
    rows = [
        r
        for r in doc["hosts"]
        if isinstance(r, Mapping) and isinstance(r.get("host"), str) and not r.get("carried")
    ]
    enforce = [r for r in rows if _mapping(r.get("outcome")).get("mode") == "enforce"]
    if not enforce:
        raise RollbackError(
            f"{name}: no host of this report was enforced (mode {doc.get('mode')!r}); "
            "give the report of an enforce run"
        )
    hosts: Json = {}
    nothing: List[str] = []
    for row in enforce:
        outcome = _mapping(row.get("outcome"))
        if "written" not in outcome:
            raise RollbackError(
                f"{name}: the report does not record what its run wrote (host "
                f"{row['host']}); it was written by an older version of this collection"
            )
        if outcome.get("check_mode"):
            nothing.append(row["host"])
            continue
        undo = {
            str(setting): {"from": bool(d["written"]), "to": bool(d["before"])}
            for setting, d in _mapping(outcome.get("written")).items()
            if isinstance(_mapping(d).get("written"), bool)
            and isinstance(_mapping(d).get("before"), bool)
        }
        if undo:
            hosts[row["host"]] = dict(sorted(undo.items()))
        else:
            nothing.append(row["host"])
    return {
        "report": name,
        "run": str(_mapping(doc.get("run")).get("id") or ""),
        "generated_at": doc.get("generated_at"),
        "hosts": hosts,
        "nothing_to_undo": sorted(nothing),
    }


def weakenings(the_plan: Mapping[str, Any]) -> List[str]:
    """host:setting for each restore that turns a setting off."""
    return sorted(
        f"{host}:{setting}"
        for host, undo in the_plan["hosts"].items()
        for setting, spec in undo.items()
        if spec["from"] and not spec["to"]
    )


def _host_rows(
    host: str,
    undo: Mapping[str, Any],
    result: Optional[Mapping[str, Any]],
    in_play: bool,
    already: Mapping[str, str],
) -> Json:
    """One host's part of the rollback report from its registered result."""
    settings: List[Json] = []
    if not in_play:
        state = NOT_IN_PLAY
        reason = "in the inventory but not in this play (--limit or smb_signing_hosts)"
        for setting, spec in undo.items():
            settings.append({"setting": setting, **spec, "state": state, "detail": reason})
        return {"host": host, "state": state, "reason": reason, "settings": settings}
    if result is None or result.get("unreachable") or result.get("skipped"):
        state = UNREACHABLE
        reason = str((result or {}).get("msg") or "no result: the host was unreachable")
        for setting, spec in undo.items():
            settings.append({"setting": setting, **spec, "state": state, "detail": reason})
        return {"host": host, "state": state, "reason": reason, "settings": settings}
    rollback = _mapping(result.get("rollback"))
    restored = set(rollback.get("restored") or [])
    left = {str(t).split(" ", 1)[0]: str(t) for t in rollback.get("left_alone") or []}
    read = _mapping(result.get("settings"))
    failed = bool(result.get("failed"))
    reason = str(result.get("msg") or "") if failed else ""
    for setting, spec in undo.items():
        now = _mapping(read.get(setting)).get("before")
        if setting in already and now == spec["to"]:
            state, detail = ALREADY, f"holds {now}; restored by rollback run {already[setting]}"
        elif setting in left:
            state, detail = LEFT_ALONE, left[setting]
        elif failed:
            state, detail = FAILED, reason
        elif setting in restored:
            state, detail = RESTORED, f"{spec['from']} -> {spec['to']}"
        else:
            state, detail = LEFT_ALONE, f"holds {now}"
        settings.append({"setting": setting, **spec, "state": state, "detail": detail})
    states = {s["state"] for s in settings}
    if failed:
        host_state = FAILED
    elif LEFT_ALONE in states:
        host_state = LEFT_ALONE
    elif RESTORED in states:
        host_state = RESTORED
    else:
        host_state = ALREADY
    return {"host": host, "state": host_state, "reason": reason, "settings": settings}


def rollback_report(
    the_plan: Mapping[str, Any],
    results: Mapping[str, Optional[Mapping[str, Any]]],
    not_in_inventory: Sequence[str],
    *,
    play_hosts: Optional[Sequence[str]] = None,
    restored_before: Optional[Mapping[str, Mapping[str, str]]] = None,
    generated_at: str,
    run_id: str,
    check_mode: bool,
) -> Json:
    """The rollback's report: every host of the recorded run, each with its state."""
    rows = [
        _host_rows(
            host,
            undo,
            results.get(host),
            play_hosts is None or host in play_hosts,
            (restored_before or {}).get(host, {}),
        )
        for host, undo in sorted(the_plan["hosts"].items())
        if host not in not_in_inventory
    ]
    for host in sorted(not_in_inventory):
        undo = the_plan["hosts"].get(host, {})
        rows.append(
            {
                "host": host,
                "state": NOT_IN_INVENTORY,
                "reason": "in the recorded report, not in this inventory: not rolled back",
                "settings": [
                    {"setting": s, **spec, "state": NOT_IN_INVENTORY, "detail": ""}
                    for s, spec in undo.items()
                ],
            }
        )

    def pairs(state: str) -> List[str]:
        return [
            f"{r['host']}:{s['setting']}"
            for r in rows
            for s in r["settings"]
            if s["state"] == state
        ]

    summary = {
        "hosts": len(rows),
        "restored": pairs(RESTORED),
        "left_alone": pairs(LEFT_ALONE),
        "already_restored": pairs(ALREADY),
        "failed_hosts": [r["host"] for r in rows if r["state"] == FAILED],
        "unreachable_hosts": [r["host"] for r in rows if r["state"] == UNREACHABLE],
        "not_in_inventory": sorted(not_in_inventory),
        "not_in_play": [r["host"] for r in rows if r["state"] == NOT_IN_PLAY],
        "nothing_to_undo": list(the_plan["nothing_to_undo"]),
    }
    return {
        "title": "SMB signing rollback report",
        "generated_at": generated_at,
        "run": {"id": run_id, "check_mode": check_mode},
        "rolled_back": {
            "report": the_plan["report"],
            "run": the_plan["run"],
            "generated_at": the_plan["generated_at"],
        },
        "hosts": rows,
        "summary": summary,
    }


def restored_earlier(history: Sequence[Mapping[str, Any]], run: str) -> Dict[str, Dict[str, str]]:
    """host -> setting -> the rollback run that restored it, for earlier rollbacks of ``run``
    (from the run history), so that a second rollback says "already" rather than "changed
    since" for what the first one put back."""
    out: Dict[str, Dict[str, str]] = {}
    for entry in history:
        if entry.get("mode") != "rollback" or entry.get("check_mode"):
            continue
        if str(entry.get("rolled_back") or "") != run:
            continue
        for host, settings in _mapping(entry.get("writes")).items():
            for setting in _mapping(settings):
                out.setdefault(str(host), {})[str(setting)] = str(entry.get("run"))
    return out


def history_writes(report: Mapping[str, Any]) -> Json:
    """What the rollback wrote, per host and setting as [before, written] (the run history)."""
    if report["run"]["check_mode"]:
        return {}
    out: Json = {}
    for row in report["hosts"]:
        for s in row["settings"]:
            if s["state"] == RESTORED:
                out.setdefault(row["host"], {})[s["setting"]] = [s["from"], s["to"]]
    return out


COLUMNS = ("host", "host_state", "setting", "written_by_run", "before_run", "state", "detail")


def _flat(report: Mapping[str, Any]) -> List[List[object]]:
    rows: List[List[object]] = []
    for row in report["hosts"]:
        for s in row["settings"] or [{}]:
            rows.append(
                [
                    row["host"],
                    row["state"],
                    s.get("setting"),
                    s.get("from"),
                    s.get("to"),
                    s.get("state"),
                    s.get("detail") or row["reason"],
                ]
            )
    return rows


def render_csv(report: Mapping[str, Any]) -> str:
    return csv_text(COLUMNS, _flat(report))


def render_html(report: Mapping[str, Any]) -> str:
    def e(value: object) -> str:
        return html.escape("" if value is None else str(value), quote=True)

    summary = report["summary"]
    cards = "".join(
        f"<li>{e(k)}: {e(len(v) if isinstance(v, list) else v)}</li>" for k, v in summary.items()
    )
    head = "".join(f"<th>{e(c)}</th>" for c in COLUMNS)
    body = "".join(
        "<tr>{}</tr>".format("".join(f"<td>{e(csv_cell(v))}</td>" for v in row))
        for row in _flat(report)
    )
    rolled = report["rolled_back"]
    check = " (check mode: nothing written)" if report["run"]["check_mode"] else ""
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        f"<title>{e(report['title'])}</title><style>body{{font-family:sans-serif;margin:24px}}"
        "table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #ddd;"
        "padding:4px 6px;text-align:left}</style></head><body>"
        f"<h1>{e(report['title'])}</h1>"
        f"<p>generated {e(report['generated_at'])}{check}"
        f" &middot; rolled back run {e(rolled['run'])} of {e(rolled['generated_at'])}"
        f" ({e(rolled['report'])})</p><ul>{cards}</ul>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>\n"
    )
