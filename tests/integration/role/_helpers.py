"""What the role's end-to-end tests share: running Ansible against the lab, reading results."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

REPO = Path(__file__).resolve().parents[3]
DEMO_FLEET = REPO / "tests" / "lab" / "fleets" / "demo.yml"
VENV_BIN = Path(sys.executable).parent
PLAYBOOK_TIMEOUT_S = 300
# The demo fleet's audit events carry fixed dates; a window this wide keeps them in it.
WIDE_WINDOW = "520w"


def recap(output: str) -> Dict[str, Dict[str, int]]:
    """The PLAY RECAP counters per host, from the default callback."""
    stats: Dict[str, Dict[str, int]] = {}
    for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.MULTILINE):
        stats[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counters)}
    return stats


def ansible_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_COLLECTIONS_PATH"] = str(REPO / ".collections")
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.default"
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORKS"] = "8"
    env["PYTHONPATH"] = str(REPO / "tests")
    return env


def run_playbook(
    lab: Any, report_dir: Path, name: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """ansible-playbook winhardening.smb.NAME against a lab, the report written to report_dir."""
    return subprocess.run(
        [
            str(VENV_BIN / "ansible-playbook"),
            f"winhardening.smb.{name}",
            "-i",
            str(lab.inventory),
            "-e",
            f"smb_signing_report_dir={report_dir}",
            *extra,
        ],
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=PLAYBOOK_TIMEOUT_S,
        check=False,
    )


def load_report(report_dir: Path) -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads((report_dir / "smb_signing_report.json").read_text())
    return data


def facts_with_cli(inventory: Path, tree: Path) -> Dict[str, Dict[str, Any]]:
    """Every host's ansible_facts.smb_signing, read by the `ansible` command; its --tree option
    (the builtin tree callback) leaves one JSON result file per host."""
    subprocess.run(
        [
            str(VENV_BIN / "ansible"),
            "windows",
            "-i",
            str(inventory),
            "-m",
            "winhardening.smb.win_smb_signing_facts",
            "-a",
            f"audit_events_since={WIDE_WINDOW}",
            "--tree",
            str(tree),
        ],
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=PLAYBOOK_TIMEOUT_S,
        check=True,
    )
    return {
        path.name: json.loads(path.read_text())["ansible_facts"]["smb_signing"]
        for path in tree.iterdir()
    }
