"""Shared-smbd mode: the lab listens on every host's SMB address and forwards each connection.

With one smbd per policy, moving a host between smbds meant restarting both, and every other
host those smbds served had its port closed meanwhile; a real Windows host never closes another
host's port. So the smbds listen only on internal endpoints and this forwarder, which never
stops listening, picks the smbd of the host's current policy when it accepts a connection. The
bytes are passed through unchanged, so the negotiate a client sees still comes from real Samba.

Written by hand (a few dozen lines of asyncio streams) because the target is looked up in the
lab's own state at accept time, which an external relay such as socat cannot do.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Callable, Dict, List, Set, Tuple

CHUNK = 64 * 1024
IDLE_TIMEOUT_S = 120.0
CONNECT_TIMEOUT_S = 5.0

Target = Callable[[str], Tuple[str, int]]


class SmbForwarder:
    """One listener per host address; each accepted connection goes to ``target(host)``."""

    def __init__(self, port: int, target: Target, idle_timeout: float = IDLE_TIMEOUT_S) -> None:
        self.port = port
        self.target = target
        self.idle_timeout = idle_timeout
        self.servers: Dict[str, asyncio.Server] = {}
        self._tasks: Set[asyncio.Task[None]] = set()
        self.accepted = 0
        self.failed_upstream = 0

    async def start(self, addresses: Dict[str, str]) -> None:
        async def listen(host: str, address: str) -> None:
            self.servers[host] = await asyncio.start_server(
                lambda r, w: self._accept(host, r, w), address, self.port
            )

        await asyncio.gather(*(listen(h, a) for h, a in addresses.items()))

    async def stop(self) -> None:
        """Stop listening and drop every open connection, so ``down`` leaves nothing behind."""
        for server in self.servers.values():
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(s.wait_closed() for s in self.servers.values()))
        self.servers.clear()

    async def _accept(
        self, host: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.accepted += 1
        up_writer = None
        try:
            address, port = self.target(host)
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(address, port), CONNECT_TIMEOUT_S
            )
            activity = [time.monotonic()]
            pumps = [
                asyncio.create_task(self._pump(reader, up_writer, activity)),
                asyncio.create_task(self._pump(up_reader, writer, activity)),
            ]
            try:
                # Either side's EOF, error or idleness ends the connection: SMB has no use for a
                # half-closed TCP stream.
                await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for p in pumps:
                    p.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        except (OSError, asyncio.TimeoutError):
            self.failed_upstream += 1
        finally:
            for w in (writer, up_writer):
                if w is not None:
                    w.close()
            for w in (writer, up_writer):
                if w is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(w.wait_closed(), 1.0)
            if task is not None:
                self._tasks.discard(task)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, activity: List[float]
    ) -> None:
        """Copy one direction; ``drain`` keeps at most the transport's high-water mark buffered."""
        with contextlib.suppress(OSError):
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(CHUNK), self.idle_timeout)
                except asyncio.TimeoutError:
                    if time.monotonic() - activity[0] >= self.idle_timeout:
                        return
                    continue  # the other direction was busy: not idle
                if not data:
                    return
                activity[0] = time.monotonic()
                writer.write(data)
                await asyncio.wait_for(writer.drain(), self.idle_timeout)
