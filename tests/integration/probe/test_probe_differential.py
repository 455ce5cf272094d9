"""Our probe, smbprotocol and nmap against real Samba servers: all three must agree.

Each smbd runs on its own 127.0.6.x address and a high port with its own smb.conf, and is stopped
(whole process group) when the module's tests end. SMB1-only servers close the connection on an
SMB2 negotiate: smbprotocol cannot connect and nmap's smb2-security-mode prints nothing, so
there the reference is nmap's smb-security-mode (which does a guest session setup to answer).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.winhardening.smb.plugins.module_utils.smb_negotiate import (
    ProbeResult,
    probe_endpoint,
    probe_many,
)
from ansible_collections.winhardening.smb.tests.integration.probe import smbd_lab

# One port per pytest-xdist worker: two workers may each start this module's servers.
PORT = 14460 + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)

# name: (address, server signing, min protocol, max protocol, expected dialect, required)
INSTANCES: dict[str, tuple[str, str, str, str, str, bool]] = {
    "mand311": ("127.0.6.1", "mandatory", "SMB2_02", "SMB3_11", "3.1.1", True),
    "auto311": ("127.0.6.2", "auto", "SMB2_02", "SMB3_11", "3.1.1", False),
    "dis311": ("127.0.6.3", "disabled", "SMB2_02", "SMB3_11", "3.1.1", False),
    # Samba's "SMB3" is an alias of its newest SMB3 dialect, so it negotiates 3.1.1 as well.
    "mandsmb3": ("127.0.6.4", "mandatory", "SMB2_02", "SMB3", "3.1.1", True),
    "autosmb3": ("127.0.6.5", "auto", "SMB2_02", "SMB3", "3.1.1", False),
    "mand302": ("127.0.6.6", "mandatory", "SMB2_02", "SMB3_02", "3.0.2", True),
    "auto300": ("127.0.6.7", "auto", "SMB2_02", "SMB3_00", "3.0", False),
    "mand210": ("127.0.6.8", "mandatory", "SMB2_02", "SMB2_10", "2.1", True),
    "auto210": ("127.0.6.9", "auto", "SMB2_02", "SMB2_10", "2.1", False),
    "mand202": ("127.0.6.10", "mandatory", "SMB2_02", "SMB2_02", "2.0.2", True),
    "dis202": ("127.0.6.11", "disabled", "SMB2_02", "SMB2_02", "2.0.2", False),
    "smb1auto": ("127.0.6.12", "auto", "NT1", "NT1", "SMB1", False),
    "smb1mand": ("127.0.6.13", "mandatory", "NT1", "NT1", "SMB1", True),
    "smb1dis": ("127.0.6.14", "disabled", "NT1", "NT1", "SMB1", False),
}
NMAP_DIALECT = {"3.1.1": "311", "3.0.2": "302", "3.0": "300", "2.1": "210", "2.0.2": "202"}


@pytest.fixture(scope="module")
def lab(smbd_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("smbd")
    started: dict[str, Any] = {}
    try:
        for name, (address, signing, low, high, _, _) in INSTANCES.items():
            started[name] = smbd_lab.start_smbd(
                root,
                name,
                [address],
                port=PORT,
                signing=signing,
                min_protocol=low,
                max_protocol=high,
            )
        yield started
    finally:
        groups = [inst.process.pid for inst in started.values() if inst.process is not None]
        for inst in started.values():
            inst.stop()
        _assert_groups_gone(groups)


def _assert_groups_gone(groups: list[int], wait: float = 10.0) -> None:
    end = time.monotonic() + wait
    alive = list(groups)
    while alive and time.monotonic() < end:
        still = []
        for pgid in alive:
            try:
                os.killpg(pgid, 0)
                still.append(pgid)
            except ProcessLookupError:
                pass
        alive = still
        if alive:
            time.sleep(0.1)
    for pgid in alive:  # pragma: no cover - only when smbd ignores SIGKILL's aftermath
        os.killpg(pgid, signal.SIGKILL)
    assert not alive, f"smbd process groups still present: {alive}"


@pytest.fixture(scope="module")
def nmap_scan(lab: dict[str, Any], nmap_path: str) -> dict[str, dict[str, ET.Element]]:
    """One nmap run over every instance: address -> script id -> <script> element."""
    addresses = [inst.address for inst in lab.values()]
    proc = subprocess.run(
        [
            nmap_path,
            "-Pn",
            "-n",
            "-p",
            str(PORT),
            "--script",
            "smb2-security-mode,smb-security-mode",
            "--script-args",
            f"smbport={PORT}",
            "-oX",
            "-",
            *addresses,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    scans: dict[str, dict[str, ET.Element]] = {}
    for host in ET.fromstring(proc.stdout).iter("host"):
        address = host.find("address")
        assert address is not None
        scripts = {s.get("id", ""): s for s in host.iter("script")}
        scans[address.get("addr", "")] = scripts
    return scans


def _nmap_smb2(script: ET.Element) -> tuple[str, bool, bool]:
    """(dialect key, enabled, required) from smb2-security-mode's XML."""
    (table,) = script.findall("table")
    (elem,) = table.findall("elem")
    text = elem.text or ""
    required = text == "Message signing enabled and required"
    enabled = not text.startswith("Message signing is disabled")
    return table.get("key", ""), enabled, required


def _nmap_smb1(script: ET.Element) -> str:
    for elem in script.iter("elem"):
        if elem.get("key") == "message_signing":
            return elem.text or ""
    raise AssertionError("smb-security-mode printed no message_signing")


def _smbprotocol(address: str) -> tuple[int, int, uuid.UUID, int | None] | Exception:
    from smbprotocol.connection import Connection

    conn = Connection(uuid.uuid4(), address, PORT, require_signing=False)
    try:
        conn.connect(timeout=5)
        algo = getattr(conn, "signing_algorithm_id", None)
        return conn.dialect, conn.server_security_mode, conn.server_guid, algo
    except Exception as exc:  # smbprotocol raises OSError, ValueError, SMBException...
        return exc
    finally:
        conn.disconnect(close=False)


@pytest.mark.parametrize("name", list(INSTANCES))
def test_three_clients_agree(
    name: str, lab: dict[str, Any], nmap_scan: dict[str, dict[str, ET.Element]]
) -> None:
    address, _, _, _, dialect, required = INSTANCES[name]
    ours = probe_endpoint(address, PORT, deadline=3.0)
    assert ours.error is None, ours
    assert (ours.dialect, ours.signing_required) == (dialect, required), ours
    theirs = _smbprotocol(address)
    scripts = nmap_scan[address]

    if dialect == "SMB1":
        # smbprotocol speaks SMB2+ only: the server closes on it, as it did on our first attempt.
        assert isinstance(theirs, Exception), theirs
        assert "smb2-security-mode" not in scripts
        signing = _nmap_smb1(scripts["smb-security-mode"])
        assert ours.smb1_security_mode is not None
        if required:
            assert signing == "required"
        elif ours.signing_enabled:
            assert signing == "supported"
        else:
            assert signing.startswith("disabled")
        return

    assert not isinstance(theirs, Exception), theirs
    sp_dialect, sp_mode, sp_guid, sp_algo = theirs
    assert ours.security_mode == sp_mode
    assert ours.signing_required == bool(sp_mode & 0x02)
    assert ours.signing_enabled == bool(sp_mode & 0x01)
    assert ours.dialect == _dotted(sp_dialect)
    # smbprotocol renders the GUID's raw bytes big-endian; MS-DTYP packs GUIDs little-endian.
    assert ours.server_guid == str(uuid.UUID(bytes_le=sp_guid.bytes))
    if dialect == "3.1.1":
        assert sp_algo is not None
        assert ours.signing_algorithm == {0: "HMAC-SHA256", 1: "AES-CMAC", 2: "AES-GMAC"}[sp_algo]
    else:
        assert ours.signing_algorithm is None

    key, enabled, nmap_required = _nmap_smb2(scripts["smb2-security-mode"])
    assert key == NMAP_DIALECT[dialect]
    assert (enabled, nmap_required) == (ours.signing_enabled, ours.signing_required)


def _dotted(dialect: int) -> str:
    return {0x202: "2.0.2", 0x210: "2.1", 0x300: "3.0", 0x302: "3.0.2", 0x311: "3.1.1"}[dialect]


def test_probe_many_matches_single_probes(lab: dict[str, Any]) -> None:
    endpoints = [(INSTANCES[n][0], PORT) for n in INSTANCES] * 3
    results: list[ProbeResult] = probe_many(endpoints, concurrency=16, deadline=3.0)
    assert [(r.address, r.port) for r in results] == endpoints
    for r in results:
        name = next(n for n, spec in INSTANCES.items() if spec[0] == r.address)
        assert r.error is None, r
        assert (r.dialect, r.signing_required) == INSTANCES[name][4:], r


def test_module_through_ansible_reports_the_relay_list(lab: dict[str, Any]) -> None:
    """The real module, run by ansible (ad hoc, local), over every instance plus a dead port."""
    import json
    import shutil

    ansible = shutil.which("ansible") or str(Path(sys.executable).with_name("ansible"))
    targets = [f"{spec[0]}:{PORT}" for spec in INSTANCES.values()] + ["127.0.6.99:1"]
    proc = subprocess.run(
        [
            *(ansible, "localhost", "-c", "local", "-m", "winhardening.smb.smb_signing_probe"),
            *("-a", json.dumps({"targets": targets, "deadline": 3.0}), "--check"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # minimal callback: "localhost | SUCCESS => {...json...}"
    assert "=>" in proc.stdout, proc.stdout
    result = json.loads(proc.stdout.split("=>", 1)[1])
    expected_relay = [f"{s[0]}:{PORT}" for s in INSTANCES.values() if not s[5]]
    assert result["changed"] is False
    assert result["relay_list"] == expected_relay
    assert result["summary"]["refused"] == 1
    assert result["summary"]["smb1_only"] == 3
    assert result["summary"]["signing_required"] == sum(s[5] for s in INSTANCES.values())
