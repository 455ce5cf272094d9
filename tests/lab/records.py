"""Per-host records of everything a client did, for tests and benchmarks (JSON lines on disk)."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, TextIO


class HostRecorder:
    """Appends one JSON line per event to ``records/<host>.jsonl`` and keeps running totals."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh: TextIO = path.open("a", encoding="utf-8")
        self.wsman: Counter[str] = Counter()
        self.bytes_in = 0
        self.bytes_out = 0
        self.scripts: List[Dict[str, Any]] = []
        self.faults: List[Dict[str, Any]] = []
        # One entry per Receive answered (state TimedOut, Running or Done, bytes per stream).
        self.receives: List[Dict[str, Any]] = []
        # One entry per command answered as a busy host (lab/busy.py): the knobs it used.
        self.busy_commands: List[Dict[str, Any]] = []

    def _write(self, entry: Dict[str, Any]) -> None:
        entry = {"t": round(time.time(), 6), **entry}
        self._fh.write(json.dumps(entry, sort_keys=True) + "\n")
        self._fh.flush()

    def http(self, action: str, status: int, bytes_in: int, bytes_out: int) -> None:
        self.wsman[action] += 1
        self.bytes_in += bytes_in
        self.bytes_out += bytes_out
        self._write(
            {
                "kind": "wsman",
                "action": action,
                "status": status,
                "bytes_in": bytes_in,
                "bytes_out": bytes_out,
            }
        )

    def script(self, entry: Dict[str, Any]) -> None:
        self.scripts.append(entry)
        self._write({"kind": "script", **entry})

    def receive(self, entry: Dict[str, Any]) -> None:
        self.receives.append(entry)
        self._write({"kind": "receive", **entry})

    def busy(self, entry: Dict[str, Any]) -> None:
        self.busy_commands.append(entry)
        self._write({"kind": "busy", **entry})

    def fault(self, kind: str, where: str) -> None:
        entry = {"fault": kind, "where": where}
        self.faults.append(entry)
        self._write({"kind": "fault", **entry})

    def summary(self) -> Dict[str, Any]:
        return {
            # One WinRS Command is one round trip of the collection's protocol.
            "round_trips": self.wsman["Command"],
            "wsman": dict(self.wsman),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "scripts": list(self.scripts),
            "writes": [w for s in self.scripts for w in s.get("writes", [])],
            "faults": list(self.faults),
            "receives": list(self.receives),
            "receive_states": dict(Counter(r["state"] for r in self.receives)),
            "busy": list(self.busy_commands),
            "file": str(self.path),
        }

    def close(self) -> None:
        self._fh.close()
