"""The probe against misbehaving endpoints: every one classified, in time, with bounded memory."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.winhardening.smb.plugins.module_utils.smb_negotiate import (
    probe_endpoint,
    probe_many,
)
from ansible_collections.winhardening.smb.tests.integration.probe import fake_endpoints

DEADLINE = 1.0
# Slack for a loaded 2-core machine: scheduling, not the probe, decides most of it.
EPSILON = 0.5
FAKES = fake_endpoints
HOSTILE = [b for b in FAKES.BEHAVIOURS if b not in ("replay", "unsigned")]
COLLECTIONS_ROOT = Path(__file__).resolve().parents[3] / ".collections"


def _check(behaviour: str, result: Any) -> None:
    kind, slow = FAKES.EXPECTED[behaviour]
    assert result.error == kind, (behaviour, result)
    assert result.reachable is True, (behaviour, result)
    assert result.detail
    assert result.elapsed <= DEADLINE + EPSILON, (behaviour, result.elapsed)
    if slow:
        assert result.elapsed >= DEADLINE - 0.05, (behaviour, result.elapsed)
    else:
        assert result.elapsed < DEADLINE, (behaviour, result.elapsed)
    if kind is not None:
        assert result.signing_required is None
        assert result.dialect is None


@pytest.mark.parametrize("behaviour", [*HOSTILE, "replay"])
def test_sync_probe_classifies(fakes: Any, behaviour: str) -> None:
    host, port = fakes.serve(behaviour, "127.0.0.1", 0)
    started = time.monotonic()
    result = probe_endpoint(host, port, deadline=DEADLINE)
    assert time.monotonic() - started <= DEADLINE + EPSILON
    _check(behaviour, result)


@pytest.mark.parametrize("behaviour", [*HOSTILE, "replay"])
def test_probe_many_classifies(fakes: Any, behaviour: str) -> None:
    host, port = fakes.serve(behaviour, "127.0.0.1", 0)
    started = time.monotonic()
    (result,) = probe_many([(host, port)], deadline=DEADLINE)
    assert time.monotonic() - started <= DEADLINE + EPSILON
    _check(behaviour, result)


def test_replay_reads_the_captured_answer(fakes: Any) -> None:
    host, port = fakes.serve("replay", "127.0.0.1", 0)
    result = probe_endpoint(host, port, deadline=DEADLINE)
    assert (result.dialect, result.signing_required, result.signing_algorithm) == (
        "3.1.1",
        True,
        "AES-GMAC",
    )


def test_status_names_the_nt_status(fakes: Any) -> None:
    host, port = fakes.serve("status", "127.0.0.1", 0)
    assert "0xc00000bb" in probe_endpoint(host, port, deadline=DEADLINE).detail


def _free_port() -> int:
    """A port that is very likely free on 127.0.0.1: bound, then closed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_nothing_listening_is_refused() -> None:
    port = _free_port()
    for result in (
        probe_endpoint("127.0.0.1", port, deadline=DEADLINE),
        *probe_many([("127.0.0.1", port)], deadline=DEADLINE),
    ):
        assert (result.error, result.reachable) == ("refused", False)
        assert result.elapsed < DEADLINE


def test_unresolvable_name_is_unresolved_with_a_reason() -> None:
    for result in (
        probe_endpoint("no-such-host.invalid", 445, deadline=DEADLINE),
        *probe_many([("no-such-host.invalid", 445)], deadline=DEADLINE),
    ):
        assert result.error == "unresolved"
        assert "resolve" in result.detail


def test_probe_many_resolves_names_and_keeps_the_input_order(fakes: Any) -> None:
    host, port = fakes.serve("replay", "127.0.0.1", 0)
    refused = _free_port()
    results = probe_many(
        [("localhost", port), (host, refused), ("no-such-host.invalid", port), (host, port)],
        concurrency=2,
        deadline=DEADLINE,
    )
    assert [(r.address, r.port) for r in results] == [
        ("localhost", port),
        (host, refused),
        ("no-such-host.invalid", port),
        (host, port),
    ]
    assert [r.error for r in results] == [None, "refused", "unresolved", None]
    assert results[0].signing_required is True


def test_probe_many_inside_a_running_loop(fakes: Any) -> None:
    """The fact gatherer may call probe_many from async code; asyncio.run would refuse there."""
    host, port = fakes.serve("replay", "127.0.0.1", 0)

    async def caller() -> list[Any]:
        return probe_many([(host, port)], concurrency=2, deadline=DEADLINE)

    (result,) = asyncio.run(caller())
    assert result.signing_required is True


_RSS_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from ansible_collections.winhardening.smb.plugins.module_utils.smb_negotiate import probe_many
    # VmHWM is this process's own peak; ru_maxrss would carry over the peak of the (large)
    # pytest process this one was forked from, because Linux keeps it across execve.
    def hwm_kb():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    endpoints = [tuple(e) for e in json.load(sys.stdin)]
    base = hwm_kb()
    started = time.monotonic()
    results = probe_many(endpoints, concurrency=len(endpoints), deadline=float(sys.argv[1]))
    wall = time.monotonic() - started
    peak = hwm_kb()
    print(json.dumps({"base_kb": base, "peak_kb": peak, "wall": wall,
                      "errors": [r.error for r in results],
                      "elapsed": [r.elapsed for r in results]}))
    """
)


@pytest.mark.slow
def test_200_hostile_endpoints_concurrently_bounded_rss(fakes: Any) -> None:
    """200 misbehaving endpoints at once: all classified in time, client RSS under 100 MB."""
    plan = [(HOSTILE[i % len(HOSTILE)], f"127.0.5.{1 + i // 100}", 0) for i in range(200)]
    endpoints = fakes.serve_many(plan)
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS_ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, str(DEADLINE)],
        input=json.dumps(endpoints),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    expected = [FAKES.EXPECTED[b][0] for b, _, _ in plan]
    assert report["errors"] == expected
    assert max(report["elapsed"]) <= DEADLINE + EPSILON
    assert report["wall"] <= DEADLINE + 2 * EPSILON
    print(
        f"200 hostile endpoints: wall {report['wall']:.2f} s, "
        f"peak RSS {report['peak_kb'] // 1024} MB"
    )
    assert report["peak_kb"] < 100 * 1024, report


@pytest.mark.parametrize(("concurrency", "waves"), [(2, 2), (4, 1)])
def test_probe_many_keeps_to_its_concurrency(fakes: Any, concurrency: int, waves: int) -> None:
    """Four silent endpoints, each held to a short deadline: two at a time take two deadlines,
    four at a time one."""
    deadline = 0.5
    endpoints = [fakes.serve("silent", "127.0.0.1", 0) for _ in range(4)]
    started = time.monotonic()
    results = probe_many(endpoints, concurrency=concurrency, deadline=deadline)
    wall = time.monotonic() - started
    assert [r.error for r in results] == ["timeout"] * 4
    assert waves * deadline - 0.05 <= wall <= waves * deadline + EPSILON, wall


def test_probe_many_never_raises_on_odd_targets() -> None:
    odd = [("256.1.1.1", 445), ("bad name!", 445), ("\u2603.invalid", 445), ("127.0.0.1", 0)]
    results = probe_many(odd, concurrency=2, deadline=DEADLINE)
    assert [(r.address, r.port) for r in results] == odd
    assert all(r.error in ("refused", "unresolved", "timeout") for r in results), results
    assert all(r.detail for r in results)
