# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wire probe: does an SMB server require signing, as an auditor sees it from the network.

One SMB2 NEGOTIATE per endpoint (no credentials, one round trip). If the server closes the
connection without answering, which is what an SMB1-only server does with an SMB2 request, a
second connection sends an SMB1 NEGOTIATE so such servers are classified rather than lost. With
``check_smb1``, a server that answered SMB2 is also asked in SMB1 on a second connection, so SMB1
left enabled next to SMB2 is seen too.

Why our own client (see smb_wire for the bytes) rather than smbprotocol, impacket or nmap:
- module_utils must be standard-library only; it is shipped to wherever the module runs.
- smbprotocol's ``Connection`` trusts the 4-byte length (about 1.2 GB allocated when an HTTP server
  answers), starts a worker thread per connection, raises OSError/ValueError/struct.error on
  hostile peers and costs many times our client CPU per probe (GIL-bound; threads do not
  help; bench/probe measures it). It speaks SMB2+ only, so it cannot check SMB1 either.
- impacket's isSigningRequired() is wrong for every SMB 3.1.1 server (forced True).
- nmap spends a fixed 10 s per operation on a silent host and prints nothing when it fails.

Every probe is bounded: one overall deadline covers name resolution, connecting to each address
of a name, both attempts and every read (a server trickling one byte at a time cannot stretch
it), and at most MAX_FRAME bytes are buffered. The standard library offers no bounded
name lookup and no sequential-or-staggered connect with one overall deadline
(``socket.create_connection`` gives every address the whole timeout), so both are done here: the
lookup runs in daemon threads that the deadline stops waiting for, and the addresses of a name
are tried staggered (RFC 8305, "Happy Eyeballs") inside the one deadline.

Problems of the probing host itself (out of file descriptors, socket buffers, memory or threads)
are never blamed on the endpoint: they get the error kind ``local``, and the number of
endpoints in flight is capped by the open-file limit so that they do not happen in the first
place.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Deque, Dict, Iterable, List, Optional, Sequence, Tuple

try:
    import resource
except ImportError:  # pragma: no cover - not POSIX
    resource = None  # type: ignore[assignment]

from ansible_collections.winhardening.smb.plugins.module_utils.smb_wire import (
    SMB1_NEGOTIATE,
    SMB2_NEGOTIATE,
    NegotiateAnswer,
    NoCommonDialect,
    WireError,
    frame_length,
    parse_response,
)

ERROR_KINDS = ("refused", "unresolved", "timeout", "closed", "garbage", "status", "local")
# Kinds that say nothing about whether the endpoint requires signing. "refused" (no TCP
# connection: nothing listens) is a verdict of its own, unless an SMB server had answered on an
# earlier connection (see needs_verdict).
UNVERIFIED_KINDS = ("unresolved", "timeout", "closed", "garbage", "status", "local")
# errno values that mean the probing host ran out of something, not that the endpoint refused.
LOCAL_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})

# RFC 8305 section 5: wait this long for one address before starting the next one in parallel.
CONNECT_STAGGER = 0.25
# Descriptors kept free beside the probe's sockets: the selector, its wake-up pair, what a name
# lookup opens (a socket to the DNS server, /etc/hosts) and what the caller opens meanwhile.
FD_RESERVE = 32
# The module's default concurrency when the open-file limit allows it.
DEFAULT_CONCURRENCY = 256
RESOLVER_THREADS = 8


@dataclass(frozen=True)
class ProbeResult:
    """What one endpoint told us. ``error`` is None on success, else one of ERROR_KINDS.

    ``reachable`` means a TCP connection was accepted; the signing fields are None unless the
    endpoint answered a negotiate. ``security_mode`` is the raw SecurityMode of the answer that
    was used (SMB2 bits 0x01/0x02, or SMB1 bits 0x04/0x08 when ``dialect`` is "SMB1").
    ``smb1_enabled`` is True when the endpoint answered an SMB1 negotiate, False when it refused
    SMB1 (only known when SMB1 was asked: an SMB1-only server or ``check_smb1``), else None.
    An error after an answer (say, the SMB1 check timed out) keeps the fields that answer filled.
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
    smb1_enabled: Optional[bool] = None
    smb1_signing_required: Optional[bool] = None

    def to_dict(self) -> Dict[str, Any]:
        """Plain data for module results and facts."""
        return asdict(self)


def needs_verdict(result: ProbeResult, check_smb1: bool = False) -> bool:
    """True when the probe could not tell whether the endpoint accepts unsigned sessions."""
    if result.error in UNVERIFIED_KINDS:
        return True
    if result.error == "refused":
        # Nothing listens: no verdict needed. Refused after an SMB server answered: unknown.
        return result.reachable
    return check_smb1 and result.smb1_enabled is None


def accepts_unsigned(result: ProbeResult) -> bool:
    """Proven to accept unsigned sessions over SMB2/3 or (when asked) over SMB1."""
    return result.signing_required is False or result.smb1_signing_required is False


# ---------------------------------------------------------------------------------------------
# the open-file limit


def _open_descriptors(soft: int) -> int:
    for directory in ("/proc/self/fd", "/dev/fd"):
        try:
            return max(0, len(os.listdir(directory)) - 1)  # less the listing's own descriptor
        except OSError as exc:
            if exc.errno in LOCAL_ERRNOS:
                return soft  # at the limit already
    return 0


def descriptor_budget() -> Optional[int]:
    """How many sockets the probe may hold open: the soft RLIMIT_NOFILE less the descriptors
    already open and FD_RESERVE. None when there is no such limit (or no ``resource`` module)."""
    if resource is None:  # pragma: no cover - not POSIX
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return None
    return max(1, soft - _open_descriptors(soft) - FD_RESERVE)


def effective_concurrency(requested: Optional[int]) -> int:
    """``requested`` (DEFAULT_CONCURRENCY when None), capped by descriptor_budget()."""
    wanted = DEFAULT_CONCURRENCY if requested is None else max(1, requested)
    budget = descriptor_budget()
    return wanted if budget is None else max(1, min(wanted, budget))


def open_file_limit() -> Optional[int]:
    """The soft RLIMIT_NOFILE, for messages; None when unlimited or unknown."""
    if resource is None:  # pragma: no cover - not POSIX
        return None
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


# ---------------------------------------------------------------------------------------------
# results and error texts


class _Progress:
    """How far a probe got, so a timeout can say where it stopped."""

    def __init__(self) -> None:
        self.reachable = False
        self.phase = "connecting"
        self.received = 0


class _ClosedEarly(Exception):
    """The peer closed before sending a single byte of the answer."""


def _answer_text(answer: NegotiateAnswer) -> str:
    req = "required" if answer.signing_required else "not required"
    label = answer.dialect if answer.dialect == "SMB1" else "SMB " + answer.dialect
    text = f"{label}, signing {req} (SecurityMode 0x{answer.security_mode:02x})"
    if answer.note:
        text += "; " + answer.note
    return text


def _local_error(exc: BaseException) -> WireError:
    limit = open_file_limit()
    text = f"{exc.strerror}" if isinstance(exc, OSError) and exc.strerror else f"{exc}"
    if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE):
        text += f" (open-file limit {limit})" if limit else ""
    elif isinstance(exc, MemoryError):
        text = "out of memory"
    return WireError("local", f"this host ran out of resources to probe with: {text}")


def _is_local(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    if isinstance(exc, socket.gaierror):
        return exc.errno == getattr(socket, "EAI_MEMORY", None)
    if isinstance(exc, OSError):
        return exc.errno in LOCAL_ERRNOS
    # threading: "can't start new thread"
    return isinstance(exc, RuntimeError) and "thread" in str(exc)


def _connect_reason(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return f"could not connect: {exc.strerror or exc}"


def _resolve_error(exc: BaseException) -> WireError:
    if _is_local(exc):
        return _local_error(exc)
    return WireError("unresolved", f"could not resolve the name: {exc}")


def _unexpected(exc: Exception) -> WireError:
    if _is_local(exc):
        return _local_error(exc)
    return WireError("garbage", f"unexpected answer ({type(exc).__name__}: {exc})")


def _closed_in_header(got: int) -> WireError:
    return WireError("closed", f"closed after {got} of 4 header bytes")


def _closed_in_answer(got: int, length: int) -> WireError:
    return WireError("closed", f"closed after {got} of {length} bytes of the answer")


def _reset_in_answer(exc: OSError) -> WireError:
    return WireError("closed", f"connection reset during the answer: {exc}")


def _closed_unanswered() -> WireError:
    return WireError("closed", "closed without answering SMB2 or SMB1 negotiate")


# ---------------------------------------------------------------------------------------------
# name resolution: getaddrinfo has no timeout, so it runs in daemon threads


class _Resolver:
    """Looks names up in up to RESOLVER_THREADS daemon threads.

    Daemon threads because a lookup can outlive its deadline by the resolver's own timeouts
    (tens of seconds), and a non-daemon thread (ThreadPoolExecutor's) keeps the process alive
    until it returns. Results go to ``done`` and the caller's ``wake`` is called.
    """

    def __init__(self, wake: Any) -> None:
        self._wake = wake
        self._lock = threading.Lock()
        self._jobs: Deque[_Attempt] = deque()
        self._ready = threading.Condition(self._lock)
        self._threads = 0
        self._idle = 0
        self._closed = False
        self.done: Deque[Tuple[_Attempt, Any, Optional[BaseException]]] = deque()

    def submit(self, attempt: _Attempt) -> None:
        """Queue a lookup; raises (RuntimeError, MemoryError) only if no thread can start."""
        with self._lock:
            self._jobs.append(attempt)
            if self._idle:
                self._ready.notify()
                return
            if self._threads >= RESOLVER_THREADS:
                return
            self._threads += 1
        try:
            threading.Thread(target=self._work, name="smb-probe-dns", daemon=True).start()
        except BaseException:
            with self._lock:
                self._threads -= 1
                if self._threads:  # another thread will get to the job
                    return
                self._jobs.remove(attempt)
            raise

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._jobs.clear()
            self._ready.notify_all()

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._jobs and not self._closed:
                    self._idle += 1
                    self._ready.wait()
                    self._idle -= 1
                if self._closed:
                    self._threads -= 1
                    return
                attempt = self._jobs.popleft()
            if attempt.over:
                continue
            try:
                found: Any = _addresses(attempt.host, attempt.port, 0)
                failure: Optional[BaseException] = None
            except BaseException as exc:  # a thread must not die with a lookup unanswered
                found, failure = None, exc
            self.done.append((attempt, found, failure))
            self._wake()


# ---------------------------------------------------------------------------------------------
# the probe: one thread, non-blocking sockets and a selector, for one endpoint or many
#
# Why not asyncio: its streams cost a protocol, a transport, a reader, a writer and a task per
# connection, about 0.5 ms of CPU per probe here, twice what this loop spends. It also needs
# no event loop, so it works the same when called from inside one, and from any thread.


def _address_text(sockaddr: Tuple[Any, ...]) -> str:
    return str(sockaddr[0])


class _Attempt:
    """One endpoint's probe: its deadline, how far it got, and its sockets."""

    def __init__(self, index: int, host: str, port: int, deadline: float) -> None:
        self.index = index
        self.host = host
        self.port = port
        self.started = time.monotonic()
        self.end = self.started + deadline
        self.progress = _Progress()
        self.over = False  # finished: a late lookup result is dropped
        self.resolving = False
        self.waiting_for_fd = False
        self.addresses: List[Tuple[Any, ...]] = []  # getaddrinfo tuples not yet tried
        self.named = False  # more than one address: the detail names them
        self.connecting: Dict[socket.socket, Tuple[Any, ...]] = {}  # socket: getaddrinfo tuple
        self.next_start = 0.0  # when the next address may start (RFC 8305 stagger)
        self.failures: List[Tuple[str, str]] = []  # (address, why) per address that failed
        self.winner: Optional[Tuple[Any, ...]] = None  # the getaddrinfo tuple that connected
        self.sock: Optional[socket.socket] = None
        self.stage = "smb2"  # then "smb1" (SMB1-only fallback) or "smb1_check"
        self.smb2_answer: Optional[NegotiateAnswer] = None
        self.sent = 0
        self.buffer = bytearray()
        self.length = 0  # of the answer, once its 4-byte header is in

    @property
    def request(self) -> bytes:
        return SMB2_NEGOTIATE if self.stage == "smb2" else SMB1_NEGOTIATE

    def wake_at(self) -> float:
        if self.connecting and self.addresses:
            return min(self.end, self.next_start)
        return self.end


class _Multiplexer:
    """Probes endpoints with at most ``concurrency`` in flight, each within its own deadline."""

    def __init__(
        self,
        endpoints: Sequence[Tuple[str, int]],
        concurrency: int,
        deadline: float,
        check_smb1: bool,
    ) -> None:
        self.endpoints = endpoints
        budget = descriptor_budget()
        self.sockets_allowed = budget if budget is not None else 1 << 30
        self.concurrency = max(1, min(concurrency, self.sockets_allowed))
        self.deadline = deadline
        self.check_smb1 = check_smb1
        self.results: List[Optional[ProbeResult]] = [None] * len(endpoints)
        self.active: Dict[int, _Attempt] = {}
        self.open_sockets = 0
        self.waiting: Dict[int, _Attempt] = {}  # endpoints waiting for a free descriptor
        self.closing = False
        self.selector: Optional[selectors.BaseSelector] = None
        self.resolver: Optional[_Resolver] = None
        self.wake_r: Optional[socket.socket] = None
        self.wake_w: Optional[socket.socket] = None

    def run(self) -> List[ProbeResult]:
        next_index = 0
        try:
            self.selector = selectors.DefaultSelector()
            while next_index < len(self.endpoints) or self.active:
                while (
                    next_index < len(self.endpoints)
                    and len(self.active) < self.concurrency
                    and not self.waiting
                ):
                    host, port = self.endpoints[next_index]
                    attempt = _Attempt(next_index, host, port, self.deadline)
                    next_index += 1
                    self.active[attempt.index] = attempt
                    self._guarded(self._start, attempt)
                if not self.active:
                    continue
                wait = min(a.wake_at() for a in self.active.values()) - time.monotonic()
                for key, _events in self.selector.select(max(0.0, wait)):
                    if key.data is None:
                        self._drain_wake()
                    else:
                        self._guarded(self._step, key.data, key.fileobj)
                self._tick()
        except Exception as exc:  # the contract is "never raises": a loop failure is classified
            error = (
                _local_error(exc)
                if _is_local(exc)
                else WireError(
                    "local", f"the probe failed on this host ({type(exc).__name__}: {exc})"
                )
            )
            self.closing = True
            for attempt in list(self.active.values()):
                with contextlib.suppress(Exception):
                    self._close_all(attempt)
                self.results[attempt.index] = _failure(attempt, error)
            for index in range(next_index, len(self.endpoints)):
                host, port = self.endpoints[index]
                attempt = _Attempt(index, host, port, 0.0)
                self.results[index] = _failure(attempt, error)
        finally:
            self.closing = True
            for attempt in list(self.active.values()):
                with contextlib.suppress(Exception):
                    self._close_all(attempt)
            for closable in (self.selector, self.wake_r, self.wake_w):
                if closable is not None:
                    closable.close()
            if self.resolver is not None:
                self.resolver.close()
        return [r for r in self.results if r is not None]

    def _selector(self) -> selectors.BaseSelector:
        if self.selector is None:  # pragma: no cover - run() sets it before any attempt
            raise RuntimeError("probe selector not started")
        return self.selector

    def _tick(self) -> None:
        """Deadlines and staggered connects that are due."""
        now = time.monotonic()
        for attempt in list(self.active.values()):
            if attempt.end <= now:
                self._fail(attempt, self._timeout(attempt))
            elif attempt.connecting and attempt.addresses and attempt.next_start <= now:
                self._guarded(self._connect_next, attempt)

    # -- one attempt -------------------------------------------------------------------------

    def _guarded(self, step: Any, attempt: _Attempt, *args: Any) -> None:
        """Run a step of one attempt; whatever it raises is classified for that attempt."""
        try:
            try:
                step(attempt, *args)
            except _ClosedEarly:
                self._closed_early(attempt)
        except WireError as exc:
            self._fail(attempt, exc)
        except (OSError, EOFError) as exc:
            if _is_local(exc):
                self._fail(attempt, _local_error(exc))
            else:
                self._fail(attempt, WireError("closed", f"{exc}"))
        except Exception as exc:  # the contract is "never raises": a parser slip is classified
            self._fail(attempt, _unexpected(exc))

    def _start(self, attempt: _Attempt) -> None:
        try:
            # A literal address needs no name service and no thread.
            attempt.addresses = _addresses(attempt.host, attempt.port, socket.AI_NUMERICHOST)
        except socket.gaierror:
            self._resolve(attempt)
            return
        except (OSError, UnicodeError, ValueError) as exc:  # e.g. a name that is not IDNA
            self._fail(attempt, _resolve_error(exc))
            return
        self._connect_next(attempt)

    def _resolve(self, attempt: _Attempt) -> None:
        if self.resolver is None:
            # A finished lookup wakes the selector through this pair of sockets.
            wake_r, wake_w = socket.socketpair()
            self.wake_r, self.wake_w = wake_r, wake_w
            wake_r.setblocking(False)
            wake_w.setblocking(False)
            if self.selector is not None:
                self.selector.register(wake_r, selectors.EVENT_READ, None)
            self.resolver = _Resolver(self._wake)
        attempt.progress.phase = "resolving the name"
        attempt.resolving = True
        self.resolver.submit(attempt)

    def _wake(self) -> None:
        # Full (a wake-up is already pending) or closed (the run is over): either way, done.
        sock = self.wake_w
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.send(b"\0")

    def _drain_wake(self) -> None:
        if self.wake_r is not None:
            with contextlib.suppress(OSError):  # BlockingIOError once it is empty
                while self.wake_r.recv(4096):
                    pass
        resolver = self.resolver
        while resolver is not None and resolver.done:
            attempt, found, failure = resolver.done.popleft()
            if attempt.over or self.active.get(attempt.index) is not attempt:
                continue
            attempt.resolving = False
            if failure is not None:
                self._fail(attempt, _resolve_error(failure))
                continue
            attempt.addresses = found
            attempt.named = len(found) > 1
            self._guarded(self._connect_next, attempt)

    def _connect_next(self, attempt: _Attempt) -> None:
        """Start connecting to the next address (RFC 8305: the next one starts after
        CONNECT_STAGGER, or at once when one fails); none left and none connecting: refused."""
        attempt.progress.phase = "connecting"
        while attempt.addresses:
            if self.open_sockets >= self.sockets_allowed and attempt.connecting:
                attempt.next_start = time.monotonic() + CONNECT_STAGGER
                return
            attempt_info = attempt.addresses[0]
            family, socktype, proto, _name, sockaddr = attempt_info
            try:
                sock = socket.socket(family, socktype, proto)
            except OSError as exc:
                if _is_local(exc):
                    self._out_of_descriptors(attempt, exc)
                    return
                attempt.addresses.pop(0)
                attempt.failures.append((_address_text(sockaddr), _connect_reason(exc)))
                continue
            attempt.addresses.pop(0)
            self.open_sockets += 1
            attempt.waiting_for_fd = False
            self.waiting.pop(attempt.index, None)
            try:
                sock.setblocking(False)
                try:
                    err = sock.connect_ex(sockaddr)
                except OSError as exc:  # e.g. an address family this host cannot reach
                    err = exc.errno or errno.EINVAL
                if err in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
                    self._selector().register(sock, selectors.EVENT_WRITE, attempt)
                    attempt.connecting[sock] = attempt_info
                    attempt.next_start = time.monotonic() + CONNECT_STAGGER
                    return
            except BaseException:
                self._release(sock)
                raise
            self._release(sock)
            failure = _errno_error(err)
            if _is_local(failure):
                self._out_of_descriptors(attempt, failure)
                return
            attempt.failures.append((_address_text(sockaddr), _connect_reason(failure)))
        if not attempt.connecting:
            self._fail(attempt, self._refused(attempt))

    def _out_of_descriptors(self, attempt: _Attempt, exc: OSError) -> None:
        """EMFILE and friends: wait while our own sockets can free one, else fail as local."""
        if attempt.connecting:  # the next address waits for the next stagger tick
            attempt.next_start = time.monotonic() + CONNECT_STAGGER
            return
        if self.open_sockets > 0:
            # Another endpoint's socket will close: start no new endpoint until then, and
            # keep fewer in flight from now on.
            attempt.waiting_for_fd = True
            self.waiting[attempt.index] = attempt
            attempt.progress.phase = "waiting for a free file descriptor"
            self.concurrency = max(1, min(self.concurrency, self.open_sockets))
            self.sockets_allowed = max(1, min(self.sockets_allowed, self.open_sockets))
            return
        self._fail(attempt, _local_error(exc))

    def _step(self, attempt: _Attempt, sock: Any) -> None:
        if sock in attempt.connecting:
            self._connected(attempt, sock)
        elif sock is not attempt.sock:  # closed by an earlier event of the same select round
            return
        elif attempt.sent < len(attempt.request):
            self._send(attempt)
        else:
            self._receive(attempt)

    def _connected(self, attempt: _Attempt, sock: socket.socket) -> None:
        info = attempt.connecting.pop(sock)
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._release(sock)
            attempt.failures.append((_address_text(info[4]), _connect_reason(_errno_error(err))))
            attempt.next_start = time.monotonic()  # RFC 8305: the next one at once
            self._connect_next(attempt)
            return
        # The first address to connect wins; the others still connecting are dropped.
        for other, other_info in list(attempt.connecting.items()):
            attempt.failures.append((_address_text(other_info[4]), "connect still pending"))
            self._release(other)
        attempt.connecting.clear()
        attempt.addresses = []
        attempt.winner = info
        attempt.sock = sock
        attempt.sent = 0
        attempt.length = 0
        attempt.buffer = bytearray()
        attempt.progress.reachable = True
        attempt.progress.received = 0
        attempt.progress.phase = {
            "smb2": "waiting for the negotiate answer",
            "smb1": "retrying with SMB1",
            "smb1_check": "checking SMB1",
        }[attempt.stage]
        self._send(attempt)

    def _send(self, attempt: _Attempt) -> None:
        sock = attempt.sock
        if sock is None:
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
        self._selector().modify(sock, events, attempt)

    def _receive(self, attempt: _Attempt) -> None:
        sock = attempt.sock
        if sock is None:
            return
        in_header = attempt.length == 0
        want = (4 if in_header else attempt.length + 4) - len(attempt.buffer)
        try:
            chunk = sock.recv(want)
        except BlockingIOError:
            return
        except ConnectionError as exc:
            if in_header and not attempt.buffer:
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
            msg = bytes(attempt.buffer[4:])
            if attempt.stage == "smb1_check":
                self._smb1_checked(attempt, msg)
                return
            answer = parse_response(msg, smb1_expected=attempt.stage == "smb1")
            if attempt.stage == "smb2" and self.check_smb1:
                attempt.smb2_answer = answer
                self._again(attempt, "smb1_check")
                return
            self._finish(attempt, self._success(attempt, answer))

    def _again(self, attempt: _Attempt, stage: str) -> None:
        """A second connection to the address that answered, for the SMB1 request."""
        self._close_all(attempt)
        attempt.stage = stage
        attempt.addresses = [attempt.winner] if attempt.winner is not None else []
        attempt.next_start = time.monotonic()
        self._connect_next(attempt)

    def _closed_early(self, attempt: _Attempt) -> None:
        if attempt.stage == "smb2":
            # An SMB1-only server closes on an SMB2 request: ask again in SMB1.
            self._again(attempt, "smb1")
        elif attempt.stage == "smb1_check":
            self._finish(attempt, self._with_smb1(attempt, False, "closed the connection"))
        else:
            self._fail(attempt, _closed_unanswered())

    def _smb1_checked(self, attempt: _Attempt, msg: bytes) -> None:
        try:
            answer = parse_response(msg, smb1_expected=True)
        except NoCommonDialect:
            self._finish(attempt, self._with_smb1(attempt, False, "no common dialect"))
            return
        self._finish(attempt, self._with_smb1(attempt, True, _answer_text(answer), answer))

    # -- endings -------------------------------------------------------------------------------

    def _release(self, sock: socket.socket) -> None:
        if self.selector is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(sock)
        sock.close()
        self.open_sockets -= 1
        # A descriptor is free again: an endpoint waiting for one goes on.
        if self.waiting and not self.closing:
            waiting = next(iter(self.waiting.values()))
            self._guarded(self._connect_next, waiting)

    def _close_all(self, attempt: _Attempt) -> None:
        sockets = list(attempt.connecting)
        attempt.connecting.clear()
        sock, attempt.sock = attempt.sock, None
        if sock is not None:
            sockets.append(sock)
        for s in sockets:
            self._release(s)

    def _finish(self, attempt: _Attempt, result: ProbeResult) -> None:
        attempt.over = True
        attempt.waiting_for_fd = False
        self.waiting.pop(attempt.index, None)
        self.active.pop(attempt.index, None)
        self._close_all(attempt)
        self.results[attempt.index] = result

    def _fail(self, attempt: _Attempt, error: WireError) -> None:
        if attempt.over:
            return
        if attempt.stage == "smb1_check" and attempt.smb2_answer is not None:
            # SMB2 answered: keep its verdict, and say the SMB1 check did not finish.
            result = self._success(attempt, attempt.smb2_answer, f"; SMB1 check: {error.detail}")
            self._finish(attempt, _replace_error(result, error.kind))
            return
        self._finish(attempt, _failure(attempt, error, self._addresses_note(attempt)))

    # -- texts -----------------------------------------------------------------------------------

    def _addresses_note(self, attempt: _Attempt) -> str:
        """What happened to each address of a name, when it had several or some failed."""
        parts = []
        hanging = [_address_text(a[4]) for a in attempt.connecting.values()]
        if hanging:
            n = len(hanging)
            parts.append(
                f"connect timed out on {n} address{'es' if n > 1 else ''} ({', '.join(hanging)})"
            )
        reasons: Dict[str, List[str]] = {}
        for address, why in attempt.failures:
            reasons.setdefault(why, []).append(address)
        for why, addresses in reasons.items():
            parts.append(f"{why} on {', '.join(addresses)}")
        untried = [_address_text(a[4]) for a in attempt.addresses]
        if untried:
            parts.append(f"not tried: {', '.join(untried)}")
        if not parts or not (attempt.named or len(attempt.failures) > 1):
            return ""
        return "; ".join(parts)

    def _refused(self, attempt: _Attempt) -> WireError:
        if len(attempt.failures) == 1 and not attempt.named:
            return WireError("refused", attempt.failures[0][1])
        if not attempt.failures:
            return WireError("refused", "could not connect: no address to connect to")
        n = len(attempt.failures)
        return WireError("refused", f"could not connect to any of {n} addresses")

    def _timeout(self, attempt: _Attempt) -> WireError:
        if attempt.waiting_for_fd:
            limit = open_file_limit()
            return WireError(
                "local",
                "no file descriptor became free within the deadline"
                + (f" (open-file limit {limit})" if limit else ""),
            )
        progress = attempt.progress
        return WireError(
            "timeout",
            f"no answer within the {self.deadline:.3g} s deadline while {progress.phase} "
            f"({progress.received} bytes received)",
        )

    def _success(self, attempt: _Attempt, answer: NegotiateAnswer, extra: str = "") -> ProbeResult:
        detail = _answer_text(answer)
        if attempt.named and attempt.winner is not None:
            detail += f"; from {_address_text(attempt.winner[4])}"
            note = self._addresses_note(attempt)
            if note:
                detail += f" ({note})"
        smb1 = answer.dialect == "SMB1"
        return ProbeResult(
            address=attempt.host,
            port=attempt.port,
            reachable=True,
            dialect=answer.dialect,
            signing_enabled=answer.signing_enabled,
            signing_required=answer.signing_required,
            server_guid=answer.server_guid,
            signing_algorithm=answer.signing_algorithm,
            smb1_security_mode=answer.smb1_security_mode,
            error=None,
            detail=detail + extra,
            elapsed=round(time.monotonic() - attempt.started, 6),
            security_mode=answer.security_mode,
            smb1_enabled=True if smb1 else None,
            smb1_signing_required=answer.signing_required if smb1 else None,
        )

    def _with_smb1(
        self,
        attempt: _Attempt,
        enabled: bool,
        text: str,
        smb1: Optional[NegotiateAnswer] = None,
    ) -> ProbeResult:
        extra = f"; SMB1 {'accepted: ' + text if enabled else 'refused: ' + text}"
        smb2 = attempt.smb2_answer
        if smb2 is None:  # pragma: no cover - stage smb1_check always has one
            raise WireError("garbage", "SMB1 check without an SMB2 answer")
        base = self._success(attempt, smb2, extra).to_dict()
        base.update(
            smb1_enabled=enabled,
            smb1_security_mode=smb1.security_mode if smb1 else None,
            smb1_signing_required=smb1.signing_required if smb1 else None,
        )
        return ProbeResult(**base)


def _failure(attempt: _Attempt, error: WireError, note: str = "") -> ProbeResult:
    return ProbeResult(
        address=attempt.host,
        port=attempt.port,
        reachable=attempt.progress.reachable,
        dialect=None,
        signing_enabled=None,
        signing_required=None,
        server_guid=None,
        signing_algorithm=None,
        smb1_security_mode=None,
        error=error.kind,
        detail=error.detail + (f"; {note}" if note else ""),
        elapsed=round(time.monotonic() - attempt.started, 6),
    )


def _replace_error(result: ProbeResult, kind: str) -> ProbeResult:
    data = result.to_dict()
    data["error"] = kind
    return ProbeResult(**data)


def _errno_error(err: int) -> OSError:
    """The OSError for an errno: OSError picks the subclass (ConnectionRefusedError, ...)."""
    return OSError(err, os.strerror(err))


def _addresses(host: str, port: int, flags: int) -> List[Tuple[Any, ...]]:
    return list(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, flags))


def probe_many(
    endpoints: Iterable[Tuple[str, int]],
    concurrency: int = 64,
    deadline: float = 3.0,
    check_smb1: bool = False,
) -> List[ProbeResult]:
    """Probe endpoints with at most ``concurrency`` in flight (never more than the open-file
    limit allows); one result per endpoint, in input order. Never raises. Works inside a running
    event loop too (it uses none)."""
    items = list(endpoints)
    if not items:
        return []
    return _Multiplexer(items, concurrency, deadline, check_smb1).run()


def probe_endpoint(
    host: str, port: int = 445, deadline: float = 3.0, check_smb1: bool = False
) -> ProbeResult:
    """Probe one endpoint within ``deadline`` seconds overall, name lookup and every address
    of the name included. Never raises."""
    return probe_many([(host, port)], 1, deadline, check_smb1)[0]


def format_endpoint(address: str, port: int) -> str:
    """host:port, with IPv6 literals in brackets."""
    if ":" in address:
        return f"[{address}]:{port}"
    return f"{address}:{port}"
