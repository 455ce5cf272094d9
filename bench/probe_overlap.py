"""The wire probe runs while the host's script does, so a host costs the longer of the two.

One lab host whose every WinRM answer is delayed (the lab's `slow` fault, a stand-in for what
the lab lacks: PowerShell starting and querying on a real host) and an SMB endpoint that
accepts and never answers (a hung SMB server: the probe's worst case, its whole deadline). From
the same run: the `win_smb_signing_facts` task with the probe off (the read alone), the probe
alone (`probe_endpoint` against that endpoint), and the task with both. Run one after the
other, the task would take their sum.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any, Dict, List

from integration.playbook import REPO, run_playbook

from lab.fleet import generate_fleet
from lab.lifecycle import running_lab

WINRM_DELAY_S = 0.3
PROBE_DEADLINE_S = 2.0
TASK = "Read the SMB signing state"


def measure(workdir: Path, rounds: int = 3) -> Dict[str, Any]:
    # Imported here: bench/run.py links the collection into .collections before measuring.
    from ansible_collections.winhardening.smb.plugins.module_utils import (  # noqa: PLC0415
        smb_negotiate,
    )
    from ansible_collections.winhardening.smb.tests.integration.probe import (  # noqa: PLC0415
        fake_endpoints,
    )

    workdir.mkdir(parents=True, exist_ok=True)
    # The probe tests' own silent endpoint: it accepts, reads and never answers.
    fakes = fake_endpoints.FakeEndpoints()
    try:
        silent_port = fakes.serve("silent", "127.0.0.1", 0)[1]
        with running_lab(generate_fleet(1), workdir / "lab", fresh=True) as lab:
            host = lab.hosts()[0]
            lab.fault(host, "slow", delay=WINRM_DELAY_S)
            runs: Dict[str, List[float]] = {"read_alone": [], "probe_alone": [], "both": []}
            for i in range(rounds):
                for key, probe in (("read_alone", False), ("both", True)):
                    runs[key].append(
                        _task_seconds(lab.inventory, workdir / f"{key}-{i}", probe, silent_port)
                    )
                started = time.perf_counter()
                smb_negotiate.probe_endpoint("127.0.0.1", silent_port, PROBE_DEADLINE_S)
                runs["probe_alone"].append(round(time.perf_counter() - started, 3))
    finally:
        fakes.close()
    med = {k: statistics.median(v) for k, v in runs.items()}
    result = {
        "winrm_delay_s": WINRM_DELAY_S,
        "probe_deadline_s": PROBE_DEADLINE_S,
        "rounds": rounds,
        "runs": runs,
        "read_alone_s": med["read_alone"],
        "probe_alone_s": med["probe_alone"],
        "both_s": med["both"],
        "sum_s": round(med["read_alone"] + med["probe_alone"], 3),
        "max_s": max(med["read_alone"], med["probe_alone"]),
        "both_over_sum": round(med["both"] / (med["read_alone"] + med["probe_alone"]), 2),
    }
    print(
        f"   read alone {med['read_alone']:.2f} s, probe alone {med['probe_alone']:.2f} s, "
        f"task with both {med['both']:.2f} s (one after the other: {result['sum_s']:.2f} s)"
    )
    return result


def _task_seconds(inventory: Path, workdir: Path, probe: bool, port: int) -> float:
    out = workdir / "task_seconds.json"
    run = run_playbook(
        REPO / "bench" / "playbooks" / "facts_probe_options.yml",
        inventory,
        workdir,
        forks=1,
        extra_vars={
            "bench_probe": probe,
            "bench_probe_address": "127.0.0.1",
            "bench_probe_port": port,
            "bench_probe_timeout": PROBE_DEADLINE_S,
        },
        keep_log=False,
        extra_env={
            "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "bench" / "plugins" / "callback"),
            "ANSIBLE_CALLBACKS_ENABLED": "task_seconds",
            "TASK_SECONDS_FILE": str(out),
        },
    )
    if run.rc != 0:
        raise RuntimeError(f"probe overlap run failed: {run.stdout[-1500:]}{run.stderr[-800:]}")
    tasks = {t["name"]: t["seconds"] for t in json.loads(out.read_text())}
    return float(tasks[TASK])
