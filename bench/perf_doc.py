"""Write docs/performance.md from one run's results (the harness regenerates it every run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

from figures import (
    FLEET_HEADER,
    OVERLAP_HEADER,
    PROBE_HEADER,
    PROBE_SCALE_HEADER,
    REPORT_HEADER,
    SCALE_HEADER,
    WIRE_HEADER,
    breakdown_header,
    breakdown_rows,
    concurrency_line,
    dominant_run_once,
    fleet_rows,
    markdown_table,
    overlap_rows,
    probe_rows,
    probe_scale_rows,
    probe_scale_verdict,
    report_rows,
    report_verdicts,
    scale_rows,
    scale_verdicts,
    wire_rows,
)

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def _machine(m: Dict[str, Any]) -> str:
    return (
        f"{m['cores']} cores ({m.get('cpu') or 'unknown CPU'}), {m['memory_gib']} GiB memory, "
        f"{m['os']} (kernel {m['kernel']}), Python {m['python']}, ansible-core "
        f"{m['ansible_core']}, ansible.windows {m.get('ansible_windows') or 'n/a'}, Samba "
        f"{m.get('samba') or 'n/a'}. Load average at start {m['load_avg_at_start']}, at the "
        f"end {m.get('load_avg_at_end')}: the machine is shared, so wall times are noisy."
    )


def render(
    machine: Dict[str, Any],
    wire: Optional[Dict[str, Any]],
    fleet: Optional[Dict[str, Any]],
    probe: Optional[Dict[str, Any]],
    when: str,
    *,
    overlap: Optional[Dict[str, Any]] = None,
    scale: Optional[Dict[str, Any]] = None,
    report: Optional[Dict[str, Any]] = None,
    probe_scale: Optional[Dict[str, Any]] = None,
) -> str:
    parts = [
        "# Performance",
        "",
        "<!-- Written by `make bench` (bench/run.py); edit bench/perf_doc.py, not this file. -->",
        "",
        f"Measured {when} by `make bench`, in one run, against the lab (`tests/lab/`: a simulated "
        "Windows fleet over WinRM with real Samba, on loopback addresses). The lab is not "
        "Windows: round trips and bytes are exact for the requests Ansible sends; wall times "
        "include the lab's own work and are not a prediction for real hosts.",
        "",
        f"**Machine:** {_machine(machine)}",
        "",
        "Raw figures: `bench/results/winrm.json`, `bench/results/fleet.json`, "
        "`bench/results/overlap.json`, `bench/results/probe.json`, `bench/results/scale.json`.",
        "",
        "## WinRM round trips and bytes per host",
        "",
    ]
    if wire is None:
        parts += ["Not measured in this run.", ""]
    else:
        parts += [
            f"Fleet: {wire['fleet']}. Figures are the median per host (round trips also the "
            "maximum), counted by the lab for one `ansible-playbook` run. A round trip is one "
            "WinRS command (one PowerShell start on a real host). *Bytes sent* are the HTTP "
            "requests the controller sent; *x conventional* divides them by the conventional "
            "approach's: fact gathering plus four `ansible.windows.win_regedit` runs, which the "
            "lab records and refuses (it cannot run PowerShell modules), so their bytes are what "
            "Ansible sends to run those modules. The targets (1, 1 and 2 round trips, at most "
            "0.1 of the conventional bytes) apply to the modules and to the playbooks, whose "
            "role runs one `win_smb_signing` task per host: it verifies from its own read, the "
            "write's read-back and the wire probe, with no second read. (Audit with "
            "`smb_signing_enable_audit` costs a second round trip on a host where it turns an "
            "audit setting on: that is a write.)",
            "",
            markdown_table(WIRE_HEADER, wire_rows(wire)),
            "",
        ]
    parts += ["## Fleet audit wall time", ""]
    if fleet is None:
        parts += ["Not measured in this run.", ""]
    else:
        parts += [
            f"Fleet: {fleet['fleet']}, the first N hosts. The floor is "
            "`ansible.builtin.raw: echo ok`, one trivial command per host with the same forks. "
            "*facts task* is `win_smb_signing_facts` alone (one round trip and one wire probe "
            "per host); *audit playbook* is `winhardening.smb.audit` (the role: one "
            "`win_smb_signing` task per host, which fails the hosts that must fail, and run-once "
            "tasks: the mode check, the variable check and the fleet report). Target: at most "
            f"{fleet['target_x_floor']}x the floor.",
            "",
            "The two CPU columns split each run's cost between the controller and the lab, which "
            "share this machine's cores: *Ansible* is `ansible-playbook` with its forked workers; "
            "*lab* is the lab's daemon (WS-Management, the SMB forwarder) and its `smbd` processes "
            "(one fork per SMB negotiate). On a real fleet the lab's share is spent on the Windows "
            "hosts, not on the controller.",
            "",
            markdown_table(FLEET_HEADER, fleet_rows(fleet)),
            "",
            concurrency_line(fleet),
            "",
            *_wire_mismatch_note(fleet),
        ]
    parts += ["## The wire probe during the read", ""]
    if overlap is None:
        parts += ["Not measured in this run.", ""]
    else:
        parts += [
            "From `bench/probe_overlap.py`: one lab host whose every WinRM answer is delayed "
            f"{overlap['winrm_delay_s']} s (the lab's `slow` fault, standing in for PowerShell "
            "starting and querying on a real host) and an SMB port that accepts and never "
            f"answers, probed with a {overlap['probe_deadline_s']} s deadline; median of "
            f"{overlap['rounds']} runs each. The probe runs in a thread while the read script "
            "does, so the task costs about the longer of the two, not their sum.",
            "",
            markdown_table(OVERLAP_HEADER, overlap_rows(overlap)),
            "",
        ]
    parts += ["## Wire probe against nmap", ""]
    rows = probe_rows(probe)
    if not rows:
        reason = (probe or {}).get("error", "bench/probe/run.py is absent")
        parts += [f"Not measured in this run: {reason}.", ""]
    else:
        parts += [
            "From `bench/probe/run.py` (see `bench/README.md`): our `probe_many` (the faster of "
            "64 and 200 in flight; this run: "
            f"{probe.get('ours_in_flight', '64')}) against one "  # type: ignore[union-attr]
            "`nmap --script smb2-security-mode` run over the same real Samba endpoints; "
            + _rounds(probe["rounds"])  # type: ignore[index]
            + ".",
            "",
            markdown_table(PROBE_HEADER, rows),
            "",
        ]
    parts += _scale_section(scale, report, probe_scale)
    return "\n".join(parts)


def _scale_section(
    scale: Optional[Dict[str, Any]],
    report: Optional[Dict[str, Any]],
    probe_scale: Optional[Dict[str, Any]],
) -> List[str]:
    parts = ["## At fleet scale", ""]
    if scale is None and report is None and probe_scale is None:
        return [*parts, "Not measured in this run.", ""]
    parts += ["### The fleet audit against the floor", ""]
    if scale is None:
        parts += ["Not measured in this run.", ""]
    else:
        t = scale["targets"]
        parts += [
            f"Fleet: {scale['fleet']}, the first N hosts, forks {scale['forks']}; the floor "
            "(`ansible.builtin.raw: echo ok`) and the `winhardening.smb.audit` playbook back to "
            "back at each size, each `ansible-playbook` run in a process of its own, so that "
            "its *peak RSS* is that run's largest process (`ansible-playbook` or a forked "
            "worker). *ms/host* is the run's wall time over its hosts: the per-host cost. "
            f"Targets: the audit at most {t['x_floor']}x the floor at "
            f"{t['x_floor_at_hosts']:,} hosts, and its per-host cost growing by at most "
            f"{t['per_host_growth']:.0%} from 200 to {t['x_floor_at_hosts']:,} hosts. The lab "
            "shares the two cores with Ansible (its CPU column), as in the table above.",
            "",
            markdown_table(SCALE_HEADER, scale_rows(scale)),
            "",
            *(f"- {line}" for line in scale_verdicts(scale)),
            "",
        ]
        rows = breakdown_rows(scale)
        if rows:
            parts += [
                "Where the audit's time goes, from each task's start to its last host's result "
                "(the bench's `task_seconds` callback); *between tasks* is the strategy's work "
                "after a task's last result and before the next task starts.",
                "",
                markdown_table(breakdown_header(scale), rows),
                "",
            ]
            once = dominant_run_once(scale)
            if once:
                parts += [once, ""]
    parts += ["### The report for 10,000 hosts", ""]
    if report is None:
        parts += ["Not measured in this run.", ""]
    elif "error" in report:
        parts += [*report_verdicts(report), ""]
    else:
        parts += [
            f"Synthetic facts for {report['hosts']:,} hosts (`bench/report_scale.py`: the "
            "report tests' sample facts, varied in profile, OS, owners, SMB1, the wire, "
            "unsigned peers, warnings, failed and unreachable hosts), then the report model's "
            "own functions, timed one by one in one process: what the report action and "
            f"`merge_reports` do. The merge takes {report['slices']} slices cut as AWX cuts "
            "them (host index modulo 4), each published as a run's `set_stats` payload.",
            "",
            markdown_table(REPORT_HEADER, report_rows(report)),
            "",
            *(f"- {line}" for line in report_verdicts(report)),
            "",
        ]
    parts += ["### The wire probe over 10,000 endpoints", ""]
    if probe_scale is None:
        parts += ["Not measured in this run.", ""]
    else:
        rows = probe_scale_rows(probe_scale)
        parts += [
            "`bench/probe_scale.py`: the probe tests' fake endpoints on one port and one "
            "loopback address each, every fifth one silent (it accepts and never answers), "
            "probed by the `smb_signing_probe` module run as a process of its own with its "
            "defaults (concurrency from the open-file limit, 3 s deadline) and `max_endpoints` "
            "raised to the count. A silent endpoint holds its slot for the whole deadline, so "
            "silent endpoints pass in waves of *concurrency*; epsilon covers the module's "
            "start-up, the answering endpoints and the result.",
            "",
        ]
        if rows:
            parts += [markdown_table(PROBE_SCALE_HEADER, rows), ""]
        parts += [f"- {probe_scale_verdict(probe_scale)}", ""]
    return parts


def _rounds(count: int) -> str:
    return "one round" if count == 1 else f"median of {count} rounds"


def _wire_mismatch_note(fleet: Dict[str, Any]) -> List[str]:
    """Why the rows can differ only on the wire: the role probes each host in its own task, while
    other hosts' writes restart the lab's shared smbd instances (a lab artefact: a Windows host's
    SMB server does not restart when another host changes)."""
    c = fleet.get("concurrency") or {}
    listed = c.get("mismatched") or []
    if not listed or not all(str(m).endswith(": wire") for m in listed):
        return []
    return [
        "Every difference listed in bench/results/fleet.json (the first 20) is the wire column: "
        "the role probes each host in its own task, "
        "while other hosts' writes restart the lab's shared smbd instances, so a probe can find "
        "the port closed even after its retries (7 s); such a host gets a warning, not a "
        "failure (every host completed). A Windows host's SMB server does not restart "
        "when another host changes.",
        "",
    ]


def write(text: str) -> Path:
    DOC.write_text(text)
    return DOC
