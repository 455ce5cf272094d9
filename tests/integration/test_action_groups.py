"""module_defaults groups (meta/runtime.yml): group/winhardening.smb.smb_signing reaches the two
WinRM actions and never smb_signing_probe, which shares none of their options.

The play runs on localhost: the probe asks a loopback port that refuses, and
win_smb_signing_facts and win_smb_signing get ``baseline: custom`` from the group, which their
option check rejects before any connection is made, so each result shows the group default
arrived.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120

PLAY = """
- name: One group default for the WinRM actions, then every module of the collection
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/winhardening.smb.smb_signing:
      baseline: custom
      probe: false
  tasks:
    - name: The probe is outside the group; its own options only
      winhardening.smb.smb_signing_probe:
        targets: [127.0.0.1]
        port: {port}
      register: probe
      ignore_errors: true

    - name: The facts action is in the group and gets baseline=custom from it
      winhardening.smb.win_smb_signing_facts:
      register: facts
      ignore_errors: true

    - name: The enforcing action is in the group and gets baseline=custom from it too
      winhardening.smb.win_smb_signing:
        mode: audit
      register: enforce
      ignore_errors: true

    - name: Keep the results
      ansible.builtin.copy:
        content: "{{{{ {{'probe': probe, 'facts': facts, 'enforce': enforce}} | to_json }}}}"
        dest: "{out}"
        mode: "0600"
"""


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_runtime_groups_keep_the_probe_out() -> None:
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    groups = runtime["action_groups"]
    assert sorted(groups["smb_signing"]) == ["win_smb_signing", "win_smb_signing_facts"]
    members = {m for names in groups.values() if isinstance(names, list) for m in names}
    assert "smb_signing_probe" not in members


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    bin_dir = Path(sys.executable).parent
    work = tmp_path_factory.mktemp("action-groups")
    out = work / "results.json"
    play = work / "play.yml"
    play.write_text(PLAY.format(port=refused_port(), out=out), encoding="utf-8")
    env = dict(os.environ)
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    proc = subprocess.run(
        [
            str(bin_dir / "ansible-playbook"),
            "-i",
            "localhost,",
            "-e",
            "ansible_python_interpreter={{ ansible_playbook_python }}",
            str(play),
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    data: Dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def test_group_defaults_do_not_reach_the_probe(results: Dict[str, Any]) -> None:
    probe = results["probe"]
    assert "Unsupported parameters" not in probe.get("msg", ""), probe
    assert not probe.get("failed"), probe
    assert probe["summary"]["total"] == 1, probe
    assert probe["endpoints"][0]["reachable"] is False, probe


@pytest.mark.parametrize("action", ["facts", "enforce"])
def test_group_defaults_reach_the_winrm_actions(results: Dict[str, Any], action: str) -> None:
    result = results[action]
    # baseline=custom without custom values is refused by the option check: the group's default
    # got there (without it the baseline would be cis and the check would pass).
    assert result.get("failed"), result
    assert "Unsupported parameters" not in result["msg"], result
    assert "baseline is custom" in result["msg"], result
