"""Shared-smbd mode: moving a host between policies never closes another host's SMB port."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Dict, List, Tuple

import pytest
from smbprotocol.connection import Connection

from lab.client import LabClient
from lab.lifecycle import running_lab
from lab.tests._helpers import apply

pytestmark = pytest.mark.lab

PROBE_LOOP_LIMIT_S = 30.0


def signing_required(address: str, port: int) -> bool:
    """SMB2 NEGOTIATE: SecurityMode & 0x02 is SIGNING_REQUIRED (MS-SMB2 2.2.4);
    require_signing=False, or smbprotocol reports its own wish (wire-probe-findings 2a)."""
    conn = Connection(uuid.uuid4(), address, port, require_signing=False)
    try:
        conn.connect(timeout=5)
        return bool(conn.server_security_mode & 2)
    finally:
        conn.disconnect(close=False)


class Prober(threading.Thread):
    """Negotiates with the given hosts, round and round, until told to stop (bounded)."""

    def __init__(self, lab: LabClient, hosts: List[str]) -> None:
        super().__init__(daemon=True)
        self.targets = [(h, lab.address(h)) for h in hosts]
        self.port = int(lab.fleet["smb_port"])
        self.stop = threading.Event()
        self.seen: Dict[str, List[bool]] = {h: [] for h in hosts}
        self.failures: List[Tuple[str, str]] = []

    def run(self) -> None:
        deadline = time.monotonic() + PROBE_LOOP_LIMIT_S
        while not self.stop.is_set() and time.monotonic() < deadline:
            for host, address in self.targets:
                try:
                    self.seen[host].append(signing_required(address, self.port))
                except Exception as exc:  # refused, reset or closed: exactly what must not happen
                    self.failures.append((host, f"{type(exc).__name__}: {exc}"))


def test_policy_moves_keep_every_port_open(tmp_path_factory: pytest.TempPathFactory) -> None:
    hosts = [{"name": f"h{i}", "os": "windows_server_2022", "domain_role": 3} for i in range(6)]
    with running_lab(
        {"shared_smbd": True, "hosts": hosts}, tmp_path_factory.mktemp("forwarder")
    ) as lab:
        before = lab.status()["smbd_pids"]
        assert list(before) == ["auto-smb2"]
        prober = Prober(lab, ["h0", "h1", "h2"])
        prober.start()
        try:
            flips = [("h3", True), ("h4", True), ("h5", True), ("h3", False), ("h4", False)]
            for host, required in flips:
                apply(lab, host, {"server": {"RequireSecuritySignature": required}})
                # The lab confirmed the wire before answering; a new connection agrees.
                assert signing_required(lab.address(host), lab.fleet["smb_port"]) is required
        finally:
            prober.stop.set()
            prober.join(PROBE_LOOP_LIMIT_S + 10)
        assert prober.failures == []
        for host in ("h0", "h1", "h2"):
            assert len(prober.seen[host]) >= 3, prober.seen
            assert not any(prober.seen[host]), f"{host} changed policy without a write"
        status = lab.status()
        wire = {h["name"]: h["wire_requires_signing"] for h in status["hosts"]}
        assert wire == {"h0": False, "h1": False, "h2": False, "h3": False, "h4": False, "h5": True}
        # No smbd restarted: the first one keeps its pid; the mandatory one was started once.
        assert status["smbd_pids"]["auto-smb2"] == before["auto-smb2"]
        assert set(status["smbd_pids"]) == {"auto-smb2", "mand-smb2"}
        forwarder = status["smb_forwarder"]
        assert forwarder["listening"] == 6
        assert forwarder["failed_upstream"] == 0
        assert forwarder["accepted"] >= sum(len(v) for v in prober.seen.values())
