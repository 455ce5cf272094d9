"""Fleet audit wall time against the floor, on one generated lab fleet.

The floor is `ansible.builtin.raw` running one trivial command per host with the same forks: the
cost of Ansible plus one WinRM round trip, which no playbook can beat. Two audits are timed:
the `win_smb_signing_facts` task alone, and the `winhardening.smb.audit` playbook (the role:
one win_smb_signing task per host, its run-once tasks and the report).
The runs of one size and fork count follow each other directly, so that they see the same load
on a shared machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Sequence

import yaml
from integration.playbook import run_playbook
from proc_cpu import process_tree_cpu

from lab.client import LabClient
from lab.fleet import generate_fleet
from lab.lifecycle import running_lab
from lab.model import HostModel
from lab.report_check import report_differences

PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"
RUNS = [
    ("raw_floor", str(PLAYBOOKS / "raw_floor.yml")),
    ("facts_task", str(PLAYBOOKS / "facts_task.yml")),
    ("audit_playbook", "winhardening.smb.audit"),
]


def measure(
    workdir: Path,
    sizes: Sequence[int],
    forks_list: Sequence[int],
    playbook_sizes: Sequence[int],
    enforce_check: bool = True,
) -> Dict[str, Any]:
    biggest = max(sizes)
    fleet = generate_fleet(biggest)
    fleet_file = workdir / f"fleet-{biggest}.yml"
    workdir.mkdir(parents=True, exist_ok=True)
    fleet_file.write_text(yaml.safe_dump(fleet, sort_keys=False))
    rows: List[Dict[str, Any]] = []
    with running_lab(fleet_file, workdir / "lab", fresh=True) as lab:
        names = lab.hosts()
        # Not measured: the first run after the lab starts also pays for cold caches (the lab's
        # smbd processes, Python's imports, the page cache), which would flatter every ratio.
        run_playbook(
            PLAYBOOKS / "raw_floor.yml",
            lab.inventory,
            workdir / "warm-up",
            forks=5,
            limit=names[:10],
            keep_log=False,
        )
        for size in sizes:
            for forks in forks_list:
                row: Dict[str, Any] = {"hosts": size, "forks": forks}
                for key, playbook in RUNS:
                    if key == "audit_playbook" and size not in playbook_sizes:
                        row[key] = None
                        continue
                    lab_pids = _lab_pids(lab)
                    lab_cpu = process_tree_cpu(lab_pids)
                    run = run_playbook(
                        playbook,
                        lab.inventory,
                        workdir / f"{key}-{size}-{forks}",
                        forks=forks,
                        limit=names[:size],
                        keep_log=False,
                    )
                    lab_cpu = process_tree_cpu(lab_pids) - lab_cpu
                    ok = run.rc == 0 and _all_ok(run.stdout, size)
                    row[key] = {
                        "wall_s": round(run.wall_s, 2),
                        "ok": ok,
                        "ansible_cpu_s": round(run.cpu_s, 2),
                        "lab_cpu_s": round(lab_cpu, 2),
                    }
                    if not ok:
                        row[key]["tail"] = run.stdout[-1200:] + run.stderr[-800:]
                    print(
                        f"   {size:>4} hosts, forks {forks:>2}: {key:<15} {run.wall_s:7.2f} s"
                        f"   CPU: Ansible {run.cpu_s:6.2f} s, lab (WS-Man and smbd) "
                        f"{lab_cpu:5.2f} s"
                    )
                floor = row["raw_floor"]
                for key in ("facts_task", "audit_playbook"):
                    if row[key] is not None:
                        row[key]["x_floor"] = round(row[key]["wall_s"] / floor["wall_s"], 2)
                        # The controller's share: what Ansible alone spent, against the floor's.
                        row[key]["x_floor_ansible_cpu"] = round(
                            row[key]["ansible_cpu_s"] / floor["ansible_cpu_s"], 2
                        )
                row["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
                rows.append(row)
        concurrency = (
            enforce_matches_report(lab, workdir / "enforce", max(forks_list))
            if enforce_check
            else None
        )
    return {
        "fleet": f"lab gen-fleet {biggest} (shared smbd)",
        "rows": rows,
        "target_x_floor": 1.3,
        "concurrency": concurrency,
    }


def enforce_matches_report(lab: LabClient, workdir: Path, forks: int) -> Dict[str, Any]:
    """The issue's concurrency check at full size (the test suite runs it on 50 hosts): enforce
    across the whole fleet, then compare every host's lab state with its report row."""
    run = run_playbook(
        "winhardening.smb.enforce",
        lab.inventory,
        workdir,
        forks=forks,
        report_dir=workdir / "report",
        keep_log=False,
    )
    names = lab.hosts()
    completed = run.rc == 0 and _all_ok(run.stdout, len(names))
    report_file = workdir / "report" / "smb_signing_report.json"
    rows = (
        {r["host"]: r for r in json.loads(report_file.read_text())["hosts"]}
        if report_file.exists()
        else {}
    )
    mismatched: List[str] = []
    for host in names:
        model = HostModel.from_json(lab.model(host))
        row = rows.get(host)
        if row is None:
            mismatched.append(f"{host}: not in the report")
            continue
        mismatched.extend(f"{host}: {what}" for what in report_differences(model, row))
    print(
        f"   {len(names):>4} hosts, forks {forks:>2}: enforce {run.wall_s:7.2f} s, "
        f"completed={completed}, hosts whose state differs from the report: {len(mismatched)}"
    )
    return {
        "hosts": len(names),
        "forks": forks,
        "wall_s": round(run.wall_s, 2),
        "completed": completed,
        "mismatched": mismatched[:20],
        "mismatched_count": len(mismatched),
    }


def _lab_pids(lab: LabClient) -> List[int]:
    """The lab's daemon (WS-Management, the SMB forwarder) and its smbd processes."""
    pids = lab.pids()
    if not pids:
        return []
    return [int(pids["daemon"]), *(int(p) for p in (pids.get("smbd") or {}).values())]


def _all_ok(stdout: str, size: int) -> bool:
    """Every host in the recap, none failed or unreachable."""
    recap = stdout.split("PLAY RECAP", 1)[-1]
    lines = [ln for ln in recap.splitlines() if " : ok=" in ln]
    return len(lines) == size and all("failed=0" in ln and "unreachable=0" in ln for ln in lines)
