"""Bring a lab up in the background and take it down again, leaving nothing behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

import yaml

from lab import fleet as fleet_mod
from lab.client import LabClient, LabError
from lab.state import prepare, read_fleet

UP_TIMEOUT_S = 90.0
DOWN_TIMEOUT_S = 20.0
_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)


def up(
    fleet_file: Path,
    state_dir: Path,
    *,
    fresh: bool = False,
    subnet: Optional[int] = None,
    smb_port: Optional[int] = None,
    winrm_port: Optional[int] = None,
    timeout: float = UP_TIMEOUT_S,
) -> Path:
    """Start the lab process for ``fleet_file`` and return the inventory path once every
    endpoint answers."""
    state_dir = state_dir.resolve()
    client = LabClient(state_dir)
    if client.daemon() is not None and _alive(int(client.daemon()["pid"])):  # type: ignore[index]
        raise LabError(f"a lab is already running for {state_dir}; run `down` first")
    fleet = fleet_mod.load(fleet_file)
    prepare(state_dir, fleet, fresh=fresh, subnet=subnet, smb_port=smb_port, winrm_port=winrm_port)
    (state_dir / "daemon.json").unlink(missing_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    log = (state_dir / "lab.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "serve", "--state-dir", str(state_dir)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    log.close()
    (state_dir / "pids.json").write_text(json.dumps({"daemon": proc.pid, "smbd": {}}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = client.daemon()
        if info is not None and info.get("ready"):
            return Path(info["inventory"])
        if proc.poll() is not None:
            raise LabError(f"the lab process exited with {proc.returncode}:\n{_tail(state_dir)}")
        time.sleep(0.05)
    down(state_dir)
    raise LabError(f"the lab was not ready after {timeout:.0f} s:\n{_tail(state_dir)}")


def _tail(state_dir: Path) -> str:
    try:
        return "\n".join((state_dir / "lab.log").read_text().splitlines()[-15:])
    except OSError:
        return "(no lab.log)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return ") Z " not in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def down(state_dir: Path, timeout: float = DOWN_TIMEOUT_S) -> Dict[str, Any]:
    """Stop the lab process and every smbd it started, by pid; then check nothing listens."""
    state_dir = state_dir.resolve()
    client = LabClient(state_dir)
    report: Dict[str, Any] = {"stopped": [], "killed": [], "still_listening": []}
    pids = client.pids()
    daemon_pid = int(pids.get("daemon") or 0)
    with contextlib.suppress(LabError):
        client.call("shutdown")
    deadline = time.monotonic() + timeout
    while daemon_pid and _alive(daemon_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if daemon_pid and _alive(daemon_pid) and "lab" in _cmdline(daemon_pid):
        os.kill(daemon_pid, signal.SIGTERM)
        report["killed"].append(daemon_pid)
    elif daemon_pid:
        report["stopped"].append(daemon_pid)
    # pids.json is re-read: the lab rewrote it while it stopped its smbds.
    pids = client.pids()
    leftovers: List[int] = [int(p) for p in (pids.get("smbd") or {}).values()]
    for pid in leftovers:
        if _alive(pid) and "smbd" in _cmdline(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            report["killed"].append(pid)
    (state_dir / "daemon.json").unlink(missing_ok=True)
    try:
        fleet = read_fleet(state_dir)
    except ValueError:
        return report
    for host in fleet["hosts"]:
        for port in (fleet["winrm_port"], fleet["smb_port"]):
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex((host["address"], port)) == 0:
                    report["still_listening"].append(f"{host['address']}:{port}")
    return report


@contextlib.contextmanager
def running_lab(
    fleet: Union[Path, Dict[str, Any]], state_dir: Path, **kwargs: Any
) -> Iterator[LabClient]:
    """Bring a fleet up for the duration of a ``with`` block (or a pytest fixture)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(fleet, dict):
        path = state_dir / "fleet-input.yml"
        path.write_text(yaml.safe_dump(fleet, sort_keys=False))
        fleet = path
    up(fleet, state_dir, **kwargs)
    try:
        yield LabClient(state_dir)
    finally:
        report = down(state_dir)
        if report["still_listening"]:
            raise LabError(f"lab down left listeners: {report['still_listening']}")
