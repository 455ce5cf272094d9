"""Misbehaving SMB endpoints on loopback, served by one asyncio loop in a background thread.

Each behaviour is what a real scan meets: a port that closes or resets, a web server, a silent
or trickling host, an announced length of 16 MB, an SMB error status, SMB1 junk. ``replay``
answers with a negotiate response captured from Samba 4.17, for the client-cost benchmark;
``unsigned`` answers the same with signing not required, a server the relay list must keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import Future

from samba_captures import SAMBA_311_REQUIRED

HTTP_REPLY = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def smb2_error_frame(status: int = 0xC00000BB) -> bytes:
    """A framed SMB2 NEGOTIATE response header carrying an error status and a 9-byte error body."""
    header = struct.pack(
        "<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 0, status, 0, 1, 1, 0, 0, 0, 0, 0, b"\0" * 16
    )
    body = struct.pack("<HBBI", 9, 0, 0, 0) + b"\0"
    msg = header + body
    return struct.pack(">I", len(msg)) + msg


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(Exception):
        head = await reader.readexactly(4)
        await reader.readexactly(int.from_bytes(head[1:], "big"))


async def _wait_client_close(reader: asyncio.StreamReader, limit: float = 60.0) -> None:
    # close() cancels a silent endpoint still waiting: it then ends quietly, rather than have
    # asyncio's stream server log the cancellation as an unhandled error.
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await asyncio.wait_for(reader.read(), limit)


def _send_then_close(payload: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(payload)
        with contextlib.suppress(Exception):
            await writer.drain()
        writer.close()

    return handler


async def _close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def _rst(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _wait_client_close(reader)
    writer.close()


async def _trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    with contextlib.suppress(Exception):
        for i in range(len(SAMBA_311_REQUIRED)):
            writer.write(SAMBA_311_REQUIRED[i : i + 1])
            await writer.drain()
            await asyncio.sleep(0.05)
    writer.close()


async def _huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _read_request(reader)
    writer.write(b"\x00\xff\xff\xff")
    await _wait_client_close(reader)
    writer.close()


def _replayer(answer: bytes) -> Handler:
    async def replay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer every negotiate on the connection with ``answer``, like a server."""
        with contextlib.suppress(Exception):
            while True:
                head = await reader.readexactly(4)
                await reader.readexactly(int.from_bytes(head[1:], "big"))
                writer.write(answer)
                await writer.drain()
        writer.close()

    return replay


# The captured answer with SecurityMode 0x01: signing enabled, not required (a relay target).
SAMBA_311_NOT_REQUIRED = bytearray(SAMBA_311_REQUIRED)
SAMBA_311_NOT_REQUIRED[4 + 64 + 2] = 0x01
_replay = _replayer(SAMBA_311_REQUIRED)


BEHAVIOURS: dict[str, Handler] = {
    "close": _close,
    "rst": _rst,
    "garbage": _send_then_close(b"\x00\x00\x00\x40" + bytes(range(0x80, 0xC0))),
    "http": _send_then_close(HTTP_REPLY),
    "silent": _silent,
    "trickle": _trickle,
    "huge": _huge,
    "status": _send_then_close(smb2_error_frame()),
    "smb1junk": _send_then_close(
        b"\x00\x00\x00\x28\xffSMB" + b"\x72" + b"\x00" * 31 + b"\x00\x00\x00\x00"
    ),
    "replay": _replay,
    "unsigned": _replayer(bytes(SAMBA_311_NOT_REQUIRED)),
}

# What the probe must report for each behaviour, and whether it may take the whole deadline.
EXPECTED: dict[str, tuple[str | None, bool]] = {
    "close": ("closed", False),
    "rst": ("closed", False),
    "garbage": ("garbage", False),
    "http": ("garbage", False),
    "silent": ("timeout", True),
    "trickle": ("timeout", True),
    "huge": ("garbage", False),
    "status": ("status", False),
    "smb1junk": ("garbage", False),
    "replay": (None, False),
    "unsigned": (None, False),
}


class FakeEndpoints:
    """Start servers for (behaviour, address, port) triples; stop them all on close()."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-smb", daemon=True)
        self._thread.start()
        self._servers: list[asyncio.base_events.Server] = []

    def _run(self, coro: Awaitable[object]) -> object:
        fut: Future[object] = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        return fut.result(timeout=30)

    def serve(self, behaviour: str, address: str, port: int) -> tuple[str, int]:
        async def start() -> asyncio.base_events.Server:
            return await asyncio.start_server(
                BEHAVIOURS[behaviour], address, port, reuse_address=True, backlog=512
            )

        server = self._run(start())
        assert isinstance(server, asyncio.base_events.Server)
        self._servers.append(server)
        bound = server.sockets[0].getsockname()
        return bound[0], bound[1]

    def serve_many(self, plan: Sequence[tuple[str, str, int]]) -> list[tuple[str, int]]:
        return [self.serve(b, a, p) for b, a, p in plan]

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            await asyncio.sleep(0)

        with contextlib.suppress(Exception):
            self._run(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


@contextlib.contextmanager
def fake_endpoints() -> Iterator[FakeEndpoints]:
    fakes = FakeEndpoints()
    try:
        yield fakes
    finally:
        fakes.close()
