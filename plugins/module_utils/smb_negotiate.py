# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wire probe: does an SMB server require signing, as an auditor sees it from the network.

One SMB2 NEGOTIATE per endpoint (no credentials, one round trip). If the server closes the
connection without answering, which is what an SMB1-only server does with an SMB2 request, a
second connection sends an SMB1 NEGOTIATE so such servers are classified rather than lost.

Why our own client (see smb_wire for the bytes) rather than smbprotocol, impacket or nmap:
- module_utils must be standard-library only; it is shipped to wherever the module runs.
- smbprotocol's ``Connection`` trusts the 4-byte length (about 1.2 GB allocated when an HTTP server
  answers), starts a worker thread per connection, raises OSError/ValueError/struct.error on
  hostile peers and costs 6-7x our client CPU per probe (GIL-bound; threads do not help).
- impacket's isSigningRequired() is wrong for every SMB 3.1.1 server (forced True).
- nmap spends a fixed 10 s per operation on a silent host and prints nothing when it fails.

Every probe is bounded: one overall deadline covers connect, both attempts and every read (a
server trickling one byte at a time cannot stretch it), and at most MAX_FRAME bytes are buffered.
The only unbounded step is name resolution in the sync probe (getaddrinfo has no timeout); the
async probe stops waiting for it at the deadline.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ansible_collections.winhardening.smb.plugins.module_utils.smb_wire import (
    SMB1_NEGOTIATE,
    SMB2_NEGOTIATE,
    NegotiateAnswer,
    WireError,
    frame_length,
    parse_response,
)

ERROR_KINDS = ("refused", "timeout", "closed", "garbage", "status")


@dataclass(frozen=True)
class ProbeResult:
    """What one endpoint told us. ``error`` is None on success, else one of ERROR_KINDS.

    ``reachable`` means the TCP connection was accepted; the signing fields are None unless the
    endpoint answered a negotiate. ``security_mode`` is the raw SecurityMode of the answer that
    was used (SMB2 bits 0x01/0x02, or SMB1 bits 0x04/0x08 when ``dialect`` is "SMB1").
    """

    address: str
    port: int
    reachable: bool
    dialect: Optional[str]
    signing_enabled: Optional[bool]
    signing_required: Optional[bool]
    server_guid: Optional[str]
    signing_algorithm: Optional[str]
    smb1_security_mode: Optional[int]
    error: Optional[str]
    detail: str
    elapsed: float
    security_mode: Optional[int] = None

    def to_dict(self) -> Dict[str, Any]:
        """Plain data for module results and facts."""
        return asdict(self)


class _Progress:
    """How far a probe got, so a timeout can say where it stopped."""

    def __init__(self) -> None:
        self.reachable = False
        self.phase = "connecting"
        self.received = 0


class _ClosedEarly(Exception):
    """The peer closed before sending a single byte of the answer."""


def _success(host: str, port: int, started: float, answer: NegotiateAnswer) -> ProbeResult:
    req = "required" if answer.signing_required else "not required"
    label = answer.dialect if answer.dialect == "SMB1" else "SMB " + answer.dialect
    detail = f"{label}, signing {req} (SecurityMode 0x{answer.security_mode:02x})"
    if answer.note:
        detail += "; " + answer.note
    return ProbeResult(
        address=host,
        port=port,
        reachable=True,
        dialect=answer.dialect,
        signing_enabled=answer.signing_enabled,
        signing_required=answer.signing_required,
        server_guid=answer.server_guid,
        signing_algorithm=answer.signing_algorithm,
        smb1_security_mode=answer.smb1_security_mode,
        error=None,
        detail=detail,
        elapsed=round(time.monotonic() - started, 6),
        security_mode=answer.security_mode,
    )


def _failure(
    host: str, port: int, started: float, progress: _Progress, error: WireError
) -> ProbeResult:
    return ProbeResult(
        address=host,
        port=port,
        reachable=progress.reachable,
        dialect=None,
        signing_enabled=None,
        signing_required=None,
        server_guid=None,
        signing_algorithm=None,
        smb1_security_mode=None,
        error=error.kind,
        detail=error.detail,
        elapsed=round(time.monotonic() - started, 6),
    )


def _connect_error(exc: OSError) -> WireError:
    if isinstance(exc, socket.gaierror):
        return WireError("refused", f"could not resolve the name: {exc}")
    if isinstance(exc, ConnectionRefusedError):
        return WireError("refused", "connection refused")
    return WireError("refused", f"could not connect: {exc.strerror or exc}")


def _unexpected(exc: Exception) -> WireError:
    return WireError("garbage", f"unexpected answer ({type(exc).__name__}: {exc})")


def _timeout(deadline: float, progress: _Progress) -> WireError:
    return WireError(
        "timeout",
        f"no answer within the {deadline:.3g} s deadline while {progress.phase} "
        f"({progress.received} bytes received)",
    )


# ---------------------------------------------------------------------------------------------
# asyncio


async def _read_answer_async(reader: asyncio.StreamReader, progress: _Progress) -> bytes:
    try:
        head = await reader.readexactly(4)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise _ClosedEarly() from None
        raise WireError("closed", f"closed after {len(exc.partial)} of 4 header bytes") from None
    except ConnectionError:
        raise _ClosedEarly() from None
    progress.received = 4
    length = frame_length(head)
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise WireError(
            "closed", f"closed after {len(exc.partial)} of {length} bytes of the answer"
        ) from None
    except ConnectionError as exc:
        raise WireError("closed", f"connection reset during the answer: {exc}") from None


async def _exchange_async(host: str, port: int, request: bytes, progress: _Progress) -> bytes:
    progress.phase = "connecting"
    progress.received = 0
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        raise _connect_error(exc) from None
    progress.reachable = True
    try:
        progress.phase = "waiting for the negotiate answer"
        writer.write(request)
        return await _read_answer_async(reader, progress)
    finally:
        writer.transport.abort()


async def _probe_async(host: str, port: int, progress: _Progress) -> NegotiateAnswer:
    try:
        msg = await _exchange_async(host, port, SMB2_NEGOTIATE, progress)
        return parse_response(msg, smb1_expected=False)
    except _ClosedEarly:
        pass
    progress.phase = "retrying with SMB1"
    try:
        msg = await _exchange_async(host, port, SMB1_NEGOTIATE, progress)
    except _ClosedEarly:
        raise WireError("closed", "closed without answering SMB2 or SMB1 negotiate") from None
    return parse_response(msg, smb1_expected=True)


async def probe_endpoint_async(host: str, port: int = 445, deadline: float = 3.0) -> ProbeResult:
    """Probe one endpoint within ``deadline`` seconds overall. Never raises (except on cancel)."""
    started = time.monotonic()
    progress = _Progress()
    try:
        answer = await asyncio.wait_for(_probe_async(host, port, progress), timeout=deadline)
    except asyncio.TimeoutError:
        return _failure(host, port, started, progress, _timeout(deadline, progress))
    except WireError as exc:
        return _failure(host, port, started, progress, exc)
    except (OSError, EOFError) as exc:
        return _failure(host, port, started, progress, WireError("closed", f"{exc}"))
    except Exception as exc:  # the contract is "never raises": a parser slip is still classified
        return _failure(host, port, started, progress, _unexpected(exc))
    return _success(host, port, started, answer)


# ---------------------------------------------------------------------------------------------
# blocking sockets (one endpoint, no event loop: what the fact gatherer needs per host)


def _recv_exactly(sock: socket.socket, n: int, end: float, progress: _Progress) -> bytes:
    chunks: List[bytes] = []
    got = 0
    while got < n:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        sock.settimeout(remaining)
        chunk = sock.recv(n - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
        progress.received += len(chunk)
    return b"".join(chunks)


def _exchange_sync(host: str, port: int, request: bytes, end: float, progress: _Progress) -> bytes:
    progress.phase = "connecting"
    progress.received = 0
    remaining = end - time.monotonic()
    if remaining <= 0:
        raise socket.timeout()
    try:
        sock = socket.create_connection((host, port), timeout=remaining)
    except socket.timeout:
        raise
    except OSError as exc:
        raise _connect_error(exc) from None
    progress.reachable = True
    try:
        progress.phase = "waiting for the negotiate answer"
        sock.sendall(request)
        try:
            head = _recv_exactly(sock, 4, end, progress)
        except ConnectionError:
            raise _ClosedEarly() from None
        if not head:
            raise _ClosedEarly()
        if len(head) < 4:
            raise WireError("closed", f"closed after {len(head)} of 4 header bytes")
        length = frame_length(head)
        try:
            msg = _recv_exactly(sock, length, end, progress)
        except ConnectionError as exc:
            raise WireError("closed", f"connection reset during the answer: {exc}") from None
        if len(msg) < length:
            raise WireError("closed", f"closed after {len(msg)} of {length} bytes of the answer")
        return msg
    finally:
        sock.close()


def probe_endpoint(host: str, port: int = 445, deadline: float = 3.0) -> ProbeResult:
    """Blocking probe of one endpoint within ``deadline`` seconds overall. Never raises."""
    started = time.monotonic()
    end = started + deadline
    progress = _Progress()
    try:
        try:
            msg = _exchange_sync(host, port, SMB2_NEGOTIATE, end, progress)
            answer = parse_response(msg, smb1_expected=False)
        except _ClosedEarly:
            progress.phase = "retrying with SMB1"
            try:
                msg = _exchange_sync(host, port, SMB1_NEGOTIATE, end, progress)
            except _ClosedEarly:
                raise WireError(
                    "closed", "closed without answering SMB2 or SMB1 negotiate"
                ) from None
            answer = parse_response(msg, smb1_expected=True)
    except socket.timeout:
        return _failure(host, port, started, progress, _timeout(deadline, progress))
    except WireError as exc:
        return _failure(host, port, started, progress, exc)
    except OSError as exc:
        return _failure(host, port, started, progress, WireError("closed", f"{exc}"))
    except Exception as exc:  # the contract is "never raises": a parser slip is still classified
        return _failure(host, port, started, progress, _unexpected(exc))
    return _success(host, port, started, answer)


# ---------------------------------------------------------------------------------------------
# many endpoints


async def probe_many_async(
    endpoints: Sequence[Tuple[str, int]], concurrency: int = 64, deadline: float = 3.0
) -> List[ProbeResult]:
    """Probe endpoints with at most ``concurrency`` connections in flight; input order kept."""
    results: List[Optional[ProbeResult]] = [None] * len(endpoints)
    next_index = iter(range(len(endpoints)))

    async def worker() -> None:
        for i in next_index:
            host, port = endpoints[i]
            results[i] = await probe_endpoint_async(host, port, deadline)

    workers = max(1, min(concurrency, len(endpoints)))
    await asyncio.gather(*(worker() for _worker in range(workers)))
    return [r for r in results if r is not None]


def probe_many(
    endpoints: Iterable[Tuple[str, int]], concurrency: int = 64, deadline: float = 3.0
) -> List[ProbeResult]:
    """Blocking wrapper around probe_many_async, usable from inside a running event loop too."""
    items = list(endpoints)
    if not items:
        return []
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(probe_many_async(items, concurrency, deadline))
    # Called from a coroutine (asyncio.run would refuse): run on a private loop in a thread.
    box: List[List[ProbeResult]] = []
    thread = threading.Thread(
        target=lambda: box.append(asyncio.run(probe_many_async(items, concurrency, deadline))),
        name="smb-probe",
    )
    thread.start()
    thread.join()
    return box[0]


def format_endpoint(address: str, port: int) -> str:
    """host:port, with IPv6 literals in brackets."""
    if ":" in address:
        return f"[{address}]:{port}"
    return f"{address}:{port}"
