"""Benchmark of the SMB signing wire probe against nmap and smbprotocol (not a test).

Prints wall time, CPU and ratios measured side by side in one run, and writes
bench/results/probe.json. It asserts no timings: the machine is shared and timings are noisy.

1. 200 real Samba endpoints (four smbd, each owning 50 loopback addresses): our probe vs one
   nmap smb2-security-mode run over all 200 vs smbprotocol (32 threads).
2. Client-only cost: the same 200 probes against a fake server in another process that replays
   a captured Samba negotiate answer, so the CPU we measure is the client's alone.
3. A silent endpoint: what it costs us for a given deadline, and what it costs nmap.

Usage: python bench/probe/run.py [--rounds N] [--skip-nmap-silent]
Network traffic goes only to 127.0.0.0/8.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".collections"
link = COLLECTIONS / "ansible_collections" / "winhardening" / "smb"
if not link.is_symlink():
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(REPO, target_is_directory=True)
sys.path.insert(0, str(COLLECTIONS))
sys.path.insert(0, str(REPO / "bench"))

from proc_cpu import process_tree_cpu  # noqa: E402

from ansible_collections.winhardening.smb.plugins.module_utils.smb_negotiate import (  # noqa: E402
    probe_endpoint,
    probe_many,
)
from ansible_collections.winhardening.smb.tests.integration.probe import smbd_lab  # noqa: E402

SAMBA_PORT = 14480
FAKE_PORT = 14490
# (name, signing, max protocol, expected signing_required, address block); 50 addresses each.
SMBD_GROUPS = [
    ("benchmand", "mandatory", "SMB3_11", True, "127.0.8"),
    ("benchauto", "auto", "SMB3_11", False, "127.0.9"),
    ("benchm21", "mandatory", "SMB2_10", True, "127.0.10"),
    ("benchdis", "disabled", "SMB3_02", False, "127.0.11"),
]
PER_GROUP = 50
CORES = os.cpu_count() or 1
FAKE_ADDRESSES = [f"127.0.12.{i}" for i in range(1, 201)]
SILENT = ("127.0.13.1", FAKE_PORT)

_FAKE_SERVER = """
import sys, time
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[4])
from ansible_collections.winhardening.smb.tests.integration.probe import fake_endpoints
fakes = fake_endpoints.FakeEndpoints()
for address in sys.argv[5:]:
    fakes.serve("replay", address, int(sys.argv[2]))
fakes.serve("silent", sys.argv[3], int(sys.argv[2]))
print("ready", flush=True)
sys.stdin.read()
fakes.close()
"""


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(fn: Callable[[], Any], children: bool = False) -> tuple[float, float, Any]:
    """(wall s, CPU s, result) of one call; CPU of this process, or of waited-for children."""
    clock = cpu_children if children else cpu_self
    c0, t0 = clock(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, clock() - c0, out


# --- the three clients ---------------------------------------------------------------------


def ours(endpoints: list[tuple[str, int]], concurrency: int = 64) -> dict[tuple[str, int], Any]:
    results = probe_many(endpoints, concurrency=concurrency, deadline=3.0)
    return {(r.address, r.port): r.signing_required for r in results}


def ours_sequential(endpoints: list[tuple[str, int]]) -> dict[tuple[str, int], Any]:
    return {(h, p): probe_endpoint(h, p, 3.0).signing_required for h, p in endpoints}


def _smbprotocol_one(endpoint: tuple[str, int]) -> bool | None:
    from smbprotocol.connection import Connection  # noqa: PLC0415 (only when benchmarked)

    conn = Connection(uuid.uuid4(), endpoint[0], endpoint[1], require_signing=False)
    try:
        conn.connect(timeout=3)
        return bool(conn.server_security_mode & 0x02)
    except Exception:
        return None
    finally:
        conn.disconnect(close=False)


def smbprotocol(endpoints: list[tuple[str, int]], threads: int = 32) -> dict[tuple[str, int], Any]:
    with ThreadPoolExecutor(threads) as pool:
        return dict(zip(endpoints, pool.map(_smbprotocol_one, endpoints)))


def nmap(endpoints: list[tuple[str, int]]) -> dict[tuple[str, int], Any]:
    port = endpoints[0][1]
    assert all(p == port for _, p in endpoints)
    proc = subprocess.run(
        ["nmap", "-Pn", "-n", "-p", str(port), "--script", "smb2-security-mode"]
        + ["--script-args", f"smbport={port}", "-oX", "-"]
        + [h for h, _ in endpoints],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    found: dict[tuple[str, int], Any] = dict.fromkeys(endpoints)
    for host in ET.fromstring(proc.stdout).iter("host"):
        addr = host.find("address")
        text = " ".join(e.text or "" for e in host.iter("elem"))
        if addr is not None and text:
            found[(addr.get("addr", ""), port)] = text.endswith("enabled and required")
    return found


# --- runs ----------------------------------------------------------------------------------


def run_series(
    label: str,
    fn: Callable[[], dict[tuple[str, int], Any]],
    expected: dict[tuple[str, int], bool],
    rounds: int,
    *,
    children: bool = False,
    server_pids: list[int] | None = None,
) -> dict[str, Any]:
    walls, cpus, servers, correct = [], [], [], []
    for _ in range(rounds):
        s0 = process_tree_cpu(server_pids or [])
        wall, cpu, got = measure(fn, children=children)
        if server_pids:
            time.sleep(0.3)  # let smbd reap the last children, whose CPU it then counts
            servers.append(process_tree_cpu(server_pids) - s0)
        walls.append(wall)
        cpus.append(cpu)
        correct.append(sum(got.get(k) == v for k, v in expected.items()))
    row = {
        "wall_s": statistics.median(walls),
        "cpu_s": statistics.median(cpus),
        "walls": walls,
        "cpus": cpus,
        "correct": min(correct),
        "of": len(expected),
    }
    line = (
        f"  {label:<28} wall {row['wall_s']:7.3f} s   CPU {row['cpu_s']:7.3f} s   "
        f"correct {row['correct']}/{row['of']}"
    )
    if servers:
        row["server_cpu_s"] = statistics.median(servers)
        # What the server alone needs of this machine's cores: no client can finish sooner.
        row["server_floor_s"] = row["server_cpu_s"] / CORES
        line += f"   smbd CPU {row['server_cpu_s']:6.3f} s (floor {row['server_floor_s']:.3f} s)"
    print(line)
    return row


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b > 0 else float("inf")


def real_samba(rounds: int) -> dict[str, Any]:
    print(f"\n1. {PER_GROUP * len(SMBD_GROUPS)} real Samba endpoints ({len(SMBD_GROUPS)} smbd)")
    root = Path(tempfile.mkdtemp(prefix="probe-bench-"))
    instances = []
    expected: dict[tuple[str, int], bool] = {}
    try:
        for name, signing, high, required, block in SMBD_GROUPS:
            addresses = [f"{block}.{i}" for i in range(1, PER_GROUP + 1)]
            instances.append(
                smbd_lab.start_smbd(
                    root, name, addresses, port=SAMBA_PORT, signing=signing, max_protocol=high
                )
            )
            expected.update({(a, SAMBA_PORT): required for a in addresses})
        eps = list(expected)
        ours(eps[:8])  # warm-up: imports, first forks of smbd
        pids = [inst.process.pid for inst in instances if inst.process is not None]
        rows = {
            "ours_64": run_series(
                "ours (64 in flight)", lambda: ours(eps), expected, rounds, server_pids=pids
            ),
            "ours_200": run_series(
                "ours (200 in flight)", lambda: ours(eps, 200), expected, rounds, server_pids=pids
            ),
            "nmap_one_run": run_series(
                "nmap smb2-security-mode",
                lambda: nmap(eps),
                expected,
                rounds,
                children=True,
                server_pids=pids,
            ),
            "smbprotocol_32_threads": run_series(
                "smbprotocol (32 threads)",
                lambda: smbprotocol(eps),
                expected,
                rounds,
                server_pids=pids,
            ),
        }
    finally:
        for inst in instances:
            inst.stop()
        shutil.rmtree(root, ignore_errors=True)
    best_key = min(("ours_64", "ours_200"), key=lambda k: rows[k]["wall_s"])
    ours_row, nmap_row = rows[best_key], rows["nmap_one_run"]
    # smbd's CPU for the same 200 negotiates varies from run to run on a shared machine; the
    # least of them, spread over every core, is the floor no client can beat, and nmap's wall
    # over it is the most any client could beat nmap by here.
    floor = min(r["server_floor_s"] for r in rows.values())
    ratios = {
        "nmap_wall_over_ours": ratio(nmap_row["wall_s"], ours_row["wall_s"]),
        "smbprotocol_wall_over_ours": ratio(
            rows["smbprotocol_32_threads"]["wall_s"], ours_row["wall_s"]
        ),
        "nmap_cpu_over_ours": ratio(nmap_row["cpu_s"], ours_row["cpu_s"]),
        "smbprotocol_cpu_over_ours": ratio(
            rows["smbprotocol_32_threads"]["cpu_s"], ours_row["cpu_s"]
        ),
        "ours_wall_over_server_floor": ratio(ours_row["wall_s"], floor),
        "nmap_wall_over_server_floor": ratio(nmap_row["wall_s"], floor),
    }
    print(
        f"  => throughput vs nmap {ratios['nmap_wall_over_ours']}x ({best_key}), "
        f"vs smbprotocol {ratios['smbprotocol_wall_over_ours']}x; CPU: nmap/ours "
        f"{ratios['nmap_cpu_over_ours']}x, smbprotocol/ours {ratios['smbprotocol_cpu_over_ours']}x"
    )
    print(
        f"  => smbd's least CPU for these negotiates, over {CORES} cores: {floor:.3f} s; ours "
        f"takes {ratios['ours_wall_over_server_floor']}x that floor, nmap "
        f"{ratios['nmap_wall_over_server_floor']}x (the most any client could beat nmap by here)"
    )
    return {"rows": rows, "ratios": ratios, "best_ours": best_key, "server_floor_s": floor}


def fake_server() -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _FAKE_SERVER,
            str(COLLECTIONS),
            str(FAKE_PORT),
            SILENT[0],
            str(REPO / "tests"),
            *FAKE_ADDRESSES,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise RuntimeError("fake server did not start")
    return proc


def client_cost(rounds: int) -> dict[str, Any]:
    n = len(FAKE_ADDRESSES)
    print(f"\n2. Client-only cost: {n} probes against a replaying fake server (other process)")
    eps = [(a, FAKE_PORT) for a in FAKE_ADDRESSES]
    expected = dict.fromkeys(eps, True)
    ours(eps[:8])
    rows = {
        "ours_64": run_series("ours (64 in flight)", lambda: ours(eps), expected, rounds),
        "ours_sequential": run_series(
            "ours (blocking, one by one)", lambda: ours_sequential(eps), expected, rounds
        ),
        "smbprotocol_32_threads": run_series(
            "smbprotocol (32 threads)", lambda: smbprotocol(eps), expected, rounds
        ),
        "nmap_one_run": run_series(
            "nmap smb2-security-mode", lambda: nmap(eps), expected, rounds, children=True
        ),
    }
    per_probe = {k: round(1000 * v["cpu_s"] / n, 3) for k, v in rows.items()}
    print("  CPU per probe (ms): " + ", ".join(f"{k} {v}" for k, v in per_probe.items()))
    mine = per_probe["ours_64"]
    print(
        f"  => smbprotocol/ours CPU {ratio(per_probe['smbprotocol_32_threads'], mine)}x, "
        f"nmap/ours CPU {ratio(per_probe['nmap_one_run'], mine)}x "
        f"(target: ours <= 0.5 ms per probe)"
    )
    # Throughput where the server costs next to nothing, so the clients themselves set the pace.
    throughput = ratio(rows["nmap_one_run"]["wall_s"], rows["ours_64"]["wall_s"])
    print(f"  => throughput vs nmap against this server: {throughput}x")
    return {
        "rows": rows,
        "cpu_ms_per_probe": per_probe,
        "nmap_wall_over_ours": throughput,
    }


def silent_cost(skip_nmap: bool) -> dict[str, Any]:
    print("\n3. A silent endpoint (accepts, reads, never answers)")
    rows: dict[str, Any] = {}
    for deadline in (0.5, 1.0, 3.0):
        wall, cpu, result = measure(partial(probe_endpoint, *SILENT, deadline=deadline))
        rows[f"ours_deadline_{deadline}"] = {
            "deadline_s": deadline,
            "wall_s": wall,
            "cpu_s": cpu,
            "error": result.error,
        }
        print(
            f"  ours, deadline {deadline:>4} s: wall {wall:6.3f} s  CPU {cpu * 1000:6.2f} ms  "
            f"-> {result.error}  (over deadline by {1000 * (wall - deadline):.1f} ms)"
        )
    if not skip_nmap:
        wall, cpu, got = measure(lambda: nmap([SILENT]), children=True)
        rows["nmap"] = {"wall_s": wall, "cpu_s": cpu, "reported": got[SILENT]}
        print(f"  nmap smb2-security-mode: wall {wall:6.3f} s  (prints nothing: {got[SILENT]})")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="repetitions per series (median)")
    parser.add_argument("--skip-nmap-silent", action="store_true", help="skip nmap's ~10 s wait")
    args = parser.parse_args()
    for tool in ("nmap", smbd_lab.SMBD):
        if shutil.which(tool) is None and not Path(tool).exists():
            sys.exit(f"bench/probe: {tool} is not installed (Debian packages samba and nmap)")
    report: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_avg": os.getloadavg(),
            "nmap": subprocess.run(
                ["nmap", "--version"], capture_output=True, text=True, check=False
            ).stdout.split("\n")[0],
        },
        "rounds": args.rounds,
    }
    report["real_samba"] = real_samba(args.rounds)
    server = fake_server()
    try:
        report["client_cost"] = client_cost(args.rounds)
        report["silent"] = silent_cost(args.skip_nmap_silent)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)
    out = REPO / "bench" / "results" / "probe.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(f"\nwrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
