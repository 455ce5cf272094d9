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
  hostile peers and costs many times our client CPU per probe (GIL-bound; threads do not
  help; bench/probe measures it).
- impacket's isSigningRequired() is wrong for every SMB 3.1.1 server (forced True).
- nmap spends a fixed 10 s per operation on a silent host and prints nothing when it fails.

Every probe is bounded: one overall deadline covers connect, both attempts and every read (a
server trickling one byte at a time cannot stretch it), and at most MAX_FRAME bytes are buffered.
The only unbounded step is name resolution in the blocking probe (getaddrinfo has no timeout);
probe_many resolves names in threads and stops waiting for them at the deadline.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
import time
from concurrent.futures import Future, ThreadPoolExecutor
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


def _closed_in_header(got: int) -> WireError:
    return WireError("closed", f"closed after {got} of 4 header bytes")


def _closed_in_answer(got: int, length: int) -> WireError:
    return WireError("closed", f"closed after {got} of {length} bytes of the answer")


def _reset_in_answer(exc: OSError) -> WireError:
    return WireError("closed", f"connection reset during the answer: {exc}")


def _closed_unanswered() -> WireError:
    return WireError("closed", "closed without answering SMB2 or SMB1 negotiate")


def _timeout(deadline: float, progress: _Progress) -> WireError:
    return WireError(
        "timeout",
        f"no answer within the {deadline:.3g} s deadline while {progress.phase} "
        f"({progress.received} bytes received)",
    )


# ---------------------------------------------------------------------------------------------
# blocking sockets (one endpoint, no selector: what the fact gatherer needs per host)


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
            raise _closed_in_header(len(head))
        length = frame_length(head)
        try:
            msg = _recv_exactly(sock, length, end, progress)
        except ConnectionError as exc:
            raise _reset_in_answer(exc) from None
        if len(msg) < length:
            raise _closed_in_answer(len(msg), length)
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
                raise _closed_unanswered() from None
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
# many endpoints: one thread, non-blocking sockets and a selector
#
# Why not asyncio: its streams cost a protocol, a transport, a reader, a writer and a task per
# connection, about 0.5 ms of CPU per probe here, twice what the blocking probe spends; the
# selector loop below spends about what the blocking probe does. It also needs no event loop,
# so it works the same when called from inside one.


class _Attempt:
    """One endpoint's probe: its deadline, how far it got, and its one socket at a time."""

    __slots__ = (
        "addresses",
        "buffer",
        "end",
        "host",
        "index",
        "length",
        "port",
        "progress",
        "resolving",
        "sent",
        "smb1",
        "sock",
        "started",
    )

    def __init__(self, index: int, host: str, port: int, deadline: float) -> None:
        self.index = index
        self.host = host
        self.port = port
        self.started = time.monotonic()
        self.end = self.started + deadline
        self.progress = _Progress()
        self.addresses: List[Tuple[Any, ...]] = []
        self.resolving: Optional[Future[Any]] = None
        self.sock: Optional[socket.socket] = None
        self.smb1 = False
        self.sent = 0
        self.buffer = bytearray()
        self.length = 0  # of the answer, once its 4-byte header is in

    @property
    def request(self) -> bytes:
        return SMB1_NEGOTIATE if self.smb1 else SMB2_NEGOTIATE


class _Multiplexer:
    """Probes endpoints with at most ``concurrency`` in flight, each within its own deadline."""

    def __init__(
        self, endpoints: Sequence[Tuple[str, int]], concurrency: int, deadline: float
    ) -> None:
        self.endpoints = endpoints
        self.concurrency = max(1, concurrency)
        self.deadline = deadline
        self.results: List[Optional[ProbeResult]] = [None] * len(endpoints)
        self.selector = selectors.DefaultSelector()
        self.active: Dict[int, _Attempt] = {}
        self.resolver: Optional[ThreadPoolExecutor] = None
        # A resolved name wakes the selector through this pair of sockets.
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self.selector.register(self.wake_r, selectors.EVENT_READ, None)

    def run(self) -> List[ProbeResult]:
        try:
            next_index = 0
            while next_index < len(self.endpoints) or self.active:
                while next_index < len(self.endpoints) and len(self.active) < self.concurrency:
                    host, port = self.endpoints[next_index]
                    self._guarded(self._start, _Attempt(next_index, host, port, self.deadline))
                    next_index += 1
                if not self.active:
                    continue
                wait = min(a.end for a in self.active.values()) - time.monotonic()
                for key, _events in self.selector.select(max(0.0, wait)):
                    if key.data is None:
                        self._drain_wake()
                    else:
                        self._step(key.data)
                now = time.monotonic()
                for attempt in [a for a in self.active.values() if a.end <= now]:
                    self._fail(attempt, _timeout(self.deadline, attempt.progress))
        finally:
            for attempt in list(self.active.values()):
                self._close(attempt)
            self.selector.close()
            self.wake_r.close()
            self.wake_w.close()
            if self.resolver is not None:
                _shutdown_now(self.resolver)
        return [r for r in self.results if r is not None]

    # -- one attempt -------------------------------------------------------------------------

    def _guarded(self, step: Any, attempt: _Attempt) -> None:
        """Run a step outside _step's handlers; the contract is "never raises" all the same."""
        try:
            step(attempt)
        except Exception as exc:
            self._fail(attempt, _unexpected(exc))

    def _start(self, attempt: _Attempt) -> None:
        self.active[attempt.index] = attempt
        try:
            # A literal address needs no name service and no thread.
            attempt.addresses = _addresses(attempt.host, attempt.port, socket.AI_NUMERICHOST)
        except socket.gaierror:
            self._resolve(attempt)
            return
        except (OSError, UnicodeError, ValueError) as exc:  # e.g. a name that is not IDNA
            self._fail(attempt, WireError("refused", f"could not resolve the name: {exc}"))
            return
        self._connect(attempt)

    def _resolve(self, attempt: _Attempt) -> None:
        """getaddrinfo has no timeout: it runs in a thread, and the deadline stops the wait."""
        if self.resolver is None:
            self.resolver = ThreadPoolExecutor(max_workers=8, thread_name_prefix="smb-probe-dns")
        attempt.progress.phase = "resolving the name"
        future = self.resolver.submit(_addresses, attempt.host, attempt.port, 0)
        attempt.resolving = future
        future.add_done_callback(self._wake)

    def _wake(self, _future: Any) -> None:
        # Full (a wake-up is already pending) or closed (the run is over): either way, done.
        with contextlib.suppress(OSError):
            self.wake_w.send(b"\0")

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):  # BlockingIOError once it is empty
            while self.wake_r.recv(4096):
                pass
        for attempt in [a for a in self.active.values() if a.resolving is not None]:
            future = attempt.resolving
            if future is None or not future.done():
                continue
            attempt.resolving = None
            try:
                attempt.addresses = future.result()
            except OSError as exc:
                self._fail(attempt, _connect_error(exc))
                continue
            except Exception as exc:  # never raises: a resolver slip is still classified
                self._fail(attempt, _unexpected(exc))
                continue
            self._guarded(self._connect, attempt)

    def _connect(self, attempt: _Attempt, last: Optional[OSError] = None) -> None:
        """Connect to the next address; once none is left, refused with the last error."""
        attempt.progress.phase = "connecting"
        attempt.progress.received = 0
        attempt.sent = 0
        attempt.length = 0
        attempt.buffer = bytearray()
        while attempt.addresses:
            family, socktype, proto, _name, sockaddr = attempt.addresses[0]
            try:
                sock = socket.socket(family, socktype, proto)
            except OSError as exc:
                last = exc
                attempt.addresses.pop(0)
                continue
            sock.setblocking(False)
            try:
                err = sock.connect_ex(sockaddr)
            except OSError as exc:  # e.g. an address family this host cannot reach
                err = exc.errno or errno.EINVAL
            if err in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
                attempt.sock = sock
                self.selector.register(sock, selectors.EVENT_WRITE, attempt)
                return
            sock.close()
            last = _errno_error(err)
            attempt.addresses.pop(0)
        self._fail(attempt, _connect_error(last or OSError("no address to connect to")))

    def _step(self, attempt: _Attempt) -> None:
        try:
            if attempt.progress.phase == "connecting":
                self._connected(attempt)
            elif attempt.sent < len(attempt.request):
                self._send(attempt)
            else:
                self._receive(attempt)
        except _ClosedEarly:
            if attempt.smb1:
                self._fail(attempt, _closed_unanswered())
                return
            # An SMB1-only server closes on an SMB2 request: ask again in SMB1.
            self._close(attempt)
            attempt.smb1 = True
            attempt.progress.phase = "retrying with SMB1"
            self._connect(attempt)
        except WireError as exc:
            self._fail(attempt, exc)
        except (OSError, EOFError) as exc:
            self._fail(attempt, WireError("closed", f"{exc}"))
        except Exception as exc:  # the contract is "never raises": a parser slip is classified
            self._fail(attempt, _unexpected(exc))

    def _connected(self, attempt: _Attempt) -> None:
        sock = attempt.sock
        if sock is None:  # closed by an earlier event of the same select round
            return
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._close(attempt)
            attempt.addresses.pop(0)
            self._connect(attempt, _errno_error(err))
            return
        attempt.progress.reachable = True
        attempt.progress.phase = "waiting for the negotiate answer"
        self._send(attempt)

    def _send(self, attempt: _Attempt) -> None:
        sock = attempt.sock
        if sock is None:  # closed by an earlier event of the same select round
            return
        try:
            attempt.sent += sock.send(attempt.request[attempt.sent :])
        except BlockingIOError:
            return
        except ConnectionError:
            raise _ClosedEarly() from None  # the peer went away before a byte of answer
        events = selectors.EVENT_WRITE
        if attempt.sent >= len(attempt.request):
            events = selectors.EVENT_READ
        self.selector.modify(sock, events, attempt)

    def _receive(self, attempt: _Attempt) -> None:
        sock = attempt.sock
        if sock is None:  # closed by an earlier event of the same select round
            return
        in_header = attempt.length == 0
        want = (4 if in_header else attempt.length + 4) - len(attempt.buffer)
        try:
            chunk = sock.recv(want)
        except BlockingIOError:
            return
        except ConnectionError as exc:
            if in_header:
                raise _ClosedEarly() from None
            raise _reset_in_answer(exc) from None
        if not chunk:
            got = len(attempt.buffer)
            if in_header and got == 0:
                raise _ClosedEarly()
            if in_header:
                raise _closed_in_header(got)
            raise _closed_in_answer(got - 4, attempt.length)
        attempt.buffer += chunk
        attempt.progress.received += len(chunk)
        if in_header and len(attempt.buffer) == 4:
            attempt.length = frame_length(bytes(attempt.buffer))
        elif not in_header and len(attempt.buffer) == attempt.length + 4:
            answer = parse_response(bytes(attempt.buffer[4:]), smb1_expected=attempt.smb1)
            self._finish(attempt, _success(attempt.host, attempt.port, attempt.started, answer))

    # -- endings -------------------------------------------------------------------------------

    def _close(self, attempt: _Attempt) -> None:
        sock, attempt.sock = attempt.sock, None
        if sock is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(sock)
        sock.close()

    def _finish(self, attempt: _Attempt, result: ProbeResult) -> None:
        self._close(attempt)
        attempt.resolving = None
        self.active.pop(attempt.index, None)
        self.results[attempt.index] = result

    def _fail(self, attempt: _Attempt, error: WireError) -> None:
        self._finish(
            attempt, _failure(attempt.host, attempt.port, attempt.started, attempt.progress, error)
        )


def _errno_error(err: int) -> OSError:
    """The OSError for an errno: OSError picks the subclass (ConnectionRefusedError, ...)."""
    return OSError(err, os.strerror(err))


def _addresses(host: str, port: int, flags: int) -> List[Tuple[Any, ...]]:
    return list(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, flags))


def _shutdown_now(pool: ThreadPoolExecutor) -> None:
    """Stop the resolver without waiting for a name lookup that outlived its deadline."""
    try:
        pool.shutdown(wait=False, cancel_futures=True)
    except TypeError:  # Python 3.8 has no cancel_futures
        pool.shutdown(wait=False)


def probe_many(
    endpoints: Iterable[Tuple[str, int]], concurrency: int = 64, deadline: float = 3.0
) -> List[ProbeResult]:
    """Probe endpoints with at most ``concurrency`` in flight; one result per endpoint, in
    input order. Never raises. Works inside a running event loop too (it uses none)."""
    items = list(endpoints)
    if not items:
        return []
    return _Multiplexer(items, concurrency, deadline).run()


def format_endpoint(address: str, port: int) -> str:
    """host:port, with IPv6 literals in brackets."""
    if ":" in address:
        return f"[{address}]:{port}"
    return f"{address}:{port}"
