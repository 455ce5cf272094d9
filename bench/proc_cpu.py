"""CPU seconds of processes that are not ours to wait for (the lab's daemon, smbd)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable


def process_tree_cpu(pids: Iterable[int]) -> float:
    """CPU seconds of these processes and of the children they have reaped.

    smbd forks a child per connection and reaps it, and the lab's daemon reaps what it starts,
    so the parents' counters hold the whole cost. A process that is gone counts as zero.
    """
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        ticks += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")
