"""Real Samba smbd processes whose negotiate follows the simulated hosts' signing settings.

Config and gotchas from wire-probe-findings.md: ``interfaces = 127.x.y.z/8`` (a bare address
panics), ``bind interfaces only``, netbios name of at most 15 characters, ``disable netbios``.
A signing or protocol change is applied with SIGHUP (measured: the next negotiate already shows
it, in about 10 ms, against about 200 ms for a restart); a change of the addresses one smbd owns
needs a restart, since a reload does not open new listeners.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

SMBD = shutil.which("smbd") or "/usr/sbin/smbd"
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class SmbPolicy:
    """What the negotiate shows: signing required or not, SMB1 (NT1) allowed or not."""

    require_signing: bool
    smb1: bool

    @property
    def key(self) -> str:
        return f"{'mand' if self.require_signing else 'auto'}-{'nt1' if self.smb1 else 'smb2'}"


def smb_conf(
    directory: Path,
    runtime: Path,
    *,
    netbios: str,
    addresses: Sequence[str],
    port: int,
    policy: SmbPolicy,
) -> str:
    d, r = directory, runtime
    interfaces = " ".join(f"{a}/8" for a in addresses)
    return f"""[global]
   server role = standalone server
   workgroup = LAB
   netbios name = {netbios[:15]}
   interfaces = {interfaces}
   bind interfaces only = yes
   smb ports = {port}
   disable netbios = yes
   server signing = {"mandatory" if policy.require_signing else "auto"}
   server min protocol = {"NT1" if policy.smb1 else "SMB2_02"}
   server max protocol = SMB3
   lock directory = {r}/lock
   state directory = {r}/state
   cache directory = {r}/cache
   pid directory = {r}/pid
   private dir = {d}/private
   ncalrpc dir = {r}/ncalrpc
   binddns dir = {d}/binddns
   passdb backend = tdbsam:{d}/private/passdb.tdb
   log file = {d}/log/log.%m
   max log size = 1000
   log level = 1
   load printers = no
   printing = bsd
   printcap name = /dev/null
   disable spoolss = yes
   usershare path =
   map to guest = bad user
[share]
   path = {d}/share
   read only = yes
   guest ok = yes
"""


class SmbdInstance:
    """One smbd owning one or more loopback addresses on one port."""

    def __init__(self, name: str, directory: Path, netbios: str, port: int) -> None:
        self.name = name
        self.dir = directory
        # smbd's messaging sockets live under the lock directory and a Unix socket path has at
        # most 107 bytes ("messaging_dgm_ref failed: File name too long" under deep pytest tmp
        # paths), so the runtime directories go under a short per-instance path in /tmp.
        digest = hashlib.sha1(str(directory.resolve()).encode()).hexdigest()[:12]
        self.runtime = Path(tempfile.gettempdir()) / f"lab-smbd-{digest}"
        self.netbios = netbios
        self.port = port
        self.addresses: List[str] = []
        self.policy = SmbPolicy(False, False)
        self.proc: Optional[subprocess.Popen[bytes]] = None

    @property
    def pid(self) -> Optional[int]:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def write_conf(self) -> Path:
        for sub in ("private", "binddns", "log", "share"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("lock", "state", "cache", "pid", "ncalrpc"):
            (self.runtime / sub).mkdir(parents=True, exist_ok=True)
        conf = self.dir / "smb.conf"
        conf.write_text(
            smb_conf(
                self.dir,
                self.runtime,
                netbios=self.netbios,
                addresses=self.addresses,
                port=self.port,
                policy=self.policy,
            )
        )
        return conf

    def start(self) -> None:
        """Start without waiting; ``wait_ready`` polls the listeners."""
        conf = self.write_conf()
        log = (self.dir / "log" / "stdout.log").open("ab")
        self.proc = subprocess.Popen(
            [
                SMBD,
                "-F",
                "--no-process-group",
                "--debug-stdout",
                "-d",
                os.environ.get("LAB_SMBD_DEBUG", "1"),
                "-s",
                str(conf),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def wait_ready(self, deadline: float) -> None:
        for address in self.addresses:
            while True:
                if self.proc is None or self.proc.poll() is not None:
                    raise RuntimeError(
                        f"smbd {self.name} exited while starting; see {self.dir}/log/stdout.log"
                    )
                try:
                    with socket.create_connection((address, self.port), timeout=0.5):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"smbd {self.name} does not listen on {address}:{self.port} after "
                            f"{START_TIMEOUT_S:.0f} s"
                        ) from None
                    time.sleep(0.05)

    def reload(self) -> None:
        """Re-read smb.conf: SIGHUP to the parent smbd (smbd(8), SIGNALS)."""
        self.write_conf()
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGHUP)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(STOP_TIMEOUT_S)
        _reap_group(proc.pid)
        shutil.rmtree(self.runtime, ignore_errors=True)


def _reap_group(pgid: int) -> None:
    """smbd-notifyd and smbd-cleanupd share the parent's session; make sure none outlives it."""
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        members = group_members(pgid)
        if not members:
            return
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL if time.monotonic() > deadline - 3 else signal.SIGTERM)
        time.sleep(0.1)


def group_members(pgid: int) -> List[int]:
    out: List[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getpgid(int(entry)) == pgid:
                stat = Path(f"/proc/{entry}/stat").read_text()
                if ") Z " not in stat:
                    out.append(int(entry))
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
    return out
