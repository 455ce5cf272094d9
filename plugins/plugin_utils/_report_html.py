# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report as one self-contained HTML page: inline CSS and SVG, no script, no fetches.

FOR INTERNAL COLLECTION USE ONLY. Every value from the report passes through _e() (html.escape
with quote=True) before it reaches the page: host names, GPO names and audit peers come from
the managed hosts and must not be able to inject markup. The Content-Security-Policy meta tag
forbids scripts and remote loads, so a page opened from an AWX artifact cannot phone home.

A template engine (Jinja2, which Ansible ships) would autoescape too, but the page is small and
this keeps the renderer importable and testable without Ansible's templating set-up.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any, List, Optional

from ._report_drift import BY_ELSEWHERE, CHANGE_COLUMNS, change_rows

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STATUS_LABELS = {
    "failed": "failed",
    "blocked": "blocked by audit gate",
    "unreachable": "no data",
    "noncompliant": "non-compliant",
    "unverified": "unverified",
    "waived": "waived",
    "compliant": "compliant",
}
# Setting cells: judged or not (the baseline does not set it, or the host lacks it).
NOT_JUDGED_COLOUR = "#9ca3af"

STATUS_COLOURS = {
    "failed": "#7f1d1d",
    "blocked": "#b45309",
    "unreachable": "#6b7280",
    "noncompliant": "#dc2626",
    "unverified": "#7c3aed",
    "waived": "#0e7490",
    "compliant": "#16a34a",
}

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#111827;
background:#f9fafb}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#4b5563;font-size:13px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:110px}
.card b{display:block;font-size:22px}.card span{font-size:12px;color:#4b5563}
table{border-collapse:collapse;background:#fff;font-size:12px}
th,td{border:1px solid #e5e7eb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f4f6}
td.ok{background:#dcfce7}td.bad{background:#fee2e2}td.na{background:#f3f4f6;color:#6b7280}
td.warn{background:#fef3c7}
.badge{display:inline-block;border-radius:4px;padding:0 4px;margin:1px;font-size:11px;color:#fff}
.gpo{background:#7c3aed}.wire{background:#dc2626}.smb1{background:#b45309}.audit{background:#0369a1}
.status{color:#fff;border-radius:4px;padding:1px 6px;white-space:nowrap}
.small{font-size:11px;color:#4b5563}
.legend span{margin-right:14px}
.banner{background:#fef3c7;border:1px solid #b45309;border-radius:6px;padding:8px 12px;
font-weight:600}
tr.carried{opacity:.7}
.smb1only{background:#6b7280}
"""


def _e(value: object) -> str:
    """Escape any value for HTML text and attribute context."""
    return html.escape("" if value is None else str(value), quote=True)


def _onoff(value: Optional[bool]) -> str:
    return "n/a" if value is None else ("on" if value else "off")


def _status_span(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#6b7280")
    label = _e(STATUS_LABELS.get(status, status))
    return f'<span class="status" style="background:{colour}">{label}</span>'


def _cards(summary: Mapping[str, Any]) -> str:
    by_status = summary["by_status"]
    items = [
        ("hosts", summary["hosts"]),
        ("compliant", by_status["compliant"]),
        ("non-compliant", by_status["noncompliant"]),
        ("failed or blocked", by_status["failed"] + by_status["blocked"]),
        ("GPO-owned settings", len(summary["gpo_owned"])),
        ("wire disagrees", len(summary["wire_disagrees"])),
        ("unsigned host pairs", summary["unsigned_pairs"]),
    ]
    return '<div class="cards">{}</div>'.format(
        "".join(f"<div class=card><b>{_e(v)}</b><span>{_e(k)}</span></div>" for k, v in items)
    )


def _status_chart(summary: Mapping[str, Any]) -> str:
    """A horizontal stacked bar of hosts by status, in SVG (no external assets)."""
    total = max(int(summary["hosts"]), 1)
    width, x = 600.0, 0.0
    parts: List[str] = []
    legend: List[str] = []
    for status, count in summary["by_status"].items():
        if not count:
            continue
        w = width * count / total
        colour = STATUS_COLOURS[status]
        label = f"{STATUS_LABELS[status]}: {count}"
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="28" fill="{colour}">'
            f"<title>{_e(label)}</title></rect>"
        )
        if w > 24:
            parts.append(
                f'<text x="{x + w / 2:.1f}" y="19" fill="#fff" font-size="13" '
                f'text-anchor="middle">{_e(count)}</text>'
            )
        legend.append(
            f'<span><span class="status" style="background:{colour}">&nbsp;</span> '
            f"{_e(label)}</span>"
        )
        x += w
    return (
        '<svg role="img" aria-label="hosts by status" width="600" height="28" '
        'xmlns="http://www.w3.org/2000/svg">{}</svg><p class="legend small">{}</p>'
    ).format("".join(parts), "".join(legend))


def _setting_chart(report: Mapping[str, Any]) -> str:
    """Per setting: compliant / non-compliant / not evaluated hosts, as stacked SVG bars."""
    by_setting = report["summary"]["by_setting"]
    rows = []
    bar_width, y = 360.0, 0
    for s in report["settings"]:
        counts = by_setting[s["name"]]
        total = max(sum(counts.values()), 1)
        x = 230.0
        rows.append(
            f'<text x="0" y="{y + 14}" font-size="12" fill="#111827">{_e(s["name"])}</text>'
        )
        for key, colour in (
            ("compliant", STATUS_COLOURS["compliant"]),
            ("noncompliant", STATUS_COLOURS["noncompliant"]),
            ("not_judged", NOT_JUDGED_COLOUR),
        ):
            w = bar_width * counts[key] / total
            if w:
                rows.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="18" fill="{colour}">'
                    f"<title>{_e(s['name'])} {_e(key)}: {_e(counts[key])}</title></rect>"
                )
            x += w
        rows.append(
            f'<text x="{230 + bar_width + 8}" y="{y + 14}" font-size="12" fill="#4b5563">'
            f"{_e(counts['compliant'])}/{_e(total)}</text>"
        )
        y += 24
    return (
        f'<svg role="img" aria-label="compliance by setting" width="660" height="{y}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg>'
    )


def _setting_cell(data: Mapping[str, Any]) -> str:
    if not data["supported"]:
        css, text = "na", "unsupported"
    else:
        verdict = data["compliant"]
        css = "na" if verdict is None else ("ok" if verdict else "bad")
        text = _onoff(data["value"])
        if data["expected"] is not None:
            text += " (want {})".format(_onoff(data["expected"])) if not verdict else ""
    badges = ""
    if data.get("waiver"):
        badges += '<span class="badge" title="{}">waived</span>'.format(_e(data["waiver"]))
    if data["owner"] == "gpo":
        badges += '<span class="badge gpo" title="{}">GPO</span>'.format(
            _e("set by Group Policy: " + (data["gpo"] or "unknown GPO"))
        )
    elif data["owner"]:
        badges += '<span class="small"> {}</span>'.format(_e(data["owner"]))
    ids = _ids(data.get("benchmarks") or {})
    title = data["reason"] + (f" [{ids}]" if ids else "")
    return f'<td class="{css}" title="{_e(title)}">{_e(text)}{badges}</td>'


def _wire_cell(row: Mapping[str, Any]) -> str:
    wire = row["wire"]
    if wire is None:
        return '<td class="na">not probed</td>'
    if not wire["reachable"]:
        return '<td class="warn" title="{}">unreachable</td>'.format(_e(wire["error"]))
    text = "required" if wire["signing_required"] else "not required"
    css = "ok" if wire["signing_required"] else "bad"
    badge = ""
    if wire["agrees_with_config"] is False:
        css = "warn"
        badge = '<span class="badge wire" title="{}">disagrees</span>'.format(
            _e(wire["message"] or "the wire and the configuration disagree")
        )
    return '<td class="{}">{} <span class="small">{}</span>{}</td>'.format(
        css, _e(text), _e(wire["dialect"] or ""), badge
    )


def _notes_cell(row: Mapping[str, Any]) -> str:
    notes: List[str] = []
    if row["smb1_server_enabled"]:
        notes.append('<span class="badge smb1">SMB1 on</span>')
    events = row["audit_events"]
    if events is not None and events["server"]["count"]:
        peers = ", ".join(p["peer"] for p in events["server"]["peers"])
        notes.append(
            '<span class="badge audit" title="{}">{} unsigned-client events</span>'.format(
                _e(peers), _e(events["server"]["count"])
            )
        )
    outcome = row["outcome"]
    shown = {outcome["failure"]}
    if outcome["blocked"]:
        notes.append(_e(outcome["blocked"]["message"]))
        shown.add(outcome["blocked"]["message"])
    if outcome["failure"]:
        notes.append("<b>{}</b>".format(_e(outcome["failure"])))
    # Why the host is not compliant (unverified: what evidence is missing), unless said above.
    for reason in row["status_reasons"]:
        if reason not in shown:
            notes.append(_e(reason))
    if outcome["changes"]:
        notes.append("changed: {}".format(_e(", ".join(outcome["changes"]))))
    for warning in row["warnings"]:
        notes.append(f'<span class="small">{_e(warning)}</span>')
    return "<td>{}</td>".format("<br>".join(notes))


def _ids(ids: Mapping[str, Any]) -> str:
    """A setting's benchmark ids as one line: CIS 2.3.9.2, STIG WN22-SO-000190 (V-254463), CCE."""
    parts = []
    if ids.get("cis"):
        parts.append("CIS {}".format(ids["cis"]))
    if ids.get("stig"):
        vuln = " ({})".format(ids["stig_vuln_id"]) if ids.get("stig_vuln_id") else ""
        parts.append("STIG {}{}".format(ids["stig"], vuln))
    if ids.get("cce"):
        parts.append(str(ids["cce"]))
    return ", ".join(parts)


def _setting_head(setting: Mapping[str, Any]) -> str:
    """A setting's column head: its name, its CIS and CCE ids, SMB1-only when it is (the STIG
    rule depends on the host's OS: each cell's title names it)."""
    ids = _ids({"cis": setting.get("cis"), "cce": setting.get("cce")})
    smb1 = setting.get("smb1_only")
    title = setting["display_name"] + (" (affects SMB1 only)" if smb1 else "")
    return '<th title="{}">{}{}{}</th>'.format(
        _e(title),
        _e(setting["name"]),
        '<div><span class="badge smb1only">SMB1 only</span></div>' if smb1 else "",
        f'<div class="small">{_e(ids)}</div>' if ids else "",
    )


def _carried_note(row: Mapping[str, Any]) -> str:
    carried = row.get("carried")
    if not carried:
        return ""
    return '<div class="small">not seen by this run; from the report of {}</div>'.format(
        _e(carried.get("generated_at") or "an earlier run")
    )


def _matrix(report: Mapping[str, Any]) -> str:
    head = "".join(_setting_head(s) for s in report["settings"])
    body = []
    for row in report["hosts"]:
        if row["facts_missing"]:
            cells = '<td class="na" colspan="{}">no facts</td>'.format(len(report["settings"]) + 1)
        else:
            cells = "".join(_setting_cell(row["settings"][s["name"]]) for s in report["settings"])
            cells += _wire_cell(row)
        body.append(
            "<tr{}><th>{}<div class=small>{}</div></th><td>{}<div class=small>{}</div></td>"
            "<td>{}{}</td>{}{}</tr>".format(
                ' class="carried"' if row.get("carried") else "",
                _e(row["host"]),
                _e(row["computer_name"]),
                _e(row["profile"]),
                _e(row["os_family"]),
                _status_span(row["status"]),
                _carried_note(row),
                cells,
                _notes_cell(row),
            )
        )
    return (
        "<table><thead><tr><th>host</th><th>profile</th><th>status</th>{}<th>wire (server)</th>"
        "<th>notes</th></tr></thead><tbody>{}</tbody></table>"
    ).format(head, "".join(body))


def _host_list(hosts: Sequence[str]) -> str:
    return '<div class="small">{}</div>'.format(_e(", ".join(hosts) if hosts else "no hosts"))


def _seed_table(report: Mapping[str, Any]) -> str:
    cells = {
        (c["client_require"], c["server_require"]): c for c in report["effective"]["seed_table"]
    }
    servers = {required: cells[(True, required)]["servers"] for required in (True, False)}
    head = "".join(
        "<th>Server: {}{}</th>".format(
            _e("Required" if r else "Not Required"), _host_list(servers[r])
        )
        for r in (True, False)
    )
    body = []
    for client_required in (True, False):
        clients = cells[(client_required, True)]["clients"]
        tds = []
        for server_required in (True, False):
            cell = cells[(client_required, server_required)]
            live = bool(cell["clients"]) and bool(cell["servers"])
            css = ("ok" if cell["signed"] else "bad") if live else "na"
            note = '<div class="small">{}</div>'.format(_e(cell["note"])) if cell["note"] else ""
            tds.append('<td class="{}"><b>{}</b>{}</td>'.format(css, _e(cell["result"]), note))
        body.append(
            "<tr><th>Client: {}{}</th>{}</tr>".format(
                _e("Required" if client_required else "Not Required"),
                _host_list(clients),
                "".join(tds),
            )
        )
    return "<table><thead><tr><th></th>{}</tr></thead><tbody>{}</tbody></table>".format(
        head, "".join(body)
    )


def _group_matrix(report: Mapping[str, Any]) -> str:
    matrix = report["effective"]["groups"]
    names = [g["name"] for g in matrix["groups"]]
    cells = {(c["client_group"], c["server_group"]): c for c in matrix["cells"]}
    head = "".join(f"<th>server: {_e(n)}</th>" for n in names)
    body = []
    for client_group in names:
        tds = []
        for server_group in names:
            c = cells[(client_group, server_group)]
            if not c["pairs"]:
                tds.append('<td class="na">no pairs</td>')
                continue
            css = "bad" if c["unsigned_pairs"] else ("na" if c["unknown_pairs"] else "ok")
            text = "{} of {} pairs unsigned".format(c["unsigned_pairs"], c["pairs"])
            extra = ""
            if c["examples"]:
                extra += '<div class="small">e.g. {}</div>'.format(
                    _e("; ".join(f"{a} \u2192 {b}" for a, b in c["examples"]))
                )
            if c["smb1_unsigned_pairs"] or c["smb1_refused_pairs"]:
                extra += '<div class="small">over SMB1: {} unsigned, {} refused</div>'.format(
                    _e(c["smb1_unsigned_pairs"]), _e(c["smb1_refused_pairs"])
                )
            tds.append(f'<td class="{css}">{_e(text)}{extra}</td>')
        body.append("<tr><th>client: {}</th>{}</tr>".format(_e(client_group), "".join(tds)))
    return "<table><thead><tr><th></th>{}</tr></thead><tbody>{}</tbody></table>".format(
        head, "".join(body)
    )


def _changes(report: Mapping[str, Any]) -> str:
    """The "changes since" section, when the run was given a previous report."""
    changes = report.get("changes_since")
    if not changes:
        return ""
    prev = changes["previous"]
    runs = ", ".join(
        "{} ({}{})".format(r["run"], r["mode"], ", check mode" if r["check_mode"] else "")
        for r in changes["runs_between"]
    )
    head = "".join(f"<th>{_e(c)}</th>" for c in CHANGE_COLUMNS)
    body = "".join(
        "<tr>{}</tr>".format(
            "".join(
                '<td class="{}">{}</td>'.format(
                    "warn" if v == BY_ELSEWHERE else "", _e("" if v is None else v)
                )
                for v in row
            )
        )
        for row in change_rows(changes)
    )
    history = changes.get("history") or {}
    notes = "".join(f"<li>{_e(n)}</li>" for n in history.get("notes") or [])
    return "".join(
        [
            "<h2>Changes since {}</h2>".format(_e(prev["generated_at"])),
            '<p class="small">Previous report: {} ({} hosts, runs {}). Runs of this collection '
            "in between: {}. <b>this collection</b>: written by those runs (or this one); "
            "<b>elsewhere</b>: a GPO, another tool or a person.</p>".format(
                _e(prev["report"] or "n/a"),
                _e(prev["hosts"]),
                _e(", ".join(prev["runs"]) or "n/a"),
                _e(runs or "none seen"),
            ),
            f'<ul class="small">{notes}</ul>' if notes else "",
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            if body
            else "<p>No change.</p>",
        ]
    )


def _check_banner(report: Mapping[str, Any]) -> str:
    if not (report.get("run") or {}).get("check_mode"):
        return ""
    return (
        '<p class="banner">Check mode: this run wrote nothing. The values are as they were, '
        "and the changes listed are the ones an enforce run would make.</p>"
    )


def _coverage(report: Mapping[str, Any]) -> str:
    """What the report covers: this run's hosts and those carried from earlier reports."""
    coverage = report.get("coverage") or {}
    carried = coverage.get("carried_hosts") or []
    parts = []
    if carried:
        origins = "; ".join(
            "{} hosts from the report of {}".format(o["hosts"], o["generated_at"] or "n/a")
            for o in coverage.get("carried_from") or []
        )
        this_run = coverage.get("this_run_by_status") or {}
        parts.append(
            '<p class="banner">Coverage: {} hosts, {} seen by this run ({} compliant, {} '
            "non-compliant); {} not seen by this run, carried over from earlier reports "
            "({}): {}</p>".format(
                _e(coverage["hosts"]),
                _e(coverage["this_run_hosts"]),
                _e(this_run.get("compliant", 0)),
                _e(this_run.get("noncompliant", 0)),
                _e(len(carried)),
                _e(origins),
                _e(", ".join(carried)),
            )
        )
    if coverage.get("replaced"):
        parts.append('<p class="small">{}</p>'.format(_e(coverage["replaced"])))
    return "".join(parts)


def render_html(report: Mapping[str, Any]) -> str:
    """The complete page."""
    summary = report["summary"]
    return "".join(
        [
            "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>",
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(report['title'])}</title><style>{STYLE}</style></head><body>",
            f"<h1>{_e(report['title'])}</h1>",
            '<p class="meta">generated {} &middot; mode: {} &middot; baseline: {}</p>'.format(
                _e(report["generated_at"]),
                _e(report["mode"] or "n/a"),
                _e(report["baseline"] or "n/a"),
            ),
            _check_banner(report),
            _coverage(report),
            _cards(summary),
            _changes(report),
            "<h2>Hosts by status</h2>",
            _status_chart(summary),
            "<h2>Compliance by setting</h2>",
            _setting_chart(report),
            "<h2>Compliance matrix</h2>",
            '<p class="small">Green: as the baseline wants; red: not; grey: the baseline does not '
            'set it or the OS lacks it. <span class="badge gpo">GPO</span> a Group Policy owns '
            "the value (a local change would be reverted); "
            '<span class="badge wire">disagrees</span> the SMB negotiate seen from the controller '
            "does not match the configuration. Hover a cell for the reason.</p>",
            _matrix(report),
            "<h2>Who would talk unsigned (SMB2/3)</h2>",
            '<p class="small">The effective-signing table of the policy "Microsoft network '
            'server: Digitally sign communications (always)": a session is signed when either '
            "side requires it. Under each heading, the hosts of this fleet in that posture.</p>",
            _seed_table(report),
            "<h3>By {}</h3>".format(_e(report["effective"]["groups"]["group_by"])),
            '<p class="small">Each host as a client against every other host as a server.</p>',
            _group_matrix(report),
            "</body></html>\n",
        ]
    )
