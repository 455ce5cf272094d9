"""The negotiate encoder and parser, on captured Samba answers and on hostile bytes."""

from __future__ import annotations

import struct

import pytest
from samba_captures import SAMBA_311_REQUIRED as SAMBA_311

from ansible_collections.winhardening.smb.plugins.module_utils import smb_wire as w

# 2.1, signing auto (SecurityMode 0x01).
SAMBA_210 = bytes.fromhex(
    "000000cafe534d42400000000000000000000100010000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000041000100100200006361706175746f0000000000"
    "00000000070000000000800000008000000080003c3e123c727cdd01000000000000000080004a0000000000"
    "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b246e6f745f6465"
    "66696e65645f696e5f5246433431373840706c656173655f69676e6f7265"
)
# SMB1 (NT1 only), signing auto: SecurityMode 0x07, extended security.
SAMBA_SMB1 = bytes.fromhex(
    "0000009fff534d4272000000008801c8000000000000000000000000ffff002f000000001100000732000100"
    "0441000000000100122f0000fcf380808956113c727cdd010000005a00636170736d62310000000000000000"
    "00604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b246e6f745f64"
    "6566696e65645f696e5f5246433431373840706c656173655f69676e6f7265"
)


def _body(framed: bytes) -> bytes:
    assert w.frame_length(framed[:4]) == len(framed) - 4
    return framed[4:]


def test_captured_311_answer() -> None:
    a = w.parse_response(_body(SAMBA_311), smb1_expected=False)
    assert (a.dialect, a.security_mode, a.signing_enabled, a.signing_required) == (
        "3.1.1",
        3,
        True,
        True,
    )
    assert a.signing_algorithm == "AES-GMAC"
    # Samba derives its GUID from the netbios name ("CAPMAND"); MS-DTYP packs Data1 little-endian.
    assert a.server_guid == "6d706163-6e61-0064-0000-000000000000"
    assert a.note == ""


def test_captured_21_answer_has_no_algorithm() -> None:
    a = w.parse_response(_body(SAMBA_210), smb1_expected=False)
    assert (a.dialect, a.signing_required, a.signing_algorithm) == ("2.1", False, None)


def test_captured_smb1_answer() -> None:
    a = w.parse_response(_body(SAMBA_SMB1), smb1_expected=True)
    assert (a.dialect, a.smb1_security_mode, a.signing_enabled, a.signing_required) == (
        "SMB1",
        0x07,
        True,
        False,
    )
    assert a.server_guid is not None


@pytest.mark.parametrize(
    ("mode", "enabled", "required"), [(0x03, True, True), (0x07, True, False), (0x0F, True, True)]
)
def test_smb1_bits(mode: int, enabled: bool, required: bool) -> None:
    msg = bytearray(_body(SAMBA_SMB1))
    msg[w.SMB1_HEADER_LEN + 1 + 2] = mode
    a = w.parse_smb1_response(bytes(msg))
    # 0x03 is "signing disabled": only bits 0x04 (enabled) and 0x08 (required) count.
    assert a.signing_enabled == bool(mode & 0x04)
    assert a.signing_required == bool(mode & 0x08)
    assert (a.signing_enabled, a.signing_required) == (
        (False, False) if mode == 0x03 else (enabled, required)
    )


def test_request_layout() -> None:
    """Offsets MS-SMB2 2.2.3 fixes, read back from the bytes we send."""
    msg = _body(w.SMB2_NEGOTIATE)
    assert msg[:4] == b"\xfeSMB"
    size, count, mode = struct.unpack_from("<HHH", msg, 64)
    assert (size, count, mode) == (36, 5, 0x0001)  # signing enabled, never required
    ctx_offset, ctx_count = struct.unpack_from("<IH", msg, 64 + 28)
    assert ctx_offset % 8 == 0
    assert ctx_count == 3
    dialects = struct.unpack_from("<5H", msg, 64 + 36)
    assert dialects == w.OFFERED_DIALECTS
    types = []
    pos = ctx_offset
    for _ in range(ctx_count):
        ctype, dlen = struct.unpack_from("<HH", msg, pos)
        types.append(ctype)
        pos = (pos + 8 + dlen + 7) & ~7
    assert types == [1, 2, 8]


def test_smb1_request_offers_only_nt_lm() -> None:
    msg = _body(w.SMB1_NEGOTIATE)
    assert msg[:5] == b"\xffSMBr"
    assert msg.endswith(b"\x02NT LM 0.12\x00")


@pytest.mark.parametrize(
    "head",
    [b"HTTP", b"\x00\xff\xff\xff", b"\x00\x00\x00\x00", b"\x00\x00\x00\x1f", b"\x01\x00\x00\x40"],
)
def test_frame_length_rejects_implausible_headers(head: bytes) -> None:
    with pytest.raises(w.WireError) as info:
        w.frame_length(head)
    assert info.value.kind == "garbage"


def test_frame_length_bounds_are_inclusive() -> None:
    assert w.frame_length(b"\x00\x00\x00\x20") == 32
    assert w.frame_length(b"\x00\x01\x00\x00") == 65536


def _error_message(status: int) -> bytes:
    msg = bytearray(_body(SAMBA_210))
    struct.pack_into("<I", msg, 8, status)
    return bytes(msg)


def test_status_is_classified_and_named() -> None:
    with pytest.raises(w.WireError) as info:
        w.parse_response(_error_message(0xC00000BB), smb1_expected=False)
    assert info.value.kind == "status"
    assert "STATUS_NOT_SUPPORTED" in info.value.detail


@pytest.mark.parametrize("cut", [0, 10, 63, 64, 100, 127])
def test_truncated_smb2_is_garbage(cut: int) -> None:
    with pytest.raises(w.WireError) as info:
        w.parse_response(_body(SAMBA_311)[:cut], smb1_expected=False)
    assert info.value.kind == "garbage"


def test_wrong_command_is_garbage() -> None:
    msg = bytearray(_body(SAMBA_210))
    struct.pack_into("<H", msg, 12, 1)  # SESSION_SETUP
    with pytest.raises(w.WireError, match="command 1"):
        w.parse_response(bytes(msg), smb1_expected=False)


def test_smb1_junk_is_garbage() -> None:
    junk = b"\xffSMB\x72" + b"\x00" * 31 + b"\x00\x00\x00"
    with pytest.raises(w.WireError) as info:
        w.parse_response(junk, smb1_expected=False)
    assert info.value.kind == "garbage"


def test_smb1_no_common_dialect_is_status() -> None:
    msg = bytearray(_body(SAMBA_SMB1)[: w.SMB1_HEADER_LEN])
    msg += b"\x01\xff\xff\x00\x00"
    with pytest.raises(w.WireError) as info:
        w.parse_smb1_response(bytes(msg))
    assert info.value.kind == "status"


def _with_contexts(cut: int, count: int, tail: bytes, announced: int | None = None) -> bytes:
    """The captured 3.1.1 answer cut at ``cut``, with ``tail`` as its contexts."""
    msg = bytearray(_body(SAMBA_311))
    struct.pack_into("<H", msg, 64 + 6, count)
    struct.pack_into("<I", msg, 64 + 60, cut if announced is None else announced)
    return bytes(msg[:cut]) + tail


@pytest.mark.parametrize(
    ("offset", "count", "tail", "note"),
    [
        (0xD0, 3, b"", "truncated"),  # contexts announced, none present
        (0xD0, 1, struct.pack("<HHI", 8, 200, 0) + b"\x01\x00", "runs past"),
        (0xD0, 1, struct.pack("<HHI", 8, 2, 0) + b"\x01\x00", "too short"),
        (0xD0, 1, struct.pack("<HHI", 8, 4, 0) + b"\x00\x00\x02\x00", "no algorithm"),
        (0xFFFFFFF0, 2, b"", "truncated"),  # offset far past the message
    ],
)
def test_malformed_contexts_do_not_fail_the_probe(
    offset: int, count: int, tail: bytes, note: str
) -> None:
    a = w.parse_smb2_response(_with_contexts(0xD0, count, tail, announced=offset))
    assert a.signing_required is True
    assert a.signing_algorithm is None
    assert note in a.note


def test_context_count_is_capped() -> None:
    # 60000 announced contexts of 8 bytes each: the walk stops at _MAX_CONTEXTS, not at 60000.
    filler = struct.pack("<HHI", 0x7777, 0, 0) * 20
    a = w.parse_smb2_response(_with_contexts(0xD0, 60000, filler))
    assert a.signing_algorithm is None
    assert a.note == ""


def test_unknown_algorithm_and_dialect_are_reported_not_dropped() -> None:
    tail = struct.pack("<HHI", 8, 4, 0) + struct.pack("<HH", 1, 9)
    msg = bytearray(_with_contexts(0xD0, 1, tail))
    assert w.parse_smb2_response(bytes(msg)).signing_algorithm == "unknown (0x0009)"
    struct.pack_into("<H", msg, 64 + 4, 0x0399)
    assert w.parse_smb2_response(bytes(msg)).dialect == "0x0399"
