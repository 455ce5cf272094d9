"""Run ansible-playbook from the dev venv against a lab inventory and time it (wall clock)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

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


def run_playbook(
    playbook: str,
    inventory: Path,
    workdir: Path,
    *,
    forks: int = 5,
    limit: Optional[Sequence[str]] = None,
    collections_path: Optional[List[Path]] = None,
    extra_args: Sequence[str] = (),
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
    return PlayResult(proc.returncode, time.perf_counter() - start, proc.stdout, proc.stderr)
