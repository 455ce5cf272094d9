"""Throwaway Samba servers on loopback addresses, for the probe's differential tests and bench.

Each instance is one ``smbd -F`` with a private smb.conf and state directories under a temp dir,
bound to 127.x addresses given as ``/8`` (a bare address or /32 makes smbd find no interface and
abort) on a high port, with netbios off so no nmbd is needed. ``stop()`` kills the whole process
group (smbd forks notifyd, cleanupd and one child per connection).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SMBD = shutil.which("smbd") or "/usr/sbin/smbd"

_CONF = """[global]
   server role = standalone server
   workgroup = PROBETEST
   netbios name = {netbios}
   interfaces = {interfaces}
   bind interfaces only = yes
   smb ports = {port}
   disable netbios = yes
   server signing = {signing}
   server min protocol = {min_protocol}
   server max protocol = {max_protocol}
   lock directory = {d}/lock
   state directory = {d}/state
   cache directory = {d}/cache
   pid directory = {d}/pid
   private dir = {d}/private
   ncalrpc dir = {d}/ncalrpc
   binddns dir = {d}/binddns
   passdb backend = tdbsam:{d}/private/passdb.tdb
   log file = {d}/log/log.%m
   max log size = 1000
   log level = 0
   load printers = no
   printing = bsd
   printcap name = /dev/null
   disable spoolss = yes
   usershare path =
   map to guest = bad user
   max smbd processes = 0
[share]
   path = {d}/share
   read only = yes
   guest ok = yes
"""


@dataclass
class SmbdInstance:
    """One running smbd and what it was configured with."""

    name: str
    addresses: list[str]
    port: int
    signing: str
    min_protocol: str
    max_protocol: str
    directory: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return self.addresses[0]

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it if still alive after 5 s."""
        proc = self.process
        if proc is None:
            return
        self.process = None
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=5)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        # Children in the group (notifyd, cleanupd, per-connection forks) may outlive the parent.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def start_smbd(
    root: Path,
    name: str,
    addresses: Sequence[str],
    *,
    port: int,
    signing: str = "auto",
    min_protocol: str = "SMB2_02",
    max_protocol: str = "SMB3",
    start_timeout: float = 15.0,
) -> SmbdInstance:
    """Start smbd and wait until every address accepts connections."""
    d = root / name
    for sub in ("lock", "state", "cache", "pid", "private", "ncalrpc", "binddns", "log", "share"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    conf = d / "smb.conf"
    conf.write_text(
        _CONF.format(
            netbios=name.upper()[:15],
            interfaces=" ".join(a + "/8" for a in addresses),
            port=port,
            signing=signing,
            min_protocol=min_protocol,
            max_protocol=max_protocol,
            d=d,
        )
    )
    log = (d / "log" / "stdout.log").open("wb")
    proc = subprocess.Popen(
        [SMBD, "-F", "--no-process-group", "--debug-stdout", "-d", "0", "-s", str(conf)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    inst = SmbdInstance(
        name, list(addresses), port, signing, min_protocol, max_protocol, d, process=proc
    )
    end = time.monotonic() + start_timeout
    pending = list(addresses)
    while pending:
        if proc.poll() is not None:
            inst.stop()
            tail = (d / "log" / "stdout.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"smbd {name} exited with {proc.returncode}:\n{tail}")
        if time.monotonic() > end:
            inst.stop()
            raise RuntimeError(f"smbd {name} not listening on {pending[0]}:{port}")
        try:
            with socket.create_connection((pending[0], port), timeout=0.5):
                pending.pop(0)
        except OSError:
            time.sleep(0.05)
    return inst
