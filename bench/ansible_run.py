"""Run ansible-playbook from the dev venv against a lab inventory and time it (wall clock)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"
# A bound on every run: a hung lab host must not hang the benchmark.
RUN_TIMEOUT_S = 900


@dataclass
class PlayResult:
    rc: int
    wall_s: float
    stdout: str
    stderr: str
    # ansible-playbook's CPU with its forked workers (it reaps them, we reap it).
    cpu_s: float = 0.0


def run_playbook(
    playbook: str,
    inventory: Path,
    workdir: Path,
    *,
    forks: int = 5,
    limit: Optional[Sequence[str]] = None,
    collections_path: Optional[List[Path]] = None,
    extra_args: Sequence[str] = (),
    extra_env: Optional[Dict[str, str]] = None,
) -> PlayResult:
    """``playbook`` is a file under bench/playbooks or a collection playbook name (FQCN)."""
    workdir.mkdir(parents=True, exist_ok=True)
    target = str(PLAYBOOKS / playbook) if playbook.endswith(".yml") else playbook
    cmd = [str(BIN / "ansible-playbook"), "-i", str(inventory), "-f", str(forks), target]
    if limit:
        # A file keeps a 200-name limit off the command line.
        limit_file = workdir / "limit.txt"
        limit_file.write_text("\n".join(limit) + "\n")
        cmd += ["--limit", f"@{limit_file}"]
    cmd += list(extra_args)
    paths = [REPO / ".collections", *(collections_path or [])]
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=os.pathsep.join(str(p) for p in paths),
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCAL_TEMP=str(workdir / ".ansible-tmp"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    env.update(extra_env or {})
    cpu_before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    wall = time.perf_counter() - start
    return PlayResult(
        proc.returncode, wall, proc.stdout, proc.stderr, cpu_s=_children_cpu() - cpu_before
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
