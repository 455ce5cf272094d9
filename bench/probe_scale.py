"""The wire probe at fleet scale: 10,000 loopback endpoints, 20% of them silent.

The endpoints are the probe tests' fake endpoints (tests/integration/probe/fake_endpoints.py),
served by one asyncio process: every fifth endpoint ``silent`` (accepts, reads, never answers),
the others ``replay`` (the negotiate answer captured from Samba 4.17). Loopback needs one
address per endpoint, as the probe benchmark does (one port, many addresses of 127.0.0.0/8):
127.64.0.1 onwards here.

The probe is the ``smb_signing_probe`` module itself, run as a process of its own with its
defaults (concurrency sized from the open-file limit, the 3 s deadline) and ``max_endpoints``
raised to the endpoint count, so the wall time and the peak RSS are the module's: start-up,
target expansion, every probe and its JSON result. A silent endpoint holds its slot for the
whole deadline, so the bound is deadline x ceil(silent / concurrency) plus a small epsilon
for the rest (start-up, the answering endpoints, the result).
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
COLLECTIONS = REPO / ".collections"
MODULE = REPO / "plugins" / "modules" / "smb_signing_probe.py"
PORT = 14497
SILENT_EVERY = 5  # 20%
DEADLINE_S = 3.0  # the module's default, passed as the default would be
EPSILON_S = 1.5

_SERVER = """
import asyncio, json, resource, sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[4])  # tests/: samba_captures
from ansible_collections.winhardening.smb.tests.integration.probe import fake_endpoints
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
plan = json.loads(open(sys.argv[2]).read())
port = int(sys.argv[3])

async def main():
    servers = []
    for behaviour, address in plan:
        servers.append(await asyncio.start_server(
            fake_endpoints.BEHAVIOURS[behaviour], address, port, reuse_address=True, backlog=512))
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for server in servers:
        server.close()

asyncio.run(main())
"""


def address(i: int) -> str:
    return f"127.{64 + i // 62500}.{(i // 250) % 250}.{i % 250 + 1}"


def plan(count: int) -> List[List[str]]:
    return [
        ["silent" if i % SILENT_EVERY == SILENT_EVERY - 1 else "replay", address(i)]
        for i in range(count)
    ]


def _run_module(workdir: Path, targets: List[str]) -> Dict[str, Any]:
    """The module as a process of its own: its result, wall time, CPU and peak RSS."""
    args = workdir / "args.json"
    args.write_text(
        json.dumps(
            {
                "ANSIBLE_MODULE_ARGS": {
                    "targets": targets,
                    "port": PORT,
                    "max_endpoints": len(targets),
                }
            }
        )
    )
    out = workdir / "module-out.json"
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
    with out.open("wb") as handle:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(MODULE), str(args)], stdout=handle, stderr=subprocess.PIPE, env=env
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    text = out.read_text()
    try:
        result: Dict[str, Any] = json.loads(text)
    except ValueError:
        result = {"failed": True, "msg": (text + stderr)[-1500:]}
    return {
        "rc": proc.returncode,
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "result": result,
    }


def measure(workdir: Path, count: int) -> Dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    endpoints = plan(count)
    plan_file = workdir / "plan.json"
    plan_file.write_text(json.dumps(endpoints))
    silent = sum(1 for b, _a in endpoints if b == "silent")
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, *map(str, (COLLECTIONS, plan_file, PORT, REPO / "tests"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        ready = server.stdout.readline().strip()
        if ready != "ready":
            return {"endpoints": count, "error": f"the fake endpoints did not start: {ready!r}"}
        run = _run_module(workdir, [a for _b, a in endpoints])
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    result = run.pop("result")
    concurrency = result.get("concurrency")
    summary = result.get("summary") or {}
    expected_timeouts = summary.get("timeout") == silent
    expected_answers = summary.get("signing_required") == count - silent
    bound = DEADLINE_S * math.ceil(silent / concurrency) + EPSILON_S if concurrency else None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return {
        "endpoints": count,
        "silent": silent,
        "deadline_s": DEADLINE_S,
        "epsilon_s": EPSILON_S,
        "open_file_limit": soft if soft != resource.RLIM_INFINITY else None,
        "open_file_limit_hard": hard if hard != resource.RLIM_INFINITY else None,
        "concurrency": concurrency,
        "bound_s": bound,
        **run,
        "summary": {k: v for k, v in summary.items() if v},
        "answers_as_expected": bool(expected_timeouts and expected_answers),
        "error": None if run["rc"] == 0 else str(result.get("msg"))[:500],
        "met": bool(
            bound is not None
            and run["wall_s"] <= bound
            and run["rc"] == 0
            and expected_timeouts
            and expected_answers
        ),
    }
