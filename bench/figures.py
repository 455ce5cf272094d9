"""Turn the measured results into rows of figures with their ratios, for the terminal and the doc.

One place computes every ratio, so the printed figures and docs/performance.md cannot disagree.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

Row = List[str]


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.3f}" if base else "n/a"


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def wire_rows(wire: Dict[str, Any]) -> List[Row]:
    """Per host (median of the demo fleet): round trips, bytes sent, and the share of the
    conventional approach's bytes."""
    conv = wire["conventional"]
    conv_bytes = float(conv["bytes_sent_median"])
    targets = wire["targets"]["round_trips"]
    limit = wire["targets"]["max_bytes_fraction_of_conventional"]
    rows: List[Row] = []
    for level in ("modules", "playbooks"):
        for name, res in wire[level].items():
            trips = res["round_trips_max"]
            fraction = float(res["bytes_sent_median"]) / conv_bytes if conv_bytes else 1.0
            target = targets[name]
            verdict = _met(trips <= target and fraction <= limit)
            if res.get("problems"):
                verdict = "INVALID: " + "; ".join(res["problems"])[:200]
            rows.append(
                [
                    f"{name} ({res['description']})",
                    f"{res['round_trips_median']:g} (max {trips})",
                    str(target),
                    f"{res['bytes_sent_median']:,.0f}",
                    _ratio(float(res["bytes_sent_median"]), conv_bytes),
                    f"{res['bytes_received_median']:,.0f}",
                    verdict,
                ]
            )
    rows.append(
        [
            f"conventional ({conv['description']})",
            f"{conv['round_trips_median']:g} (max {conv['round_trips_max']})",
            "",
            f"{conv['bytes_sent_median']:,.0f}",
            "1.000",
            f"{conv['bytes_received_median']:,.0f}",
            "",
        ]
    )
    return rows


WIRE_HEADER: Row = [
    "run (per host)",
    "WinRM round trips",
    "target",
    "bytes sent",
    "x conventional",
    "bytes received",
    "verdict",
]


def fleet_rows(fleet: Dict[str, Any]) -> List[Row]:
    target = float(fleet["target_x_floor"])
    rows: List[Row] = []
    for row in fleet["rows"]:
        floor = row["raw_floor"]

        def cell(entry: Optional[Dict[str, Any]]) -> str:
            if entry is None:
                return "not run"
            flag = "" if entry.get("ok", True) else " (FAILED hosts)"
            return f"{entry['wall_s']:.1f} s{flag}"

        def times(entry: Optional[Dict[str, Any]]) -> str:
            if entry is None:
                return ""
            return f"{entry['x_floor']:.2f}x ({_met(entry['x_floor'] <= target)})"

        rows.append(
            [
                str(row["hosts"]),
                str(row["forks"]),
                cell(floor),
                cell(row["facts_task"]),
                times(row["facts_task"]),
                cell(row["audit_playbook"]),
                times(row["audit_playbook"]),
                _cpu_cells(row, "ansible_cpu_s"),
                _cpu_cells(row, "lab_cpu_s"),
            ]
        )
    return rows


def _cpu_cells(row: Dict[str, Any], key: str) -> str:
    """floor / facts task / audit playbook, in seconds of CPU."""
    entries = [row.get(k) for k in ("raw_floor", "facts_task", "audit_playbook")]
    return " / ".join(f"{e[key]:.1f}" if e is not None and key in e else "-" for e in entries)


def overlap_rows(overlap: Dict[str, Any]) -> List[Row]:
    return [
        ["the read alone (probe off)", f"{overlap['read_alone_s']:.2f} s"],
        ["the probe alone (a silent SMB port)", f"{overlap['probe_alone_s']:.2f} s"],
        ["the task with both", f"{overlap['both_s']:.2f} s"],
        ["the two one after the other would take", f"{overlap['sum_s']:.2f} s"],
        ["the task with both / that sum", f"{overlap['both_over_sum']:.2f}"],
    ]


OVERLAP_HEADER: Row = ["win_smb_signing_facts on one host", "task time (median)"]


def concurrency_line(fleet: Dict[str, Any]) -> str:
    c = fleet.get("concurrency")
    if not c:
        return "Enforce across the whole fleet: not run."
    verdict = "every host completed" if c["completed"] else "NOT every host completed"
    return (
        f"Enforce playbook across {c['hosts']} hosts with forks {c['forks']}: "
        f"{c['wall_s']:.1f} s, {verdict}; hosts whose lab state differs from their report row: "
        f"{c['mismatched_count']}."
    )


FLEET_HEADER: Row = [
    "hosts",
    "forks",
    "floor (raw)",
    "facts task",
    "x floor",
    "audit playbook",
    "x floor",
    "Ansible CPU s (floor / facts / audit)",
    "lab CPU s (floor / facts / audit)",
]


def probe_rows(probe: Optional[Dict[str, Any]]) -> List[Row]:
    if probe is None or "error" in probe:
        return []
    ratios = probe["ratios"]
    per_probe = probe.get("cpu_ms_per_probe") or {}
    rows: List[Row] = [
        [
            f"{probe['endpoints']} Samba endpoints, wall",
            f"{probe['ours_wall_s']:.2f} s",
            f"{probe['nmap_wall_s']:.2f} s",
            f"{ratios['nmap_wall_over_ours']:.2f}",
        ],
        [
            "same, client CPU",
            f"{probe['ours_cpu_s']:.3f} s",
            f"{probe['nmap_cpu_s']:.3f} s",
            f"{ratios['nmap_cpu_over_ours']:.2f}",
        ],
        [
            "answers matching smb.conf",
            f"{probe['ours_correct']}/{probe['endpoints']}",
            f"{probe['nmap_correct']}/{probe['endpoints']}",
            "",
        ],
    ]
    floor = probe.get("server_floor_s")
    if floor:
        # smbd's least CPU for these negotiates in this run, spread over every core: no client
        # can finish sooner, so nmap's wall over it is the most any client can beat nmap by.
        rows.append(
            [
                f"same, over Samba's own floor ({floor:.2f} s: smbd's least CPU / cores)",
                f"{ratios['ours_wall_over_server_floor']:.2f}x",
                f"{ratios['nmap_wall_over_server_floor']:.2f}x",
                "",
            ]
        )
    if probe.get("replay_ours_wall_s") and probe.get("replay_nmap_wall_s"):
        rows.append(
            [
                "200 endpoints of a replaying fake server, wall (the clients set the pace)",
                f"{probe['replay_ours_wall_s']:.2f} s",
                f"{probe['replay_nmap_wall_s']:.2f} s",
                f"{probe['replay_nmap_wall_s'] / probe['replay_ours_wall_s']:.2f}",
            ]
        )
    if per_probe.get("ours_64") and per_probe.get("nmap_one_run"):
        rows.append(
            [
                "client CPU per probe (replayed answer)",
                f"{per_probe['ours_64']:.2f} ms",
                f"{per_probe['nmap_one_run']:.2f} ms",
                f"{per_probe['nmap_one_run'] / per_probe['ours_64']:.2f}",
            ]
        )
    if probe.get("silent_nmap_wall_s") and probe.get("silent_ours_wall_s_deadline_1"):
        rows.append(
            [
                "silent endpoint (ours: 1 s deadline)",
                f"{probe['silent_ours_wall_s_deadline_1']:.2f} s",
                f"{probe['silent_nmap_wall_s']:.2f} s",
                f"{probe['silent_nmap_wall_s'] / probe['silent_ours_wall_s_deadline_1']:.2f}",
            ]
        )
    return rows


PROBE_HEADER: Row = ["", "ours", "nmap", "nmap / ours"]


def _pct(value: float) -> str:
    return f"{100 * value:+.1f}%"


def scale_rows(scale: Dict[str, Any]) -> List[Row]:
    """The fleet audit against the floor at each size, with the cost per host."""
    rows: List[Row] = []
    for row in scale["rows"]:
        floor, audit = row["raw_floor"], row["audit_playbook"]

        def wall(entry: Dict[str, Any]) -> str:
            return f"{entry['wall_s']:.1f} s" + ("" if entry["ok"] else " (FAILED hosts)")

        rows.append(
            [
                f"{row['hosts']:,}",
                str(row["forks"]),
                wall(floor),
                f"{floor['ms_per_host']:.1f}",
                wall(audit),
                f"{audit['ms_per_host']:.1f}",
                f"{audit['x_floor']:.2f}x",
                f"{audit['over_floor_ms_per_host']:.1f}",
                f"{floor['ansible_cpu_s']:.1f} / {audit['ansible_cpu_s']:.1f}",
                f"{floor['lab_cpu_s']:.1f} / {audit['lab_cpu_s']:.1f}",
                f"{floor['peak_rss_mb']:.0f} / {audit['peak_rss_mb']:.0f}",
            ]
        )
    return rows


SCALE_HEADER: Row = [
    "hosts",
    "forks",
    "floor (raw)",
    "floor ms/host",
    "audit playbook",
    "audit ms/host",
    "x floor",
    "audit over floor, ms/host",
    "Ansible CPU s (floor / audit)",
    "lab CPU s (floor / audit)",
    "controller peak RSS MB (floor / audit)",
]


def scale_verdicts(scale: Dict[str, Any]) -> List[str]:
    """One line per target, with the measured numbers; a target whose sizes were not run says
    so."""
    v = scale.get("verdicts") or {}
    t = scale["targets"]
    lines = []
    x = v.get("x_floor")
    if x is None:
        lines.append(
            f"Audit at {t['x_floor_at_hosts']:,} hosts within {t['x_floor']}x the floor: "
            "not measured (that size was not run)."
        )
    else:
        lines.append(
            f"Audit at {x['hosts']:,} hosts: {x['value']:.2f}x the floor "
            f"(target <= {x['target']}x): {_met(x['met'])}."
        )
    g = v.get("per_host_growth")
    if g is None:
        lines.append(
            f"Per-host cost growth from 200 to {t['x_floor_at_hosts']:,} hosts: not measured "
            "(both sizes are needed)."
        )
    else:
        lines.append(
            f"Per-host cost (wall time / hosts) from {g['from']:,} to {g['to']:,} hosts: audit "
            f"{_pct(g['audit_playbook'])} (target <= {_pct(g['target'])}): {_met(g['met'])}; "
            f"the floor's own: {_pct(g['raw_floor'])}."
        )
    return lines


def _timed_sizes(scale: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [r for r in scale["rows"] if r["audit_playbook"].get("breakdown")]


def _task_s(entry: Dict[str, Any], name: Optional[str] = None) -> float:
    return sum(
        t["seconds"] for t in entry["breakdown"].get("tasks", []) if name in (None, t["name"])
    )


def breakdown_rows(scale: Dict[str, Any], top: int = 4) -> List[Row]:
    """Where the audit playbook's wall time goes at each size: start-up, each task (the slowest
    ``top`` named, the rest summed), the gaps between tasks and the exit; the floor's below."""
    sizes = _timed_sizes(scale)
    names: List[str] = []
    for row in sizes:
        tasks = sorted(row["audit_playbook"]["breakdown"]["tasks"], key=lambda t: -t["seconds"])
        names += [t["name"] for t in tasks[:top] if t["name"] not in names]
    rows: List[Row] = []

    def line(label: str, values: List[Optional[float]]) -> None:
        rows.append([label, *("-" if v is None else f"{v:.2f}" for v in values)])

    audits = [r["audit_playbook"] for r in sizes]
    floors = [r["raw_floor"] for r in sizes]
    line(
        "start-up (before the first task)", [a["breakdown"]["before_first_task_s"] for a in audits]
    )
    for name in names:
        line(_short(name), [_task_s(a, name) for a in audits])
    line("other tasks", [_task_s(a) - sum(_task_s(a, n) for n in names) for a in audits])
    line("between tasks (the strategy)", [a["breakdown"]["gaps_s"] for a in audits])
    line("after the play (exit)", [a["breakdown"]["after_play_s"] for a in audits])
    line("whole run", [a["wall_s"] for a in audits])
    line("floor: start-up", [f["breakdown"].get("before_first_task_s") for f in floors])
    line("floor: its one task (raw: echo ok)", [_task_s(f) for f in floors])
    line("floor: whole run", [f["wall_s"] for f in floors])
    return rows


def breakdown_header(scale: Dict[str, Any]) -> Row:
    sizes = _timed_sizes(scale)
    return ["audit playbook, seconds", *(f"{r['hosts']:,} hosts" for r in sizes)]


def _short(name: str) -> str:
    return name.replace("winhardening.smb.smb_signing : ", "role: ")


def dominant_run_once(scale: Dict[str, Any]) -> Optional[str]:
    """The run-once task (one result) that takes longest at the biggest size, with its time at
    each size, or None when no run-once task was timed."""
    sizes = _timed_sizes(scale)
    if not sizes:
        return None
    biggest = sizes[-1]["audit_playbook"]["breakdown"]["tasks"]
    once = [t for t in biggest if t.get("results") == 1]
    if not once:
        return None
    top = max(once, key=lambda t: t["seconds"])
    per_size = []
    for row in sizes:
        match = [t for t in row["audit_playbook"]["breakdown"]["tasks"] if t["name"] == top["name"]]
        if match:
            per_size.append(f"{match[0]['seconds']:.2f} s at {row['hosts']:,} hosts")
    over = sizes[-1]["audit_playbook"]["wall_s"] - sizes[-1]["raw_floor"]["wall_s"]
    share = f"{top['seconds'] / over:.0%} of the audit's time over the floor" if over > 0 else ""
    return f'The slowest run-once task is "{_short(top["name"])}": {", ".join(per_size)}' + (
        f" ({share} at {sizes[-1]['hosts']:,} hosts)." if share else "."
    )


def report_rows(report: Dict[str, Any]) -> List[Row]:
    t = report["timings_s"]
    return [
        ["build_report (rows, fleet matrix, summary)", f"{t['build_report']:.2f} s"],
        [f"JSON ({report['sizes']['json_bytes'] / 1e6:.0f} MB)", f"{t['render_json']:.2f} s"],
        [f"CSV ({report['sizes']['csv_bytes'] / 1e6:.0f} MB)", f"{t['render_csv']:.2f} s"],
        [f"HTML ({report['sizes']['html_bytes'] / 1e6:.0f} MB)", f"{t['render_html']:.2f} s"],
        ["the report: build and three renderers", f"{report['report_s']:.2f} s"],
        [
            f"run_payload (rows packed for set_stats, {report['sizes']['payload_bytes_per_host']} "
            "bytes/host on these synthetic rows)",
            f"{t['run_payload']:.2f} s",
        ],
        [f"merge of {report['slices']} slices: decode the payloads", f"{t['merge_decode']:.2f} s"],
        ["merge (newest row per host, matrix and summary again)", f"{t['merge']:.2f} s"],
        ["the merged report's three renderers", f"{t['merge_render']:.2f} s"],
        [f"merge of {report['slices']} slices in all", f"{report['merge_total_s']:.2f} s"],
        ["peak RSS of the process", f"{report['peak_rss_mb']:.0f} MB"],
    ]


REPORT_HEADER: Row = ["synthetic report", "time"]


def report_verdicts(report: Dict[str, Any]) -> List[str]:
    if "error" in report:
        return [f"Report of {report['hosts']:,} hosts: not measured ({report['error'][-300:]})."]
    target = report["target_s"]
    equal = (
        "the merged report's summary equals the whole report's"
        if report["merged_equals_whole"]
        else "the merged report's summary DIFFERS from the whole report's"
    )
    return [
        f"Report of {report['hosts']:,} hosts (build_report and JSON, CSV, HTML): "
        f"{report['report_s']:.2f} s (target <= {target:g} s): "
        f"{_met(report['report_s'] <= target)}.",
        f"Merge of {report['slices']} slices into one report of {report['hosts']:,} hosts "
        f"(decode, merge, JSON, CSV, HTML): {report['merge_total_s']:.2f} s (target <= "
        f"{target:g} s): {_met(report['merge_total_s'] <= target)}; {equal}.",
    ]


def probe_scale_rows(p: Dict[str, Any]) -> List[Row]:
    if p.get("concurrency") is None:
        return []
    limit = p.get("open_file_limit")
    return [
        ["endpoints (silent)", f"{p['endpoints']:,} ({p['silent']:,})"],
        [
            "default concurrency (open-file limit)",
            f"{p['concurrency']} ({limit if limit else 'unlimited'})",
        ],
        ["deadline per endpoint", f"{p['deadline_s']:g} s"],
        [
            "bound: deadline x ceil(silent / concurrency) + epsilon",
            f"{p['deadline_s']:g} x {math.ceil(p['silent'] / p['concurrency'])} + "
            f"{p['epsilon_s']:g} = {p['bound_s']:.1f} s",
        ],
        ["wall time of the module (a process of its own)", f"{p['wall_s']:.2f} s"],
        ["wall / bound", f"{p['wall_s'] / p['bound_s']:.3f}"],
        ["CPU of the module", f"{p['cpu_s']:.2f} s"],
        ["peak RSS of the module", f"{p['peak_rss_mb']:.0f} MB"],
        [
            "results",
            ", ".join(f"{k} {v:,}" for k, v in p["summary"].items())
            + ("" if p["answers_as_expected"] else " (NOT as expected)"),
        ],
    ]


PROBE_SCALE_HEADER: Row = ["smb_signing_probe at fleet scale", "figure"]


def probe_scale_verdict(p: Dict[str, Any]) -> str:
    if p.get("concurrency") is None:
        return f"Probe of {p['endpoints']:,} endpoints: not measured ({p.get('error')})."
    return (
        f"Probe of {p['endpoints']:,} endpoints ({p['silent']:,} silent), concurrency "
        f"{p['concurrency']}: {p['wall_s']:.2f} s against a bound of {p['bound_s']:.1f} s, "
        f"peak RSS {p['peak_rss_mb']:.0f} MB: {_met(p['met'])}."
    )


def text_table(header: Row, rows: List[Row]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def markdown_table(header: Row, rows: List[Row]) -> str:
    def line(cells: Row) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(r) for r in rows)])
