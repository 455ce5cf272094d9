"""Turn the measured results into rows of figures with their ratios, for the terminal and the doc.

One place computes every ratio, so the printed figures and docs/performance.md cannot disagree.
"""

from __future__ import annotations

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
