"""Run one collection task through ansible-playbook against the lab and return each host's result.

Each call writes a small playbook to its own temporary directory; the task's registered result
is copied to the controller as JSON, so the tests assert on the real task results. Runs share
nothing but the lab, so test modules can run in parallel (each module has its own lab).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
RUN_TIMEOUT_S = 240


@dataclass
class PlayRun:
    rc: int
    stdout: str
    stderr: str
    results: Dict[str, Dict[str, Any]]

    def recap(self, host: str) -> Dict[str, int]:
        match = re.search(rf"^{re.escape(host)}\s*:\s*(.*)$", self.stdout, re.MULTILINE)
        assert match, f"no recap line for {host}:\n{self.stdout[-2000:]}"
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def run_task(
    inventory: Path,
    module: str,
    args: Dict[str, Any],
    *,
    limit: str,
    check: bool = False,
    diff: bool = False,
    extra_vars: Optional[Dict[str, Any]] = None,
) -> PlayRun:
    with tempfile.TemporaryDirectory(prefix="smb-e2e-") as tmp:
        out_dir = Path(tmp) / "results"
        out_dir.mkdir()
        play: List[Dict[str, Any]] = [
            {
                "name": "run one task",
                "hosts": "windows",
                "gather_facts": False,
                "tasks": [
                    {
                        "name": "the task under test",
                        f"winhardening.smb.{module}": args,
                        "register": "under_test",
                        "ignore_errors": True,
                    },
                    {
                        "name": "keep the result",
                        "ansible.builtin.copy": {
                            "content": "{{ under_test | to_json }}",
                            "dest": f"{out_dir}/{{{{ inventory_hostname }}}}.json",
                            "mode": "0600",
                        },
                        "delegate_to": "localhost",
                        "check_mode": False,
                        "diff": False,
                    },
                ],
            }
        ]
        playbook = Path(tmp) / "play.yml"
        playbook.write_text(yaml.safe_dump(play, sort_keys=False))
        cmd = [str(BIN / "ansible-playbook"), "-i", str(inventory), "--limit", limit, str(playbook)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        env = dict(os.environ)
        env.update(
            ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
            ANSIBLE_HOST_KEY_CHECKING="False",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_LOCAL_TEMP=str(Path(tmp) / "ansible-local"),
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        )
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env=env,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        results = {p.stem: json.loads(p.read_text()) for p in out_dir.glob("*.json")}
        return PlayRun(proc.returncode, proc.stdout, proc.stderr, results)
