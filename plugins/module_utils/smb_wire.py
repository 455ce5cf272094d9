# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bytes of the SMB negotiate exchange: the two requests we send and a parser for the answers.

Why a hand-written encoder and parser instead of smbprotocol's message structures:
- module_utils is shipped to wherever the module runs, so it must be standard-library only.
- smbprotocol's ``Connection`` trusts the 4-byte Direct-TCP length and allocates it up front
  (``bytearray(0x48545450)``, about 1.2 GB, when a web server answers), runs a worker thread per
  connection and costs several times our CPU per probe (GIL-bound). Its message classes alone
  would still pull in cryptography and pyspnego.
- The exchange is one fixed request and three fields of one answer, so the code is small: every
  length here is checked against the bytes actually received before it is used.

Sources (Microsoft Open Specifications):
- MS-SMB2 2.1 Transport: Direct-TCP header, a zero byte then a 24-bit length
  (learn.microsoft.com/openspecs/windows_protocols/ms-smb2/1dfacde4-b5c7-4494-8a14-a09d3ab4cc83).
- MS-SMB2 2.2.3 NEGOTIATE Request (.../ms-smb2/e14db7ff-763a-4263-8b10-0c3944f52fc5) and 2.2.3.1
  NEGOTIATE_CONTEXT (.../ms-smb2/15332256-522e-4a53-8cd7-0bd17678a2f7); 2.2.3.1.7
  SMB2_SIGNING_CAPABILITIES, IDs 0 HMAC-SHA256, 1 AES-CMAC, 2 AES-GMAC
  (.../ms-smb2/cb9b5d66-b6be-4d18-aa66-8784a871cc10).
- MS-SMB2 2.2.4 NEGOTIATE Response (.../ms-smb2/63abf97c-0d09-47e2-88d6-6bfa552949a5):
  SecurityMode at body offset 2, DialectRevision at 4, ServerGuid at 8, NegotiateContextOffset
  (from the start of the SMB2 header) at 60. Server processing
  (.../ms-smb2/00a5a917-e5f9-4d31-a0d5-a5ee7209c61f): SIGNING_ENABLED (0x01) is always set and
  SIGNING_REQUIRED (0x02) is set when RequireMessageSigning is TRUE.
- MS-CIFS 3.2.4.2.2 Dialect Negotiation (.../ms-cifs/0509a819-3896-4294-8fb2-0f299770a8e4):
  SMB1 SecurityMode 0x04 signatures enabled, 0x08 signatures required.
"""

from __future__ import annotations

import os
import struct
import uuid
from dataclasses import dataclass
from typing import Optional

# Bounds on a negotiate response. The smallest valid SMB2 answer is a 64-byte header plus the
# 64-byte fixed body; 32 keeps short SMB1 errors classifiable. Windows and Samba answer in well
# under 1 KiB; 64 KiB is the most we are ever willing to buffer for one endpoint.
MIN_FRAME = 32
MAX_FRAME = 65536

SMB2_MAGIC = b"\xfeSMB"
SMB1_MAGIC = b"\xffSMB"
SMB2_HEADER_LEN = 64
SMB1_HEADER_LEN = 32

DIALECTS = {
    0x0202: "2.0.2",
    0x0210: "2.1",
    0x0300: "3.0",
    0x0302: "3.0.2",
    0x0311: "3.1.1",
    0x02FF: "2.???",
}
OFFERED_DIALECTS = (0x0202, 0x0210, 0x0300, 0x0302, 0x0311)

SIGNING_ALGORITHMS = {0: "HMAC-SHA256", 1: "AES-CMAC", 2: "AES-GMAC"}

NT_STATUS_NAMES = {
    0xC0000001: "STATUS_UNSUCCESSFUL",
    0xC0000002: "STATUS_NOT_IMPLEMENTED",
    0xC000000D: "STATUS_INVALID_PARAMETER",
    0xC0000022: "STATUS_ACCESS_DENIED",
    0xC00000BB: "STATUS_NOT_SUPPORTED",
    0xC0000205: "STATUS_INSUFF_SERVER_RESOURCES",
}

_CTX_PREAUTH = 0x0001
_CTX_ENCRYPTION = 0x0002
_CTX_SIGNING = 0x0008
_MAX_CONTEXTS = 16  # MS-SMB2 defines fewer than ten context types; more is not a sane answer.


class WireError(Exception):
    """A classified failure: ``kind`` is one of smb_negotiate.ERROR_KINDS."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class NoCommonDialect(WireError):
    """An SMB1 server that answered but accepted none of the offered dialects: it speaks SMB1
    framing yet refuses the SMB1 dialect, which is how SMB2-only servers answer an SMB1 request."""

    def __init__(self) -> None:
        super().__init__("status", "SMB1 server accepted none of the offered dialects")


@dataclass(frozen=True)
class NegotiateAnswer:
    """What one negotiate response tells us about the server's signing policy."""

    dialect: str
    security_mode: int
    signing_enabled: bool
    signing_required: bool
    server_guid: Optional[str]
    signing_algorithm: Optional[str]
    smb1_security_mode: Optional[int]
    note: str


def _align8(n: int) -> int:
    return (n + 7) & ~7


def _context(ctype: int, data: bytes) -> bytes:
    return struct.pack("<HHI", ctype, len(data), 0) + data


def build_smb2_negotiate(client_guid: bytes, salt: bytes) -> bytes:
    """An SMB2 NEGOTIATE offering 2.0.2 to 3.1.1, with the contexts 3.1.1 requires, framed."""
    header = struct.pack(
        "<4sHHIHHIIQIIQ16s",
        SMB2_MAGIC,
        SMB2_HEADER_LEN,
        0,  # CreditCharge
        0,  # Status
        0,  # Command: NEGOTIATE
        1,  # CreditRequest
        0,  # Flags
        0,  # NextCommand
        0,  # MessageId
        0,  # Reserved (ProcessId)
        0,  # TreeId
        0,  # SessionId
        b"\x00" * 16,
    )
    dialects = struct.pack(f"<{len(OFFERED_DIALECTS)}H", *OFFERED_DIALECTS)
    contexts = [
        # SHA-512 is the only preauth hash MS-SMB2 defines; 3.1.1 needs this context.
        _context(_CTX_PREAUTH, struct.pack("<HHH", 1, len(salt), 0x0001) + salt),
        _context(_CTX_ENCRYPTION, struct.pack("<HHH", 2, 0x0002, 0x0001)),
        _context(_CTX_SIGNING, struct.pack("<HHHH", 3, 2, 1, 0)),
    ]
    fixed_len = 36
    ctx_offset = _align8(SMB2_HEADER_LEN + fixed_len + len(dialects))
    body = struct.pack(
        "<HHHHI16sIHH",
        36,  # StructureSize
        len(OFFERED_DIALECTS),
        0x0001,  # SecurityMode: SIGNING_ENABLED (never REQUIRED, so the server's bit is its own)
        0,
        0,  # Capabilities
        client_guid,
        ctx_offset,
        len(contexts),
        0,
    )
    msg = header + body + dialects
    msg += b"\x00" * (ctx_offset - len(msg))
    for i, ctx in enumerate(contexts):
        if i:
            msg += b"\x00" * (_align8(len(msg)) - len(msg))
        msg += ctx
    return frame(msg)


def build_smb1_negotiate() -> bytes:
    """An SMB1 NEGOTIATE offering only "NT LM 0.12", framed."""
    header = struct.pack(
        "<4sBIBHH8sHHHHH",
        SMB1_MAGIC,
        0x72,  # SMB_COM_NEGOTIATE
        0,  # Status
        0x18,  # Flags: case-insensitive, canonicalized paths
        0xC801,  # Flags2: unicode, NT status, extended security, long names
        0,
        b"\x00" * 8,
        0,
        0xFFFF,  # TID
        os.getpid() & 0xFFFF,
        0,
        0,
    )
    dialect = b"\x02NT LM 0.12\x00"
    return frame(header + struct.pack("<BH", 0, len(dialect)) + dialect)


def frame(message: bytes) -> bytes:
    """Prefix a message with the Direct-TCP header."""
    return struct.pack(">I", len(message)) + message


def frame_length(head: bytes) -> int:
    """Length announced by a 4-byte Direct-TCP header, or WireError(garbage) if implausible."""
    if len(head) != 4 or head[0] != 0:
        raise WireError("garbage", f"not a Direct-TCP header: {head[:4]!r}")
    length = int.from_bytes(head[1:4], "big")
    if not MIN_FRAME <= length <= MAX_FRAME:
        raise WireError(
            "garbage", f"implausible length {length} (allowed {MIN_FRAME}..{MAX_FRAME})"
        )
    return length


def _guid(raw: bytes) -> str:
    return str(uuid.UUID(bytes_le=raw))


def _status_error(status: int) -> WireError:
    name = NT_STATUS_NAMES.get(status, "NT status")
    return WireError("status", f"{name} 0x{status:08x}")


def _signing_algorithm(msg: bytes, count: int, offset: int) -> tuple[Optional[str], str]:
    """Walk the 3.1.1 response contexts; never trust a length that runs past the message."""
    pos = offset
    for _context_no in range(min(count, _MAX_CONTEXTS)):
        if pos + 8 > len(msg):
            return None, "negotiate contexts truncated"
        ctype, dlen = struct.unpack_from("<HH", msg, pos)
        data = msg[pos + 8 : pos + 8 + dlen]
        if len(data) != dlen:
            return None, f"negotiate context {ctype} runs past the message"
        if ctype == _CTX_SIGNING:
            if dlen < 4:
                return None, "signing context too short"
            n, algo = struct.unpack_from("<HH", data, 0)
            if n < 1:
                return None, "signing context lists no algorithm"
            return SIGNING_ALGORITHMS.get(algo, f"unknown (0x{algo:04x})"), ""
        pos = _align8(pos + 8 + dlen)
    return None, ""


def parse_smb2_response(msg: bytes) -> NegotiateAnswer:
    """Read an SMB2 NEGOTIATE response (without its Direct-TCP header)."""
    if len(msg) < SMB2_HEADER_LEN:
        raise WireError("garbage", f"SMB2 message of {len(msg)} bytes is shorter than a header")
    structure_size, _credit, status, command = struct.unpack_from("<HHIH", msg, 4)
    if structure_size != SMB2_HEADER_LEN or command != 0:
        raise WireError(
            "garbage",
            f"not an SMB2 NEGOTIATE response (command {command}, header {structure_size})",
        )
    if status != 0:
        raise _status_error(status)
    body = msg[SMB2_HEADER_LEN:]
    if len(body) < 64:
        raise WireError("garbage", f"SMB2 NEGOTIATE body of {len(body)} bytes is too short")
    body_size, security_mode, dialect_rev, ctx_count = struct.unpack_from("<HHHH", body, 0)
    if body_size != 65:
        raise WireError("garbage", f"SMB2 NEGOTIATE body StructureSize {body_size}, expected 65")
    (ctx_offset,) = struct.unpack_from("<I", body, 60)
    dialect = DIALECTS.get(dialect_rev, f"0x{dialect_rev:04x}")
    algorithm, note = None, ""
    if dialect_rev == 0x0311 and ctx_count:
        algorithm, note = _signing_algorithm(msg, ctx_count, ctx_offset)
    return NegotiateAnswer(
        dialect=dialect,
        security_mode=security_mode,
        signing_enabled=bool(security_mode & 0x01),
        signing_required=bool(security_mode & 0x02),
        server_guid=_guid(body[8:24]),
        signing_algorithm=algorithm,
        smb1_security_mode=None,
        note=note,
    )


def parse_smb1_response(msg: bytes) -> NegotiateAnswer:
    """Read an SMB1 NEGOTIATE response to our single-dialect "NT LM 0.12" request."""
    if len(msg) < SMB1_HEADER_LEN + 1:
        raise WireError("garbage", f"SMB1 message of {len(msg)} bytes is shorter than a header")
    command, status = struct.unpack_from("<BI", msg, 4)
    if command != 0x72:
        raise WireError("garbage", f"SMB1 command 0x{command:02x} is not NEGOTIATE")
    if status != 0:
        raise _status_error(status)
    word_count = msg[SMB1_HEADER_LEN]
    words = msg[SMB1_HEADER_LEN + 1 : SMB1_HEADER_LEN + 1 + 2 * word_count]
    if len(words) >= 2 and struct.unpack_from("<H", words, 0)[0] == 0xFFFF:
        raise NoCommonDialect()
    if word_count != 17 or len(words) != 34:
        raise WireError("garbage", f"SMB1 NEGOTIATE response with {word_count} words, expected 17")
    security_mode = words[2]
    (capabilities,) = struct.unpack_from("<I", words, 19)
    guid = None
    data = msg[SMB1_HEADER_LEN + 1 + 34 + 2 :]
    # MS-SMB 2.2.4.5.2: with CAP_EXTENDED_SECURITY the data starts with the 16-byte ServerGUID.
    if capabilities & 0x80000000 and len(data) >= 16:
        guid = _guid(data[:16])
    return NegotiateAnswer(
        dialect="SMB1",
        security_mode=security_mode,
        signing_enabled=bool(security_mode & 0x04),
        signing_required=bool(security_mode & 0x08),
        server_guid=guid,
        signing_algorithm=None,
        smb1_security_mode=security_mode,
        note="",
    )


def parse_response(msg: bytes, smb1_expected: bool) -> NegotiateAnswer:
    """Dispatch on the protocol magic; anything else is garbage."""
    magic = msg[:4]
    if magic == SMB2_MAGIC and not smb1_expected:
        return parse_smb2_response(msg)
    if magic == SMB1_MAGIC:
        return parse_smb1_response(msg)
    raise WireError("garbage", f"not an SMB answer: {msg[:8]!r}")


SMB2_NEGOTIATE = build_smb2_negotiate(uuid.uuid4().bytes, os.urandom(32))
SMB1_NEGOTIATE = build_smb1_negotiate()
