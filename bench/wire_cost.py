"""WinRM round trips and bytes per host, from the lab's records, for each way of running.

The lab counts every WS-Man request it receives (one WinRS Command is one round trip: one
PowerShell start on a real host) and the bytes of each request and answer. Each scenario is
measured as the difference of a host's records before and after one ansible-playbook run.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from integration.playbook import run_playbook

from lab.client import LabClient
from lab.lifecycle import running_lab

DEMO_FLEET = Path(__file__).resolve().parent.parent / "tests" / "lab" / "fleets" / "demo.yml"
PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"


@dataclass
class Scenario:
    name: str
    description: str
    playbook: str
    # What every host must show for the figures to mean what the name says.
    expect_writes: Optional[bool]


# The collection's three cases, run as the module alone (the target applies to the modules) and
# as the role's playbooks (what a user runs: they also gather first and verify after).
MODULE_SCENARIOS = [
    Scenario("audit", "win_smb_signing_facts task", "facts_task.yml", False),
    Scenario("enforce_with_changes", "win_smb_signing task", "enforce_task.yml", True),
    Scenario("enforce_when_compliant", "win_smb_signing task", "enforce_task.yml", False),
]
PLAYBOOK_SCENARIOS = [
    Scenario("audit", "winhardening.smb.audit", "winhardening.smb.audit", False),
    Scenario("enforce_with_changes", "winhardening.smb.enforce", "winhardening.smb.enforce", True),
    Scenario(
        "enforce_when_compliant", "winhardening.smb.enforce", "winhardening.smb.enforce", False
    ),
]
CONVENTIONAL = Scenario(
    "conventional",
    "ansible.windows.setup + 4 x ansible.windows.win_regedit",
    "conventional.yml",
    None,
)


def _snapshot(lab: LabClient) -> Dict[str, Dict[str, Any]]:
    return {h: lab.records(h) for h in lab.hosts()}


def _delta(before: Dict[str, Any], after: Dict[str, Any]) -> Dict[str, Any]:
    scripts = after["scripts"][len(before["scripts"]) :]
    requests_before = sum(before["wsman"].values())
    return {
        "round_trips": after["round_trips"] - before["round_trips"],
        "wsman_requests": sum(after["wsman"].values()) - requests_before,
        "bytes_sent": after["bytes_in"] - before["bytes_in"],
        "bytes_received": after["bytes_out"] - before["bytes_out"],
        "ops": [str(s.get("op")) for s in scripts],
        "writes": len(after["writes"]) - len(before["writes"]),
    }


def _summarise(per_host: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    def col(key: str) -> List[int]:
        return [int(v[key]) for v in per_host.values()]

    return {
        "hosts": len(per_host),
        "round_trips_median": statistics.median(col("round_trips")),
        "round_trips_max": max(col("round_trips")),
        "bytes_sent_median": statistics.median(col("bytes_sent")),
        "bytes_sent_max": max(col("bytes_sent")),
        "bytes_received_median": statistics.median(col("bytes_received")),
        "wsman_requests_median": statistics.median(col("wsman_requests")),
        "per_host": per_host,
    }


def _measure(
    lab: LabClient,
    scenario: Scenario,
    workdir: Path,
    collections_path: Optional[List[Path]] = None,
) -> Dict[str, Any]:
    before = _snapshot(lab)
    playbook = scenario.playbook
    run = run_playbook(
        str(PLAYBOOKS / playbook) if playbook.endswith(".yml") else playbook,
        lab.inventory,
        workdir / scenario.name,
        forks=len(before),
        collections_path=collections_path or (),
        keep_log=False,
    )
    after = _snapshot(lab)
    per_host = {h: _delta(before[h], after[h]) for h in before}
    problems: List[str] = []
    if run.rc != 0 and scenario.expect_writes is not None:
        problems.append(f"ansible-playbook exited {run.rc}: {run.stdout[-1500:]}")
    for host, d in per_host.items():
        if scenario.expect_writes is True and d["writes"] == 0:
            problems.append(f"{host}: expected writes, the lab recorded none")
        if scenario.expect_writes is False and d["writes"] != 0:
            problems.append(f"{host}: expected no writes, the lab recorded {d['writes']}")
    result = _summarise(per_host)
    result.update(description=scenario.description, wall_s=round(run.wall_s, 2), problems=problems)
    return result


def _series(
    lab_dir: Path,
    scenarios: List[Scenario],
    workdir: Path,
    extra: Optional[Callable[[LabClient], Dict[str, Any]]] = None,
) -> Dict[str, Any]:
    # A fresh lab per series, so that "with changes" finds every demo host non-compliant.
    out: Dict[str, Any] = {}
    with running_lab(DEMO_FLEET, lab_dir, fresh=True) as lab:
        for scenario in scenarios:
            out[scenario.name] = _measure(lab, scenario, workdir)
        if extra is not None:
            out.update(extra(lab))
    return out


def measure(workdir: Path, bench_collections: Path) -> Dict[str, Any]:
    def conventional(lab: LabClient) -> Dict[str, Any]:
        return {"conventional": _measure(lab, CONVENTIONAL, workdir, [bench_collections])}

    modules = _series(workdir / "lab-modules", MODULE_SCENARIOS, workdir / "modules", conventional)
    playbooks = _series(workdir / "lab-playbooks", PLAYBOOK_SCENARIOS, workdir / "playbooks")
    conv = modules.pop("conventional")
    return {
        "fleet": "tests/lab/fleets/demo.yml (7 hosts)",
        "modules": modules,
        "playbooks": playbooks,
        "conventional": conv,
        "targets": {
            "round_trips": {
                "audit": 1,
                "enforce_when_compliant": 1,
                "enforce_with_changes": 2,
            },
            "max_bytes_fraction_of_conventional": 0.1,
        },
    }
