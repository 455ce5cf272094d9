"""The negotiate a real client sees follows the simulated host (real Samba, real SMB)."""

from __future__ import annotations

import socket
import struct
import uuid
from typing import Iterator

import pytest
from smbprotocol.connection import Connection

from lab.client import LabClient
from lab.lifecycle import running_lab
from lab.tests._helpers import apply

pytestmark = pytest.mark.lab


def server_requires_signing(lab: LabClient, host: str) -> bool:
    """SMB2 NEGOTIATE through smbprotocol: SecurityMode & 0x02 is SIGNING_REQUIRED (MS-SMB2
    2.2.4). require_signing=False, or smbprotocol reports its own wish (wire-probe-findings)."""
    conn = Connection(uuid.uuid4(), lab.address(host), lab.fleet["smb_port"], require_signing=False)
    try:
        conn.connect(timeout=5)
        return bool(conn.server_security_mode & 2)
    finally:
        conn.disconnect(close=False)


def smb1_answers(lab: LabClient, host: str) -> bool:
    """Offer only "NT LM 0.12" (MS-CIFS 2.2.4.52): an smbd that allows NT1 selects it (dialect
    index 0); one limited to SMB2+ refuses (an error status, index 0xFFFF, or a closed
    connection)."""
    header = struct.pack(
        "<4sBIBHH8sHHHHH", b"\xffSMB", 0x72, 0, 0x18, 0x4001, 0, b"\0" * 8, 0, 0, 1, 0, 1
    )
    dialects = b"\x02NT LM 0.12\x00"
    body = b"\x00" + struct.pack("<H", len(dialects)) + dialects
    packet = header + body
    with socket.create_connection((lab.address(host), lab.fleet["smb_port"]), timeout=5) as s:
        s.sendall(struct.pack(">I", len(packet)) + packet)
        try:
            reply = s.recv(512)
        except ConnectionResetError:
            return False
    if len(reply) < 39 or reply[4:8] != b"\xffSMB":
        return False
    status = struct.unpack_from("<I", reply, 9)[0]
    dialect_index = struct.unpack_from("<H", reply, 37)[0] if reply[36] else 0xFFFF
    return status == 0 and dialect_index == 0


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabClient]:
    fleet = {
        "hosts": [
            {"name": "dc", "os": "windows_server_2019", "domain_role": 5},
            {"name": "member", "os": "windows_server_2022", "domain_role": 3},
            {"name": "old", "os": "windows_server_2016", "domain_role": 3, "smb1": True},
        ]
    }
    with running_lab(fleet, tmp_path_factory.mktemp("wire")) as client:
        yield client


def test_signing_flips_after_a_write(lab: LabClient) -> None:
    assert server_requires_signing(lab, "member") is False
    apply(lab, "member", {"server": {"RequireSecuritySignature": True}})
    assert server_requires_signing(lab, "member") is True
    apply(lab, "member", {"server": {"RequireSecuritySignature": False}})
    assert server_requires_signing(lab, "member") is False


def test_policy_refresh_reverts_a_local_change_on_the_wire(lab: LabClient) -> None:
    assert server_requires_signing(lab, "dc") is True  # Default Domain Controllers Policy
    apply(lab, "dc", {"server": {"RequireSecuritySignature": False}})
    assert server_requires_signing(lab, "dc") is False
    result = lab.policy_refresh("dc")
    assert result["reverted"] == ["server.RequireSecuritySignature"]
    assert server_requires_signing(lab, "dc") is True


def test_smb1_follows_the_model(lab: LabClient) -> None:
    assert smb1_answers(lab, "old") is True
    assert smb1_answers(lab, "member") is False
    apply(lab, "old", {"server": {"EnableSMB1Protocol": False}})
    assert smb1_answers(lab, "old") is False


def test_samba_can_be_made_to_disagree(lab: LabClient) -> None:
    lab.set("member", "wire_signing=true")
    assert (
        lab.model("member")["registry"]["server"].get("RequireSecuritySignature", {}).get("data", 0)
        == 0
    )
    assert server_requires_signing(lab, "member") is True
    lab.set("member", "wire_signing=model")
    assert server_requires_signing(lab, "member") is False


def test_shared_smbd_moves_a_host_between_policies(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    hosts = [{"name": f"h{i}", "os": "windows_server_2022", "domain_role": 3} for i in range(6)]
    with running_lab(
        {"shared_smbd": True, "hosts": hosts}, tmp_path_factory.mktemp("shared")
    ) as lab:
        assert len(lab.status()["smbd_pids"]) == 1  # one smbd owns all six addresses
        apply(lab, "h3", {"server": {"RequireSecuritySignature": True}})
        assert len(lab.status()["smbd_pids"]) == 2
        assert [server_requires_signing(lab, f"h{i}") for i in range(6)] == [
            False,
            False,
            False,
            True,
            False,
            False,
        ]
