"""Adopt and reap the grandchildren smbd leaves behind.

smbd forks smbd-notifyd and smbd-cleanupd; when the parent stops first they are re-parented to
PID 1, which on these machines does not reap, so they would linger as zombies. As a child
subreaper (prctl(2) PR_SET_CHILD_SUBREAPER) the lab process adopts them instead and reaps them.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def reap_orphans(known: set[int]) -> int:
    """Reap exited children that are not ``known`` Popen children; returns how many."""
    reaped = 0
    with contextlib.suppress(ChildProcessError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in known:
                continue
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] == "Z" and int(fields[1]) == os.getpid():
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(int(entry), os.WNOHANG)
                    reaped += 1
    return reaped
