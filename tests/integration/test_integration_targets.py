"""The integration targets (tests/integration/targets, in ansible.windows' layout) run by
``ansible-test windows-integration`` against the lab, through the command a contributor runs
against a Windows VM (scripts/windows-integration.sh, docs/dev/contributing.md) and an inventory
the lab writes (``python -m lab inventory --ansible-test PATH``).

The lab is one domain controller (dc01: Server 2022, server signing owned by the Default Domain
Controllers Policy, no audit parameters) and one member server (ms2025: Server 2025, both audit
parameters, server auditing on) of the demo fleet, so between them every branch of the targets
runs: a GPO-owned setting, an audit setting refused by name and one written.

Nothing from the collection is imported here (see tests/integration/playbook.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import pytest
import yaml
from integration.playbook import DEMO_FLEET

from lab.client import LabClient
from lab.lifecycle import running_lab

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "windows-integration.sh"
TARGETS = ("win_smb_signing_facts", "win_smb_signing")
HOSTS = ("dc01", "ms2025")
TIMEOUT_S = 900
# What each target's tasks record when a branch ran: (target, marker, host) for every host and
# branch the lab fleet is built to exercise. A marker missing means a branch was skipped.
MARKERS = [
    *[(t, f"TARGET DONE {t} on {h}", h) for t in TARGETS for h in HOSTS],
    *[("win_smb_signing", f"TESTED weakening_refused on {h}", h) for h in HOSTS],
    *[("win_smb_signing", f"TESTED cis_enforce on {h}", h) for h in HOSTS],
    ("win_smb_signing", "TESTED gpo_conflict on dc01 (server_require)", "dc01"),
    ("win_smb_signing", "TESTED audit_by_name on dc01 (writable False)", "dc01"),
    ("win_smb_signing", "TESTED audit_by_name on ms2025 (writable True)", "ms2025"),
]
# At least this many tasks ran ok on every host, per target (the lab runs 30 and 43 or more);
# a target whose includes silently matched nothing would fall far below.
MIN_OK = {"win_smb_signing_facts": 25, "win_smb_signing": 40}


@dataclass
class Result:
    rc: int
    output: str
    wall_s: float

    def target_output(self, target: str) -> str:
        """What ansible-test printed for one target, up to the next target."""
        parts = re.split(r"^Running (\S+) integration test role$", self.output, flags=re.M)
        by_target = dict(zip(parts[1::2], parts[2::2]))
        assert target in by_target, f"{target} did not run:\n{self.tail()}"
        return by_target[target]

    def recap(self, target: str) -> Dict[str, Dict[str, int]]:
        section = self.target_output(target).split("PLAY RECAP", 1)[-1]
        return {
            host: {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counters)}
            for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", section, re.M)
        }

    def tail(self) -> str:
        return self.output[-6000:]


def lab_inventory(lab: LabClient, path: Path, *hosts: str) -> Path:
    """The lab's ansible-test inventory, written by the lab's command line."""
    cmd = [sys.executable, "-m", "lab", "inventory", "--state-dir", str(lab.state_dir)]
    cmd += ["--ansible-test", str(path)]
    for host in hosts:
        cmd += ["--host", host]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(path)
    return path


def windows_integration(inventory: Path, work: Path, *targets: str) -> Result:
    """scripts/windows-integration.sh as a contributor runs it, its tree under ``work``."""
    env = dict(os.environ, WINDOWS_INTEGRATION_WORK=str(work), NO_COLOR="1")
    cmd = [str(SCRIPT), "--inventory", str(inventory), "--color", "no", *targets]
    start = time.perf_counter()
    proc = subprocess.run(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=REPO,
        timeout=TIMEOUT_S,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, time.perf_counter() - start)


def registry(lab: LabClient, host: str) -> Dict[str, Dict[str, object]]:
    model = lab.model(host)["registry"]
    return {f"{side}.{name}": value for side in model for name, value in model[side].items()}


def applies(lab: LabClient, host: str) -> List[str]:
    """The op of every apply script the host answered."""
    scripts = lab.records(host)["scripts"]
    return [s["op"] for s in scripts if s.get("op") == "apply"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabClient]:
    """dc01 and ms2025 of the demo fleet, fresh."""
    fleet = yaml.safe_load(DEMO_FLEET.read_text())
    fleet["name"] = "integration-targets"
    fleet["hosts"] = [h for h in fleet["hosts"] if h["name"] in HOSTS]
    with running_lab(fleet, tmp_path_factory.mktemp("targets-lab"), fresh=True) as client:
        yield client


def test_the_lab_inventory_is_the_ini_ansible_test_reads(lab: LabClient, tmp_path: Path) -> None:
    """The INI inventory holds the same hosts and variables as the lab's YAML inventory, in a
    [windows] group, as Ansible reads it back."""
    ini = lab_inventory(lab, tmp_path / "inventory.winrm")
    assert ini.stat().st_mode & 0o077 == 0, "the inventory holds a password: owner-only"

    def hostvars(path: Path) -> Dict[str, Dict[str, object]]:
        out = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(path), "--list"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        data = json.loads(out)
        assert sorted(data["windows"]["hosts"]) == sorted(HOSTS)
        return {h: data["_meta"]["hostvars"][h] for h in HOSTS}

    assert hostvars(ini) == hostvars(lab.inventory)
    only = lab_inventory(lab, tmp_path / "one.winrm", "ms2025")
    assert "ms2025 " in only.read_text()
    assert "dc01 " not in only.read_text()


def test_the_inventory_template_is_what_ansible_test_reads(tmp_path: Path) -> None:
    """tests/integration/inventory.winrm.template, filled in, is an INI inventory with the host in
    [windows] over WinRM on HTTPS with the certificate validated; the filled-in copy in the
    checkout is ignored by git (it holds a password)."""
    template = (REPO / "tests" / "integration" / "inventory.winrm.template").read_text()
    values = {
        "@NAME": "win2022",
        "@HOST": "win2022.lab.test",
        "@USER": "Administrator",
        "@PASSWORD": "Secret-123",
        "@CA_PEM": "/etc/ssl/winrm.pem",
    }
    filled = template
    for placeholder, value in values.items():
        filled = filled.replace(placeholder, value)
    assert "@" not in re.sub(r"(?m)^#.*$", "", filled), "a placeholder outside the comments"
    path = tmp_path / "inventory.winrm"
    path.write_text(filled)
    out = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(path), "--list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    data = json.loads(out)
    assert data["windows"]["hosts"] == ["win2022"]
    assert sorted(data["winrm"]["children"]) == ["windows"]
    host = data["_meta"]["hostvars"]["win2022"]
    assert host["ansible_connection"] == "winrm"
    assert host["ansible_winrm_scheme"] == "https"
    assert host["ansible_port"] == 5986
    assert host["ansible_winrm_server_cert_validation"] == "validate"
    assert host["ansible_password"] == "Secret-123"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "tests/integration/inventory.winrm"], cwd=REPO, check=False
    )
    assert ignored.returncode == 0, "tests/integration/inventory.winrm is not git-ignored"


def test_the_targets_pass_against_the_lab(lab: LabClient, tmp_path: Path) -> None:
    """Both targets pass on both hosts, every branch the fleet is built for runs, the enforce
    target really wrote, and the hosts are left with the values they had."""
    before = {h: registry(lab, h) for h in HOSTS}
    wire_before = {h["name"]: h["wire_requires_signing"] for h in lab.status()["hosts"]}
    inventory = lab_inventory(lab, tmp_path / "inventory.winrm")

    result = windows_integration(inventory, tmp_path / "work")

    assert result.rc == 0, result.tail()
    for target in TARGETS:
        recap = result.recap(target)
        assert sorted(recap) == sorted(HOSTS), result.target_output(target)[-3000:]
        for host in HOSTS:
            assert recap[host]["failed"] == 0, recap
            assert recap[host]["unreachable"] == 0, recap
            assert recap[host]["ok"] >= MIN_OK[target], (target, host, recap[host])
    for target, marker, host in MARKERS:
        assert marker in result.target_output(target), f"{target}: no {marker!r} for {host}"
    # The enforce target wrote (changes, then the restore), the facts target never did.
    for host in HOSTS:
        assert len(applies(lab, host)) >= 4, (host, applies(lab, host))
    # Left as found: every registry value that was there holds the same data; values the run
    # added hold what the host had in force (the target's restore checks that with a read).
    for host in HOSTS:
        after = registry(lab, host)
        assert {k: after.get(k) for k in before[host]} == before[host], host
    wire_after = {h["name"]: h["wire_requires_signing"] for h in lab.status()["hosts"]}
    assert wire_after == wire_before
    print(f"ansible-test windows-integration, 2 targets x 2 hosts: {result.wall_s:.1f} s")


def test_a_write_that_does_not_take_fails_the_target(lab: LabClient, tmp_path: Path) -> None:
    """The targets catch a host that does not do what the module asked: with writes of
    client_enable (the setting the target changes) refused by the host, the change fails and
    the run fails, and the restore still runs."""
    lab.set("ms2025", "deny_writes=client.EnableSecuritySignature")
    try:
        inventory = lab_inventory(lab, tmp_path / "inventory.winrm", "ms2025")
        result = windows_integration(inventory, tmp_path / "work", "win_smb_signing")
    finally:
        lab.set("ms2025", "deny_writes=")
    assert result.rc != 0, result.tail()
    out = result.target_output("win_smb_signing")
    change = out.split("TASK [win_smb_signing : Change the setting]", 1)
    assert len(change) == 2, result.tail()
    assert re.search(r"^fatal: \[ms2025\]", change[1].split("TASK [", 1)[0], re.M), result.tail()
    assert "TASK [win_smb_signing : Write back the value each restorable setting had]" in out
    assert "TARGET DONE" not in out
    assert result.recap("win_smb_signing")["ms2025"]["failed"] == 1
