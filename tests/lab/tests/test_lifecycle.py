"""The CLI: up, status, set, down; a restart keeps the models; down leaves nothing behind."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import List, Set

import pytest
import yaml

from lab.client import LabClient, LabError
from lab.lifecycle import running_lab
from lab.tests._helpers import read_state

pytestmark = pytest.mark.lab

TESTS_DIR = Path(__file__).resolve().parents[2]


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(TESTS_DIR)}
    proc = subprocess.run(
        [sys.executable, "-m", "lab", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def processes_of(state_dir: Path) -> List[str]:
    """Every live process whose command line names this state dir (the lab, its smbds)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if str(state_dir) in cmdline and ") Z " not in stat:
            found.append(f"{entry}: {cmdline}")
    return found


def members_of_groups(pgids: Set[int]) -> List[str]:
    """Live or zombie processes in these process groups (each smbd leads its own group)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[2]) in pgids:
                found.append(f"{entry} state {stat[0]}")
    return found


def test_cli_up_status_down_leaves_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    fleet = Path(__file__).resolve().parents[1] / "fleets" / "demo.yml"
    out = cli("up", "--fleet", str(fleet), "--state-dir", str(state)).stdout.strip()
    assert out == str(state / "inventory.yml")
    inventory = yaml.safe_load(Path(out).read_text())
    windows = inventory["all"]["children"]["windows"]
    assert sorted(windows["children"]["domain_controllers"]["hosts"]) == ["dc01", "dc02"]
    assert len(windows["children"]["member_servers"]["hosts"]) == 4
    assert list(windows["children"]["standalone_servers"]["hosts"]) == ["web01"]
    dc01 = windows["hosts"]["dc01"]
    assert dc01["ansible_connection"] == "winrm"
    assert dc01["smb_signing_probe_port"] == 14450
    status = cli("status", "--state-dir", str(state)).stdout
    assert status.count("winrm up") == 7
    procs = processes_of(state)
    assert len(procs) >= 1 + 7  # the lab and seven smbd parents at least
    addresses = [h["ansible_host"] for h in windows["hosts"].values()]
    smbd_groups = set(json.loads((state / "pids.json").read_text())["smbd"].values())
    assert len(smbd_groups) == 7
    report = cli("down", "--state-dir", str(state)).stdout
    assert '"still_listening": []' in report
    assert processes_of(state) == []
    for address in addresses:
        for port in (55985, 14450):
            with socket.socket() as s:
                assert s.connect_ex((address, port)) != 0, f"{address}:{port} still listening"
    # smbd's helpers too, zombies included: the lab adopts and reaps them.
    assert members_of_groups(smbd_groups) == []
    assert "no lab is running" in cli("status", "--state-dir", str(state), check=False).stderr


def test_restart_keeps_the_model(tmp_path: Path) -> None:
    fleet = {"hosts": [{"name": "keep", "os": "windows_11_23h2", "domain_role": 1}]}
    with running_lab(fleet, tmp_path / "s") as lab:
        lab.set("keep", "server.RequireSecuritySignature=1", "smb1=false")
        lab.add_event("keep", "server", 3021, "10.1.1.1", "2026-11-24T10:00:00Z")
        address = lab.address("keep")
    with running_lab(fleet, tmp_path / "s") as lab:
        assert lab.address("keep") == address
        state = read_state(lab, "keep")
        assert state["registry"]["server"]["RequireSecuritySignature"]["data"] == 1
        assert state["server_config"]["RequireSecuritySignature"] is True
        assert len(lab.model("keep")["events"]) == 1


def test_bad_input_gets_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        yaml.safe_dump({"hosts": [{"name": "x1", "os": "windows_xp", "domain_role": 3}]})
    )
    proc = cli("up", "--fleet", str(bad), "--state-dir", str(tmp_path / "s"), check=False)
    assert proc.returncode == 1
    assert "hosts[0] (x1): unknown os 'windows_xp'" in proc.stderr
    assert "Traceback" not in proc.stderr
    bad.write_text(
        yaml.safe_dump({"hosts": [{"name": "x1", "os": "windows_10", "domain_role": 5}]})
    )
    proc = cli("up", "--fleet", str(bad), "--state-dir", str(tmp_path / "s"), check=False)
    assert "domain_role 5 does not fit os windows_10" in proc.stderr


def test_generated_scale_fleet_with_shared_smbd(tmp_path: Path) -> None:
    text = cli("gen-fleet", "40").stdout
    fleet = yaml.safe_load(text)
    assert len(fleet["hosts"]) == 40
    assert fleet["shared_smbd"] is True
    path = tmp_path / "scale.yml"
    path.write_text(text)
    with running_lab(path, tmp_path / "s") as lab:
        status = lab.status()
        assert len(status["hosts"]) == 40
        # One smbd per distinct (signing, SMB1) policy, not one per host.
        assert 1 < len(status["smbd_pids"]) <= 4
        assert all(h["winrm_listening"] for h in status["hosts"])


def test_lab_client_reports_missing_lab(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="no lab is running for"):
        LabClient(tmp_path).records("x")


def test_set_refuses_an_impossible_model(tmp_path: Path) -> None:
    fleet = {"hosts": [{"name": "w10", "os": "windows_10", "domain_role": 1}]}
    with running_lab(fleet, tmp_path / "s") as lab:
        with pytest.raises(LabError, match="domain_role 5 does not fit os windows_10"):
            lab.set("w10", "domain_role=5")
        assert lab.model("w10")["domain_role"] == 1
        with pytest.raises(LabError, match="unknown key 'colour'"):
            lab.set("w10", "colour=blue")
