"""The wire probe against nmap: delegated to bench/probe/run.py, which writes probe.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional

BENCH = Path(__file__).resolve().parent
PROBE_RUN = BENCH / "probe" / "run.py"
PROBE_JSON = BENCH / "results" / "probe.json"
PROBE_TIMEOUT_S = 420


def measure(rounds: int) -> Optional[Dict[str, Any]]:
    """Run the probe benchmark (its own output goes straight through) and return a summary, or
    None when bench/probe/run.py is absent."""
    if not PROBE_RUN.exists():
        print("== wire probe vs nmap: bench/probe/run.py is absent; not measured")
        return None
    print("== wire probe vs nmap (bench/probe/run.py)", flush=True)
    proc = subprocess.run(
        [sys.executable, str(PROBE_RUN), "--rounds", str(rounds)],
        timeout=PROBE_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        return {"error": f"bench/probe/run.py exited {proc.returncode}"}
    data: Dict[str, Any] = json.loads(PROBE_JSON.read_text())
    rows = data["real_samba"]["rows"]
    best = data["real_samba"].get("best_ours", "ours_64")
    silent = data.get("silent", {})
    return {
        "source": "bench/results/probe.json",
        "rounds": data.get("rounds"),
        "ours_in_flight": best.rsplit("_", 1)[-1],
        "endpoints": rows[best]["of"],
        "ours_wall_s": round(rows[best]["wall_s"], 3),
        "ours_cpu_s": round(rows[best]["cpu_s"], 3),
        "ours_correct": rows[best]["correct"],
        "nmap_wall_s": round(rows["nmap_one_run"]["wall_s"], 3),
        "nmap_cpu_s": round(rows["nmap_one_run"]["cpu_s"], 3),
        "nmap_correct": rows["nmap_one_run"]["correct"],
        "ratios": data["real_samba"]["ratios"],
        "cpu_ms_per_probe": data.get("client_cost", {}).get("cpu_ms_per_probe"),
        "server_floor_s": data["real_samba"].get("server_floor_s"),
        "replay_ours_wall_s": _wall(data, "ours_64"),
        "replay_nmap_wall_s": _wall(data, "nmap_one_run"),
        "silent_nmap_wall_s": (silent.get("nmap") or {}).get("wall_s"),
        "silent_ours_wall_s_deadline_1": (silent.get("ours_deadline_1.0") or {}).get("wall_s"),
    }


def _wall(data: Dict[str, Any], client: str) -> Optional[float]:
    """A client's wall time against the replaying fake server (section 2), if measured."""
    row = data.get("client_cost", {}).get("rows", {}).get(client)
    return round(row["wall_s"], 3) if row else None
