"""Run ansible-playbook against the reliability lab and keep everything it printed or wrote.

Tasks run one collection task per host and copy each host's registered result to a JSON file on
the controller, so the tests assert on real task results (``ignore_errors`` and
``ignore_unreachable`` keep every host's result, failed or not).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import yaml

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent
RUN_TIMEOUT_S = 300


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str
    results: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    log_text: str = ""

    def recap(self) -> Dict[str, Dict[str, int]]:
        stats: Dict[str, Dict[str, int]] = {}
        section = self.stdout.split("PLAY RECAP", 1)[-1]
        for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", section, re.MULTILINE):
            stats[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counters)}
        return stats

    def tail(self) -> str:
        return self.stdout[-3000:] + "\n--- stderr ---\n" + self.stderr[-2000:]


def env_for(workdir: Path) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCAL_TEMP=str(workdir / ".ansible-tmp"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        # Ansible's own log file, so the secrets test can read it too.
        ANSIBLE_LOG_PATH=str(workdir / "ansible.log"),
    )
    return env


def run_playbook(
    playbook: str,
    inventory: Path,
    workdir: Path,
    *,
    limit: Optional[str] = None,
    forks: int = 10,
    extra_vars: Optional[Dict[str, Any]] = None,
    args: Sequence[str] = (),
) -> Run:
    """Run a playbook file or a collection playbook (FQCN) from ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), "-f", str(forks), playbook]
    if limit:
        cmd += ["--limit", limit]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    cmd += list(args)
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env=env_for(workdir),
        cwd=workdir,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    log = workdir / "ansible.log"
    return Run(
        proc.returncode,
        proc.stdout,
        proc.stderr,
        log_text=log.read_text(errors="replace") if log.exists() else "",
    )


def run_tasks(
    tasks: List[Dict[str, Any]],
    inventory: Path,
    hosts: Sequence[str],
    *,
    limit: str,
    forks: int = 10,
    extra_vars: Optional[Dict[str, Any]] = None,
    args: Sequence[str] = (),
) -> Run:
    """Run ``tasks`` on ``limit``; ``results[host]`` maps "0", "1", ... to each task's result.

    ``hosts`` names every host the limit can match: result files are named by a hash of the
    inventory name (a hostile name is no file name), and this maps them back.
    """
    with tempfile.TemporaryDirectory(prefix="smb-reliability-") as tmp:
        work = Path(tmp)
        out_dir = work / "results"
        out_dir.mkdir()
        body: List[Dict[str, Any]] = [
            {
                **task,
                "register": f"under_test_{i}",
                "ignore_errors": True,
                "ignore_unreachable": True,
            }
            for i, task in enumerate(tasks)
        ]
        keep = ", ".join(f"'{i}': under_test_{i} | default(none)" for i in range(len(tasks)))
        body.append(
            {
                "name": "Keep the results",
                "ansible.builtin.copy": {
                    "content": "{{ {" + keep + "} | to_json }}",
                    "dest": f"{out_dir}/{{{{ inventory_hostname | hash('sha1') }}}}.json",
                    "mode": "0600",
                },
                "delegate_to": "localhost",
                "check_mode": False,
                "diff": False,
            }
        )
        play = [{"name": "Tasks under test", "hosts": "all", "gather_facts": False, "tasks": body}]
        playbook = work / "play.yml"
        playbook.write_text(yaml.safe_dump(play, sort_keys=False))
        run = run_playbook(
            str(playbook),
            inventory,
            work,
            limit=limit,
            forks=forks,
            extra_vars=extra_vars,
            args=args,
        )
        names = {hashlib.sha1(h.encode()).hexdigest(): h for h in hosts}
        run.results = {
            names.get(p.stem, p.stem): json.loads(p.read_text()) for p in out_dir.glob("*.json")
        }
        return run
