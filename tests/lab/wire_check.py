"""Ask an smbd what it negotiates, so the lab only reports a write done once the wire shows it.

smbd handles SIGHUP asynchronously: a connection accepted right after the signal can still get
the old settings (seen in about one run in three), so ``SmbFleet`` polls with these checks.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import uuid

from smbprotocol.connection import Connection


def smb2_signing_required(address: str, port: int, timeout: float = 3.0) -> bool:
    """SMB2 NEGOTIATE: SecurityMode bit 0x02, SIGNING_REQUIRED (MS-SMB2 2.2.4).

    ``require_signing=False``: otherwise smbprotocol reports its own request, not the server's
    (wire-probe-findings.md 2a).
    """
    conn = Connection(uuid.uuid4(), address, port, require_signing=False)
    try:
        conn.connect(timeout=int(max(1, timeout)))
        return bool(conn.server_security_mode & 2)
    finally:
        with contextlib.suppress(Exception):
            conn.disconnect(close=False)


def smb1_accepted(address: str, port: int, timeout: float = 3.0) -> bool:
    """Offer only "NT LM 0.12" (MS-CIFS 2.2.4.52.1): True when the server selects it."""
    header = struct.pack(
        "<4sBIBHH8sHHHHH", b"\xffSMB", 0x72, 0, 0x18, 0x4001, 0, b"\0" * 8, 0, 0, 1, 0, 1
    )
    dialects = b"\x02NT LM 0.12\x00"
    packet = header + b"\x00" + struct.pack("<H", len(dialects)) + dialects
    with socket.create_connection((address, port), timeout=timeout) as s:
        s.sendall(struct.pack(">I", len(packet)) + packet)
        try:
            reply = s.recv(512)
        except (ConnectionResetError, TimeoutError):
            return False
    if len(reply) < 39 or reply[4:8] != b"\xffSMB":
        return False
    status = struct.unpack_from("<I", reply, 9)[0]
    dialect_index = struct.unpack_from("<H", reply, 37)[0] if reply[36] else 0xFFFF
    return bool(status == 0 and dialect_index == 0)
