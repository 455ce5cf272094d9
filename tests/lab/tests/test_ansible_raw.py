"""ansible.builtin.raw through ansible-playbook and Ansible's real winrm connection plugin."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Dict, Iterator

import pytest

from lab.client import LabClient
from lab.lifecycle import running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
# ansible-core 2.20+ needs Python 3.12, so 2.18 and 2.19 get Python 3.11 venvs of their own.
VENVS = {
    "2.18": (REPO / ".venv-core2.18", "ansible-core==2.18.19"),
    "2.19": (REPO / ".venv-core2.19", "ansible-core==2.19.14"),
    "2.21": (REPO / ".venv", "ansible-core==2.21.5"),
}
PY311 = "/root/.pyenv/versions/3.11.7/bin/python3.11"

PLAYBOOK = """
- hosts: windows
  gather_facts: false
  tasks:
    - name: raw through winrm
      ansible.builtin.raw: Write-Output 'hello from the lab'
      register: said
    - name: what came back
      ansible.builtin.assert:
        that:
          - said.rc == 0
          - said.stdout_lines == ['hello from the lab']
    - name: a failing raw command keeps its rc
      ansible.builtin.raw: exit 3
      register: failed_raw
      failed_when: failed_raw.rc != 3
"""


def recap(output: str) -> Dict[str, Dict[str, int]]:
    """The PLAY RECAP counters per host, from the default callback."""
    stats: Dict[str, Dict[str, int]] = {}
    for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.MULTILINE):
        stats[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counters)}
    return stats


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabClient]:
    fleet = {
        "hosts": [
            {"name": "good", "os": "windows_server_2022", "domain_role": 3},
            {"name": "locked", "os": "windows_server_2019", "domain_role": 3},
        ]
    }
    with running_lab(fleet, tmp_path_factory.mktemp("ansible")) as client:
        client.fault("locked", "unauthorized")
        yield client


@pytest.mark.parametrize("core", sorted(VENVS))
def test_raw_on_ansible_core(lab: LabClient, core: str, tmp_path: Path) -> None:
    venv, pin = VENVS[core]
    playbook_bin = venv / "bin" / "ansible-playbook"
    if not playbook_bin.exists():
        pytest.skip(
            f"no venv for ansible-core {core} at {venv}; create it with: "
            f"{PY311} -m venv {venv} && {venv}/bin/pip install {pin} pywinrm==0.5.0"
        )
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    env = {
        **os.environ,
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
    }
    before = lab.records("good")["round_trips"]
    proc = subprocess.run(
        [str(playbook_bin), "-i", str(lab.inventory), str(tmp_path / "play.yml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    stats = recap(proc.stdout)
    assert set(stats) == {"good", "locked"}, f"{proc.stdout}\n{proc.stderr}"
    assert stats["good"]["failed"] == 0, proc.stdout
    assert stats["good"]["unreachable"] == 0, proc.stdout
    assert stats["good"]["ok"] == 3
    # A wrong password (401) is UNREACHABLE, as on Windows.
    assert stats["locked"]["unreachable"] == 1
    assert lab.records("good")["round_trips"] == before + 2


COLLECTION_PLAYBOOK = """
- hosts: good
  gather_facts: false
  tasks:
    - name: read_state, the largest request
      winhardening.smb.win_smb_signing_facts:
        audit_window: 520w
        max_audit_peers: 1000
        probe: false
      register: facts
    - name: apply
      winhardening.smb.win_smb_signing:
        client_require: "{{ not facts.ansible_facts.smb_signing.settings.client_require.value }}"
        allow_weakening: true
        probe: false
      register: enforced
    - name: what came back
      ansible.builtin.assert:
        that:
          - facts.ansible_facts.smb_signing.computer_name == 'GOOD'
          - enforced is changed
"""


@pytest.mark.parametrize("core", sorted(VENVS))
def test_the_collection_scripts_go_on_stdin_on_ansible_core(
    lab: LabClient, core: str, tmp_path: Path
) -> None:
    """The collection's own transport (the bootstrap on the command line, the script on stdin)
    through each ansible-core's real winrm plugin: 2.18 encodes the bootstrap itself, 2.19 and
    2.21 take the line."""
    venv, pin = VENVS[core]
    playbook_bin = venv / "bin" / "ansible-playbook"
    if not playbook_bin.exists():
        pytest.skip(f"no venv for ansible-core {core} at {venv} ({pin})")
    (tmp_path / "play.yml").write_text(COLLECTION_PLAYBOOK)
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".collections"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
    }
    before = lab.records("good")
    proc = subprocess.run(
        [str(playbook_bin), "-i", str(lab.inventory), str(tmp_path / "play.yml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    stats = recap(proc.stdout)
    assert stats.get("good", {}).get("failed") == 0, f"{proc.stdout}\n{proc.stderr}"
    after = lab.records("good")
    scripts = after["scripts"][len(before["scripts"]) :]
    assert [s["op"] for s in scripts] == ["read_state", "read_state", "apply"]
    for record in scripts:
        assert record["rc"] == 0, record
        assert record["transport"] == "stdin", record
        assert record["command_line_chars"] < 2000, record
    # One WinRS Command per script: the stdin rides the same command.
    assert after["round_trips"] - before["round_trips"] == 3


def test_a_constrained_language_host_fails_with_the_bootstrap_s_message(
    lab: LabClient, tmp_path: Path
) -> None:
    venv = VENVS["2.21"][0]
    (tmp_path / "play.yml").write_text(COLLECTION_PLAYBOOK)
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".collections"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
    }
    lab.set("good", "language_mode=ConstrainedLanguage")
    try:
        proc = subprocess.run(
            [
                str(venv / "bin" / "ansible-playbook"),
                "-i",
                str(lab.inventory),
                str(tmp_path / "play.yml"),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
            check=False,
        )
    finally:
        lab.set("good", "language_mode=FullLanguage")
    stats = recap(proc.stdout)
    assert stats["good"]["failed"] == 1, proc.stdout
    assert stats["good"]["unreachable"] == 0, proc.stdout
    fatal = next(line for line in proc.stdout.splitlines() if line.startswith("fatal: [good]"))
    assert "the read_state script failed: exit code 1" in fatal
    assert "needs FullLanguage mode" in fatal
    assert "ConstrainedLanguage" in fatal
    assert lab.records("good")["scripts"][-1]["op"] == "language_mode"
