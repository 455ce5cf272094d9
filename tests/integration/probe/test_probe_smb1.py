"""SMB1 next to SMB2 on real Samba: invisible to the SMB2 probe, seen with ``check_smb1``.

A server that speaks SMB2 answers the SMB2 negotiate, so the probe never used to ask about
SMB1; nmap's smb-security-mode (SMB1 only) is the reference for what SMB1 says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.winhardening.smb.plugins.module_utils.smb_negotiate import (
    probe_endpoint,
    probe_many,
)
from ansible_collections.winhardening.smb.tests.integration.probe import smbd_lab

PORT = 14480 + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)

# name: (address, server signing, min protocol, max protocol, SMB2 required, SMB1 answer)
# SMB1 answer: None when SMB1 is off, else whether SMB1 requires signing.
INSTANCES: dict[str, tuple[str, str, str, str, bool, bool | None]] = {
    "bothauto": ("127.0.6.21", "auto", "NT1", "SMB3", False, False),
    "bothmand": ("127.0.6.22", "mandatory", "NT1", "SMB3", True, True),
    "smb2only": ("127.0.6.23", "mandatory", "SMB2_02", "SMB3", True, None),
    "smb1only": ("127.0.6.24", "auto", "NT1", "NT1", False, False),
}


@pytest.fixture(scope="module")
def lab(smbd_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("smbd1")
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
        for inst in started.values():
            inst.stop()


@pytest.mark.parametrize("name", list(INSTANCES))
def test_check_smb1_sees_smb1_next_to_smb2(name: str, lab: dict[str, Any]) -> None:
    address, _, _, high, smb2_required, smb1 = INSTANCES[name]
    plain = probe_endpoint(address, PORT, 3.0)
    checked = probe_endpoint(address, PORT, 3.0, check_smb1=True)
    (many,) = probe_many([(address, PORT)], 4, 3.0, check_smb1=True)
    assert plain.error is None, plain
    assert plain.signing_required is smb2_required
    for r in (checked, many):
        assert r.error is None, r
        assert r.signing_required is smb2_required, r
        assert r.smb1_enabled is (smb1 is not None), r
        assert r.smb1_signing_required is smb1, r
    if high == "NT1":
        assert plain.dialect == checked.dialect == "SMB1"
        return
    # Without the option SMB1 is not asked about on a server that answers SMB2.
    assert (plain.smb1_enabled, plain.smb1_signing_required) == (None, None)
    assert checked.dialect == plain.dialect
    assert (
        "SMB1 accepted" in checked.detail if smb1 is not None else "SMB1 refused" in checked.detail
    )
    if smb1 is not None:
        assert checked.smb1_security_mode is not None


def test_nmap_agrees_on_smb1(lab: dict[str, Any], nmap_path: str) -> None:
    addresses = [spec[0] for spec in INSTANCES.values()]
    proc = subprocess.run(
        [
            *(nmap_path, "-Pn", "-n", "-p", str(PORT), "--script", "smb-security-mode"),
            *("--script-args", f"smbport={PORT}", "-oX", "-", *addresses),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    seen: dict[str, str | None] = {}
    for host in ET.fromstring(proc.stdout).iter("host"):
        address = host.find("address")
        assert address is not None
        signing = None
        for elem in host.iter("elem"):
            if elem.get("key") == "message_signing":
                signing = elem.text
        seen[address.get("addr", "")] = signing
    results = probe_many([(a, PORT) for a in addresses], 4, 3.0, check_smb1=True)
    for r in results:
        nmap = seen[r.address]
        if r.smb1_enabled:
            assert nmap == ("required" if r.smb1_signing_required else "supported"), (r, nmap)
        else:
            assert nmap is None, (r, nmap)


def test_module_lists_smb1_without_signing_in_the_relay_list(lab: dict[str, Any]) -> None:
    """Through ansible: ``bothmand`` requires signing over both; ``bothauto`` and
    ``smb1only`` do not; ``smb2only`` refuses SMB1."""
    import shutil

    ansible = shutil.which("ansible") or str(Path(sys.executable).with_name("ansible"))
    targets = [f"{spec[0]}:{PORT}" for spec in INSTANCES.values()]
    proc = subprocess.run(
        [
            *(ansible, "localhost", "-c", "local", "-m", "winhardening.smb.smb_signing_probe"),
            *("-a", json.dumps({"targets": targets, "check_smb1": True})),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal"),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.split("=>", 1)[1])
    assert result["relay_list"] == [f"127.0.6.21:{PORT}", f"127.0.6.24:{PORT}"]
    assert result["unverified"] == []
    assert result["summary"]["smb1_enabled"] == 3
    by_address = {e["address"]: e for e in result["endpoints"]}
    assert by_address["127.0.6.23"]["smb1_enabled"] is False
    assert by_address["127.0.6.22"]["smb1_signing_required"] is True
