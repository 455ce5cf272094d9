# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report as plain data: per-host rows, flags, the effective-signing view and a summary.

FOR INTERNAL COLLECTION USE ONLY. Pure functions: no Ansible, no files. The action plugin
smb_signing_report feeds them ansible_facts.smb_signing (docs/facts-schema.md) and the role's
per-host outcome; the renderers turn the result into JSON, CSV and HTML. Keeping this apart from
the action plugin lets the tests check the numbers without running a play.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.winhardening.smb.plugins.module_utils import catalog, effective

from ._engine.render import STATUSES

REPORT_SCHEMA_VERSION = 2

# At most this many example pairs per cell of the group matrix; a fleet of thousands would
# otherwise put millions of host pairs in the JSON.
MAX_PAIR_EXAMPLES = 5

Json = Dict[str, Any]


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


class NotAReport(ValueError):
    """A document that is no SMB signing report of this collection's schema version."""


def as_report(doc: object, doing: str) -> Mapping[str, Any]:
    """A report read back (a previous report, a recorded run), checked for its host list and
    schema version; NotAReport says what is wrong ("this collection <doing> version N only")."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("hosts"), list):
        raise NotAReport("not an SMB signing report")
    if doc.get("schema_version") != REPORT_SCHEMA_VERSION:
        raise NotAReport(
            f"report schema_version {doc.get('schema_version')!r}; this collection {doing} "
            f"version {REPORT_SCHEMA_VERSION} only"
        )
    return doc


def _bool_or_none(value: object) -> Optional[bool]:
    return value if isinstance(value, bool) else None


def _benchmarks(setting: catalog.Setting, data: Mapping[str, Any]) -> Json:
    """The setting's benchmark ids as the facts give them (the STIG rule is the host's OS
    family's); facts without them get the catalog's CIS and CCE ids and no STIG rule."""
    given = _mapping(data.get("benchmarks"))
    out: Json = {}
    for key, fallback in (
        ("cis", setting.cis),
        ("stig", None),
        ("stig_vuln_id", None),
        ("cce", setting.cce),
    ):
        value = given.get(key, fallback) if given else fallback
        out[key] = str(value) if value else None
    return out


def _setting_row(setting: catalog.Setting, data: Mapping[str, Any]) -> Json:
    gpo = _mapping(data.get("gpo"))
    return {
        "value": _bool_or_none(data.get("value")),
        "expected": _bool_or_none(data.get("expected")),
        "compliant": _bool_or_none(data.get("compliant")),
        "supported": data.get("supported") is not False,
        "owner": str(data.get("owner") or ""),
        "gpo": str(gpo["name"]) if gpo.get("name") else None,
        "reason": str(data.get("reason") or ""),
        "waiver": _waiver_label(data.get("waiver")),
        # The two "(if ... agrees)" settings only affect SMB1 (catalog.Setting.smb1_only).
        "smb1_only": setting.smb1_only,
        "benchmarks": _benchmarks(setting, data),
    }


def _waiver_label(waiver: object) -> Optional[str]:
    w = _mapping(waiver)
    if not w:
        return None
    ticket = f", {w.get('ticket')}" if w.get("ticket") else ""
    return f"{w.get('owner')}{ticket} until {w.get('expires')} ({w.get('state')})"


def _written(settings: object) -> Json:
    """Per setting the run changed: the value before, the value written (the read-back) and the
    owner before; what a later rollback restores and what a later drift report attributes to
    this collection. In check mode these are the planned changes (outcome.check_mode)."""
    out: Json = {}
    data = _mapping(settings)
    for s in catalog.SETTINGS:
        one = _mapping(data.get(s.name))
        before, after = one.get("before"), one.get("after")
        if one.get("changed") is True and isinstance(before, bool) and isinstance(after, bool):
            out[s.name] = {
                "before": before,
                "written": after,
                "owner_before": str(one.get("owner_before") or ""),
            }
    return out


def _wire(observed: object) -> Optional[Json]:
    data = _mapping(observed)
    if not data:
        return None
    return {
        "reachable": _bool_or_none(data.get("reachable")),
        "dialect": data.get("dialect"),
        "signing_required": _bool_or_none(data.get("signing_required")),
        "agrees_with_config": _bool_or_none(data.get("agrees_with_config")),
        "error": data.get("error"),
        "message": data.get("message"),
    }


def _audit_events(audit: object) -> Optional[Json]:
    events = _mapping(_mapping(audit).get("events"))
    if not events:
        return None
    result: Json = {"since": events.get("since")}
    for side in ("server", "client"):
        part = _mapping(events.get(side))
        peers = part.get("peers")
        result[side] = {
            "available": _bool_or_none(part.get("available")),
            "error": str(part["error"]) if part.get("error") else None,
            "count": int(part.get("count") or 0),
            "peers_total": int(part.get("peers_total") or 0),
            "peers": [
                {
                    "peer": str(p.get("peer")),
                    "count": int(p.get("count") or 0),
                    "last": p.get("last"),
                }
                for p in (peers if isinstance(peers, list) else [])
                if isinstance(p, Mapping)
            ],
        }
    return result


def _posture(facts: Mapping[str, Any], settings: Mapping[str, Json]) -> Json:
    """SMB2/3 requirement per side, from facts.posture, else from the settings' values."""
    posture = _mapping(facts.get("posture"))
    result: Json = {}
    for side, setting_name in (("server", "server_require"), ("client", "client_require")):
        value = _bool_or_none(_mapping(posture.get(side)).get("requires_signing_smb2"))
        if value is None:
            value = settings.get(setting_name, {}).get("value")
        result[side + "_require"] = value
    for name in ("server_enable", "client_enable"):
        result[name] = settings.get(name, {}).get("value")
    return result


def _flags(row: Json) -> List[str]:
    flags = []
    for name, data in row["settings"].items():
        if data["owner"] == "gpo":
            flags.append("gpo:" + name)
    wire = row["wire"]
    if wire is not None and wire["agrees_with_config"] is False:
        flags.append("wire_disagrees")
    if row["smb1_server_enabled"]:
        flags.append("smb1_enabled")
    events = row["audit_events"]
    if events is not None and events["server"]["count"] > 0:
        flags.append("unsigned_clients_seen")
    return flags


def _status(row: Json, facts: Mapping[str, Any]) -> str:
    """The status the module gave the host, in its facts; without facts, failed or unreachable.
    Anything else (facts of another schema, a status this report does not know) is unverified:
    never counted compliant."""
    if row["facts_missing"]:
        return "failed" if row["outcome"]["failure"] else "unreachable"
    status = facts.get("status")
    if row["outcome"]["failure"] and status not in (
        "failed",
        "blocked",
        "noncompliant",
        "unverified",
    ):
        return "failed"
    if status in STATUSES:
        return str(status)
    return "unverified"


def host_row(host: str, facts: object, outcome: object, check_mode: bool = False) -> Json:
    """One host's row from its ansible_facts.smb_signing (None when it never got that far)."""
    data = _mapping(facts)
    settings_in = _mapping(data.get("settings"))
    settings = {
        s.name: _setting_row(s, _mapping(settings_in.get(s.name))) for s in catalog.SETTINGS
    }
    out = _mapping(outcome)
    blocked = _mapping(out.get("blocked"))
    row: Json = {
        "host": str(host),
        "facts_missing": not data,
        "computer_name": str(data.get("computer_name") or ""),
        "profile": str(data.get("profile") or ""),
        "os_family": str(_mapping(data.get("os")).get("family") or ""),
        "os_caption": str(_mapping(data.get("os")).get("caption") or ""),
        "baseline": str(data.get("baseline") or ""),
        "compliant": _bool_or_none(data.get("compliant")),
        "noncompliant": [str(n) for n in data.get("noncompliant") or []],
        "settings": settings,
        "posture": _posture(data, settings),
        "smb1_server_enabled": _bool_or_none(_mapping(data.get("smb1")).get("server_enabled")),
        "wire": _wire(data.get("observed")),
        "audit_events": _audit_events(data.get("audit")),
        "warnings": [str(w) for w in data.get("warnings") or []],
        "waivers": [dict(_mapping(w)) for w in data.get("waivers") or [] if isinstance(w, Mapping)],
        "outcome": {
            "mode": str(out.get("mode") or ""),
            "changes": [str(c) for c in out.get("changes") or []],
            "written": _written(out.get("settings")),
            "check_mode": bool(check_mode),
            "blocked": (
                {
                    "setting": str(blocked.get("setting") or "server_require"),
                    "peers": [
                        {"peer": str(p.get("peer")), "count": int(p.get("count") or 0)}
                        for p in blocked.get("peers") or []
                        if isinstance(p, Mapping)
                    ],
                    "peers_left_out": int(blocked.get("peers_left_out") or 0),
                    "opens_at": blocked.get("opens_at"),
                    "message": str(blocked.get("message") or ""),
                }
                if blocked
                else None
            ),
            "failure": str(out["failure"]) if out.get("failure") else None,
        },
    }
    row["flags"] = _flags(row)
    # None: seen by this run; a carried row (_report_carry) says which report it came from.
    row["carried"] = None
    row["status"] = _status(row, data)
    row["status_reasons"] = [str(r) for r in data.get("status_reasons") or []]
    if row["status"] in ("failed", "unreachable") and row["outcome"]["failure"]:
        row["status_reasons"] = [row["outcome"]["failure"], *row["status_reasons"]]
    return row


def _groups(rows: Sequence[Json], key: str) -> Dict[str, List[Json]]:
    groups: Dict[str, List[Json]] = {}
    for row in rows:
        if row["facts_missing"]:
            continue
        groups.setdefault(row[key] or "unknown", []).append(row)
    return groups


def _seed_table(rows: Sequence[Json]) -> List[Json]:
    """The policy page's 2x2 table, each cell listing the fleet's hosts in that posture."""
    known = [r for r in rows if not r["facts_missing"]]
    cells = []
    for cell in effective.smb2_signing_table():
        cells.append(
            {
                "client_require": cell.client_require,
                "server_require": cell.server_require,
                "client_label": cell.client,
                "server_label": cell.server,
                "signed": cell.signed,
                "result": cell.result,
                "note": cell.note,
                "clients": [
                    r["host"]
                    for r in known
                    if r["posture"]["client_require"] is cell.client_require
                ],
                "servers": [
                    r["host"]
                    for r in known
                    if r["posture"]["server_require"] is cell.server_require
                ],
            }
        )
    return cells


ClientClass = Tuple[Optional[bool], Optional[bool]]
ServerClass = Tuple[Optional[bool], Optional[bool], bool]


def _client_class(row: Json) -> ClientClass:
    return (row["posture"]["client_require"], row["posture"]["client_enable"])


def _server_class(row: Json) -> ServerClass:
    p = row["posture"]
    return (p["server_require"], p["server_enable"], bool(row["smb1_server_enabled"]))


def _outcome(client: ClientClass, server: ServerClass) -> Tuple[Optional[bool], Optional[str]]:
    """SMB2/3 signed or not (None: a posture is unknown), and the SMB1 result if SMB1 is on."""
    client_require, client_enable = client
    server_require, server_enable, smb1 = server
    smb2: Optional[bool] = None
    if client_require is not None and server_require is not None:
        smb2 = effective.effective_signing(client_require, server_require)
    smb1_result: Optional[str] = None
    if smb1 and None not in (client_enable, client_require, server_enable, server_require):
        smb1_result = effective.effective_signing_smb1(
            bool(client_enable), bool(client_require), bool(server_enable), bool(server_require)
        )
    return smb2, smb1_result


def _by_class(rows: Sequence[Json], key: Any) -> Dict[Any, List[str]]:
    """Hosts per posture class; only MAX_PAIR_EXAMPLES + 1 names are kept, enough for examples
    that never pair a host with itself."""
    names: Dict[Any, List[str]] = {}
    for row in rows:
        kept = names.setdefault(key(row), [])
        if len(kept) <= MAX_PAIR_EXAMPLES:
            kept.append(row["host"])
    return names


def group_matrix(rows: Sequence[Json], key: str = "profile") -> Json:
    """Client group x server group: how many host pairs would talk unsigned, per the seed table.

    Every host is both an SMB client and an SMB server. A pair is a client host and a different
    server host; SMB1 is counted only where the server has SMB1 on (the facts do not say whether
    the client speaks SMB1, so it is what could happen, not what does). Hosts are counted per
    posture class, not pair by pair, so a fleet of 10,000 hosts costs classes squared, not
    hosts squared.
    """
    groups = _groups(rows, key)
    names = sorted(groups)
    clients = {g: Counter(_client_class(r) for r in groups[g]) for g in names}
    servers = {g: Counter(_server_class(r) for r in groups[g]) for g in names}
    both = {g: Counter((_client_class(r), _server_class(r)) for r in groups[g]) for g in names}
    client_names = {g: _by_class(groups[g], _client_class) for g in names}
    server_names = {g: _by_class(groups[g], _server_class) for g in names}
    cells = []
    for client_group in names:
        for server_group in names:
            same = client_group == server_group
            pairs = unsigned = unknown = smb1_unsigned = smb1_refused = 0
            examples: List[List[str]] = []
            for c_class, c_count in sorted(clients[client_group].items(), key=repr):
                for s_class, s_count in sorted(servers[server_group].items(), key=repr):
                    # A host is never paired with itself.
                    n = c_count * s_count - (both[client_group][(c_class, s_class)] if same else 0)
                    if n <= 0:
                        continue
                    pairs += n
                    smb2, smb1 = _outcome(c_class, s_class)
                    if smb2 is None:
                        unknown += n
                    elif not smb2:
                        unsigned += n
                        for c in client_names[client_group][c_class]:
                            for s in server_names[server_group][s_class]:
                                if c != s and len(examples) < MAX_PAIR_EXAMPLES:
                                    examples.append([c, s])
                    if smb1 == effective.UNSIGNED:
                        smb1_unsigned += n
                    elif smb1 == effective.REFUSED:
                        smb1_refused += n
            cells.append(
                {
                    "client_group": client_group,
                    "server_group": server_group,
                    "pairs": pairs,
                    "unsigned_pairs": unsigned,
                    "unknown_pairs": unknown,
                    "smb1_unsigned_pairs": smb1_unsigned,
                    "smb1_refused_pairs": smb1_refused,
                    "examples": examples,
                }
            )
    return {
        "group_by": key,
        "groups": [{"name": n, "hosts": [r["host"] for r in groups[n]]} for n in names],
        "cells": cells,
    }


def _waiver_summary(rows: Sequence[Json]) -> Json:
    """How many host-waivers run, expire soon or have expired, and which expire soon."""
    counts = {"active": 0, "expiring": 0, "expired": 0}
    soon: List[str] = []
    for row in rows:
        for w in row.get("waivers") or []:
            state = str(w.get("state"))
            if state in counts:
                counts[state] += 1
            if state == "expiring":
                soon.append(f"{row['host']}: waiver {w.get('index')} until {w.get('expires')}")
    return {**counts, "expiring_soon": sorted(soon)}


def summarise(rows: Sequence[Json], matrix: Json) -> Json:
    """The numbers a dashboard or an AWX job's artifacts want, and nothing per setting-cell."""
    by_status = {status: 0 for status in STATUSES}
    for row in rows:
        by_status[row["status"]] += 1
    by_setting = {}
    for s in catalog.SETTINGS:
        counts = {"compliant": 0, "noncompliant": 0, "not_judged": 0}
        for row in rows:
            if row["facts_missing"]:
                continue
            verdict = row["settings"][s.name]["compliant"]
            key = "not_judged" if verdict is None else "compliant" if verdict else "noncompliant"
            counts[key] += 1
        by_setting[s.name] = counts
    return {
        "hosts": len(rows),
        "by_status": by_status,
        "compliant_hosts": by_status["compliant"],
        "noncompliant_hosts": sorted(r["host"] for r in rows if r["status"] == "noncompliant"),
        "failed_hosts": sorted(r["host"] for r in rows if r["status"] == "failed"),
        "blocked_hosts": sorted(r["host"] for r in rows if r["status"] == "blocked"),
        "unreachable_hosts": sorted(r["host"] for r in rows if r["status"] == "unreachable"),
        "unverified_hosts": sorted(r["host"] for r in rows if r["status"] == "unverified"),
        "waived_hosts": sorted(r["host"] for r in rows if r["status"] == "waived"),
        "waivers": _waiver_summary(rows),
        "by_setting": by_setting,
        "gpo_owned": sorted(
            "{}:{}".format(r["host"], f[4:])
            for r in rows
            for f in r["flags"]
            if f.startswith("gpo:")
        ),
        "wire_disagrees": sorted(r["host"] for r in rows if "wire_disagrees" in r["flags"]),
        "smb1_enabled": sorted(r["host"] for r in rows if "smb1_enabled" in r["flags"]),
        "unsigned_pairs": sum(c["unsigned_pairs"] for c in matrix["cells"]),
        "host_pairs": sum(c["pairs"] for c in matrix["cells"]),
    }


def build_report(
    hosts: Sequence[Tuple[str, object, object]],
    generated_at: str,
    title: str = "SMB signing fleet report",
    group_by: str = "profile",
    check_mode: bool = False,
) -> Json:
    """The whole report from (inventory name, facts or None, role outcome or None) triples."""
    rows = [host_row(name, facts, outcome, check_mode) for name, facts, outcome in hosts]
    return report_from_rows(rows, generated_at, title=title, group_by=group_by)


def report_from_rows(
    rows: Sequence[Json],
    generated_at: str,
    title: str = "SMB signing fleet report",
    group_by: str = "profile",
) -> Json:
    """The whole report from host rows (host_row's output), in the report's order; the fleet
    matrix and the summary are computed from the rows, so rows from several runs (a merge of
    job slices) give the report one run over all those hosts would give."""
    rows = list(rows)
    rows.sort(key=lambda r: (STATUSES.index(r["status"]), r["profile"], r["host"]))
    matrix = group_matrix(rows, group_by)
    modes = sorted({r["outcome"]["mode"] for r in rows if r["outcome"]["mode"]})
    baselines = sorted({r["baseline"] for r in rows if r["baseline"]})
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "title": title,
        "generated_at": generated_at,
        "mode": ", ".join(modes),
        "baseline": ", ".join(baselines),
        "settings": [
            {
                "name": s.name,
                "display_name": s.display_name,
                "side": s.side,
                "kind": s.kind,
                "smb1_only": s.smb1_only,
                "cis": s.cis,
                "cce": s.cce,
            }
            for s in catalog.SETTINGS
        ],
        "hosts": rows,
        "effective": {"seed_table": _seed_table(rows), "groups": matrix},
        "summary": summarise(rows, matrix),
    }
