"""One ansible-playbook run in a process of its own, for its controller peak RSS.

``run(...)`` starts this file as a child process, which runs the playbook through the tests'
runner (``integration.playbook.run_playbook``) and writes what it got as JSON. Only that one
run's processes are its children, so ``RUSAGE_CHILDREN.ru_maxrss`` is the peak resident set of
the largest process of that run: ``ansible-playbook`` itself or one of its forked workers.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CALLBACKS = BENCH / "plugins" / "callback"
TIMEOUT_S = 1800


def run(
    playbook: str,
    inventory: Path,
    workdir: Path,
    *,
    forks: int,
    limit: Sequence[str],
    extra_env: Optional[Mapping[str, str]] = None,
) -> Dict[str, Any]:
    """wall_s, cpu_s, rc, stdout, stderr and peak_rss_mb of one run; with task_seconds.json (the
    bench's callback) in workdir, each task's start and end from the start of the run."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec = workdir / "spec.json"
    out = workdir / "result.json"
    env = {
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
        "ANSIBLE_CALLBACKS_ENABLED": "task_seconds",
        "TASK_SECONDS_FILE": str(workdir / "task_seconds.json"),
        # The role writes its report under $PWD for the collection's playbooks: here, not in
        # the directory the bench was started from.
        "PWD": str(workdir / "run"),
        **(extra_env or {}),
    }
    spec.write_text(
        json.dumps(
            {
                "playbook": playbook,
                "inventory": str(inventory),
                "workdir": str(workdir / "run"),
                "forks": forks,
                "limit": list(limit),
                "extra_env": env,
            }
        )
    )
    subprocess.run(
        [sys.executable, __file__, str(spec), str(out)], check=True, timeout=TIMEOUT_S + 60
    )
    result: Dict[str, Any] = json.loads(out.read_text())
    tasks_file = workdir / "task_seconds.json"
    result["tasks"] = json.loads(tasks_file.read_text()) if tasks_file.exists() else []
    return result


def _main(spec_path: str, out_path: str) -> None:
    for path in (REPO / "tests", REPO / "bench"):
        sys.path.insert(0, str(path))
    from integration.playbook import run_playbook  # noqa: PLC0415 (after the path is set)

    spec = json.loads(Path(spec_path).read_text())
    limit: List[str] = spec["limit"]
    started = time.time()
    result = run_playbook(
        spec["playbook"],
        Path(spec["inventory"]),
        Path(spec["workdir"]),
        forks=spec["forks"],
        limit=limit,
        keep_log=False,
        extra_env={**spec["extra_env"], "TASK_SECONDS_EPOCH": repr(started)},
        timeout=TIMEOUT_S,
    )
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    Path(out_path).write_text(
        json.dumps(
            {
                "rc": result.rc,
                "wall_s": result.wall_s,
                "cpu_s": result.cpu_s,
                "peak_rss_mb": round(peak_kib / 1024, 1),
                "stdout": result.stdout,
                "stderr": result.stderr,
            }
        )
    )


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2])
