"""The fleet audit at fleet sizes (200, 1,000, 2,000 lab hosts) against the raw floor.

One generated lab fleet of the biggest size (shared smbd); for each size an inventory of the
first N hosts (so each run loads what a play over N hosts loads) and the floor
(`raw_floor.yml`: `ansible.builtin.raw: echo ok`) and the `winhardening.smb.audit` playbook with
the same forks, back to back, each in a process of its own (bench/playbook_rss.py) for the
controller's peak RSS. Each run also gives its CPU split between Ansible and the lab (the lab
shares this machine's cores; on a real fleet its share is spent on the Windows hosts), and each
task's start and end (the bench's task_seconds callback), so that the time of every task, and
of the gaps between tasks where Ansible's strategy works, can be named.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set

import playbook_rss
import yaml
from fleet_time import PLAYBOOKS, _all_ok, _lab_pids
from proc_cpu import process_tree_cpu

from lab.fleet import generate_fleet
from lab.lifecycle import running_lab

RUNS = [
    ("raw_floor", str(PLAYBOOKS / "raw_floor.yml")),
    ("audit_playbook", "winhardening.smb.audit"),
]
TARGET_X_FLOOR = 1.3
TARGET_X_FLOOR_AT = 1000
TARGET_PER_HOST_GROWTH = 0.10
# Tasks whose share of the audit's wall time is named in the figures (the rest is summed up).
TOP_TASKS = 4


def _rss_mb(pid: int) -> Optional[float]:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _mem_available_mb() -> Optional[float]:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def task_breakdown(tasks: List[Dict[str, Any]], wall_s: float) -> Dict[str, Any]:
    """Each task's time (start to its last result), the gaps between tasks (where the strategy
    processes results and prepares the next task for every host), and the time before the first
    task and after the play (start-up: inventory and playbook loading; exit)."""
    if not tasks:
        return {}
    body = [t for t in tasks if t["name"] != "<end of the play>"]
    end = next((t["end"] for t in tasks if t["name"] == "<end of the play>"), None)
    rows = []
    previous_end = body[0]["start"] if body else 0.0
    gaps = 0.0
    for task in body:
        gap = max(0.0, task["start"] - previous_end)
        gaps += gap
        rows.append(
            {
                "name": task["name"],
                "seconds": round(task["end"] - task["start"], 3),
                "gap_before_s": round(gap, 3),
                "results": task.get("results", 0),
            }
        )
        previous_end = max(previous_end, task["end"])
    first = body[0]["start"] if body else 0.0
    after = (wall_s - end) if end is not None else None
    return {
        "tasks": rows,
        "before_first_task_s": round(first, 3),
        "gaps_s": round(gaps + (max(0.0, end - previous_end) if end is not None else 0.0), 3),
        "after_play_s": round(after, 3) if after is not None else None,
    }


def _keep_hosts(group: Dict[str, Any], keep: Set[str]) -> None:
    if isinstance(group.get("hosts"), dict):
        group["hosts"] = {h: v for h, v in group["hosts"].items() if h in keep}
    for child in (group.get("children") or {}).values():
        if isinstance(child, dict):
            _keep_hosts(child, keep)


def sub_inventory(inventory: Path, names: Sequence[str], dest: Path) -> Path:
    """The lab's inventory with only these hosts (in every group): each size's run loads an
    inventory of its own size, as a play over that fleet would (with a limit, Ansible would
    still load every host of the lab's biggest fleet)."""
    data = yaml.safe_load(inventory.read_text())
    _keep_hosts(data["all"], set(names))
    dest.write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


def measure(workdir: Path, sizes: Sequence[int], forks: int) -> Dict[str, Any]:
    sizes = sorted(set(sizes))
    biggest = max(sizes)
    workdir.mkdir(parents=True, exist_ok=True)
    fleet_file = workdir / f"fleet-{biggest}.yml"
    fleet_file.write_text(yaml.safe_dump(generate_fleet(biggest), sort_keys=False))
    rows: List[Dict[str, Any]] = []
    mem_before = _mem_available_mb()
    with running_lab(fleet_file, workdir / "lab", fresh=True) as lab:
        names = lab.hosts()
        pids = lab.pids()
        lab_rss = {"daemon": _rss_mb(int(pids["daemon"]))} if pids else {}
        lab_rss["smbd_total"] = round(
            sum(_rss_mb(int(p)) or 0.0 for p in (pids.get("smbd") or {}).values()), 1
        )
        # Not measured: the first run after the lab starts pays for cold caches.
        playbook_rss.run(RUNS[0][1], lab.inventory, workdir / "warm-up", forks=5, limit=names[:10])
        for size in sizes:
            row: Dict[str, Any] = {"hosts": size, "forks": forks}
            inventory = sub_inventory(lab.inventory, names[:size], workdir / f"inv-{size}.yml")
            for key, playbook in RUNS:
                lab_pids = _lab_pids(lab)
                lab_cpu = process_tree_cpu(lab_pids)
                run = playbook_rss.run(
                    playbook,
                    inventory,
                    workdir / f"{key}-{size}",
                    forks=forks,
                    limit=names[:size],
                )
                lab_cpu = process_tree_cpu(lab_pids) - lab_cpu
                ok = run["rc"] == 0 and _all_ok(run["stdout"], size)
                entry: Dict[str, Any] = {
                    "wall_s": round(run["wall_s"], 2),
                    "ok": ok,
                    "ansible_cpu_s": round(run["cpu_s"], 2),
                    "lab_cpu_s": round(lab_cpu, 2),
                    "peak_rss_mb": run["peak_rss_mb"],
                    "ms_per_host": round(1000 * run["wall_s"] / size, 2),
                    "cpu_ms_per_host": round(1000 * run["cpu_s"] / size, 2),
                    "breakdown": task_breakdown(run["tasks"], run["wall_s"]),
                }
                if not ok:
                    entry["tail"] = run["stdout"][-1200:] + run["stderr"][-800:]
                row[key] = entry
                print(
                    f"   {size:>5} hosts, forks {forks}: {key:<15} {run['wall_s']:7.2f} s "
                    f"({entry['ms_per_host']:.1f} ms/host), peak RSS {run['peak_rss_mb']:.0f} MB, "
                    f"CPU: Ansible {run['cpu_s']:6.2f} s, lab {lab_cpu:5.2f} s"
                    + ("" if ok else "  (FAILED hosts)"),
                    flush=True,
                )
            audit, floor = row["audit_playbook"], row["raw_floor"]
            audit["x_floor"] = round(audit["wall_s"] / floor["wall_s"], 3)
            audit["x_floor_ansible_cpu"] = round(audit["ansible_cpu_s"] / floor["ansible_cpu_s"], 3)
            # What the audit adds to the floor, per host: the role's own cost.
            audit["over_floor_ms_per_host"] = round(
                1000 * (audit["wall_s"] - floor["wall_s"]) / size, 2
            )
            row["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
            row["lab_rss_mb"] = {"daemon": _rss_mb(int(pids["daemon"]))} if pids else {}
            rows.append(row)
    return {
        "fleet": f"lab gen-fleet {biggest} (shared smbd)",
        "forks": forks,
        "rows": rows,
        "lab_rss_mb_at_start": lab_rss,
        "mem_available_mb_before": mem_before,
        "targets": {
            "x_floor": TARGET_X_FLOOR,
            "x_floor_at_hosts": TARGET_X_FLOOR_AT,
            "per_host_growth": TARGET_PER_HOST_GROWTH,
        },
        "verdicts": verdicts(rows),
    }


def _row(rows: Sequence[Dict[str, Any]], hosts: int) -> Optional[Dict[str, Any]]:
    return next((r for r in rows if r["hosts"] == hosts), None)


def verdicts(rows: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """The two targets, from the measured rows (None where a size was not run)."""
    out: Dict[str, Any] = {}
    at = _row(rows, TARGET_X_FLOOR_AT)
    if at is not None:
        ratio = at["audit_playbook"]["x_floor"]
        out["x_floor"] = {
            "hosts": TARGET_X_FLOOR_AT,
            "value": ratio,
            "target": TARGET_X_FLOOR,
            "met": ratio <= TARGET_X_FLOOR and at["audit_playbook"]["ok"],
        }
    small = _row(rows, 200)
    if small is not None and at is not None:
        growth: Dict[str, Any] = {"from": 200, "to": TARGET_X_FLOOR_AT}
        for key in ("audit_playbook", "raw_floor"):
            a, b = small[key]["ms_per_host"], at[key]["ms_per_host"]
            growth[key] = round(b / a - 1, 4) if a else math.nan
        growth["target"] = TARGET_PER_HOST_GROWTH
        growth["met"] = growth["audit_playbook"] <= TARGET_PER_HOST_GROWTH
        out["per_host_growth"] = growth
    return out
