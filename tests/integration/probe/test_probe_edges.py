"""The probe at the edges of the probing host: too few file descriptors, a name with several
addresses of which some hang, and a name service that does not answer.

Each case runs the real probe (and, where it says so, the real module) against loopback
endpoints. What a run out of descriptors does is checked in a subprocess with a lowered
RLIMIT_NOFILE, so the pytest process keeps its own limit; the fake endpoints stay in the pytest
process, so only the probe is short of descriptors.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.winhardening.smb.plugins.module_utils import smb_negotiate
from ansible_collections.winhardening.smb.plugins.module_utils.smb_negotiate import (
    probe_endpoint,
    probe_many,
)

COLLECTIONS_ROOT = Path(__file__).resolve().parents[3] / ".collections"
TESTS_ROOT = Path(__file__).resolve().parents[2]
EPSILON = 0.5  # scheduling slack on a loaded 2-core machine


def _python(code: str, *args: str, stdin: str = "", timeout: float = 120) -> tuple[float, str]:
    """Run ``code`` in a fresh interpreter; (wall seconds until it exited, its stdout)."""
    env = dict(os.environ, PYTHONPATH=f"{COLLECTIONS_ROOT}{os.pathsep}{TESTS_ROOT}")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    wall = time.monotonic() - started
    assert proc.returncode in (0, 1), proc.stderr
    return wall, proc.stdout


# ---------------------------------------------------------------------------------------------
# out of file descriptors

_LIMITED = """
import json, resource, socket, sys
from collections import Counter
from ansible_collections.winhardening.smb.plugins.module_utils import smb_negotiate as n
limit, mode = int(sys.argv[1]), sys.argv[2]
resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
endpoints = [tuple(e) for e in json.load(sys.stdin)]
held = []
if mode == "stale_budget":
    # The budget was taken, then something else in the process used the descriptors up.
    n.descriptor_budget = lambda: 100000
if mode in ("stale_budget", "exhausted"):
    try:
        while True:
            held.append(socket.socket())
    except OSError:
        pass
    if mode == "stale_budget":
        for s in held[:3]:
            s.close()
        held = held[3:]
results = n.probe_many(endpoints, concurrency=1024, deadline=float(sys.argv[3]))
print(json.dumps([r.to_dict() for r in results]))
"""


@pytest.fixture(scope="module")
def fleet(fakes: Any) -> dict[str, list[tuple[str, int]]]:
    """100 silent endpoints, then 17 servers that do not require signing."""
    silent = [fakes.serve("silent", "127.0.9.1", 0) for _ in range(100)]
    unsigned = [fakes.serve("unsigned", f"127.0.9.{2 + i}", 0) for i in range(17)]
    return {"silent": silent, "unsigned": unsigned}


def _limited(fleet: dict[str, list[tuple[str, int]]], mode: str, deadline: float) -> Any:
    endpoints = fleet["silent"] + fleet["unsigned"]
    wall, out = _python(_LIMITED, "64", mode, str(deadline), stdin=json.dumps(endpoints))
    results = json.loads(out)
    assert [(r["address"], r["port"]) for r in results] == [tuple(e) for e in endpoints]
    return wall, results


def test_low_open_file_limit_caps_concurrency_and_loses_no_server(fleet: Any) -> None:
    """Limit 64, concurrency 1024 asked: the probe keeps to the limit, never 'refused'."""
    wall, results = _limited(fleet, "plain", 0.5)
    errors = [r["error"] for r in results]
    assert errors[:100] == ["timeout"] * 100
    assert [r["signing_required"] for r in results[100:]] == [False] * 17
    assert "refused" not in errors
    assert "local" not in errors
    print(f"limit 64, 117 endpoints at deadline 0.5 s: {wall:.2f} s")


def test_descriptors_used_up_behind_the_budget_lose_no_server(fleet: Any) -> None:
    """The budget was right when taken, then the descriptors ran out: the probe waits for its
    own sockets to close instead of calling the later endpoints refused."""
    _wall, results = _limited(fleet, "stale_budget", 0.5)
    errors = [r["error"] for r in results]
    assert "refused" not in errors, [r["detail"] for r in results if r["error"] == "refused"]
    for r in results[100:]:
        # A server that does not require signing is either proven so, or (if no descriptor
        # came free within its deadline) reported as a local error, which fails the task.
        assert r["signing_required"] is False or r["error"] == "local", r
    assert all(r["error"] in ("timeout", "local") for r in results[:100])


def test_no_descriptor_left_at_all_is_local_and_never_raises(fleet: Any) -> None:
    """Even the selector cannot be created: every endpoint is 'local', nothing raises."""
    _wall, results = _limited(fleet, "exhausted", 0.5)
    assert {r["error"] for r in results} == {"local"}
    assert "Too many open files" in results[0]["detail"]
    assert "open-file limit 64" in results[0]["detail"]


_MODULE_LIMITED = """
import json, resource, runpy, socket, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
from ansible_collections.winhardening.smb.plugins.module_utils import smb_negotiate as n
real_run = n._Multiplexer.run
def run_when_exhausted(self):
    # Something else in the process takes every descriptor after the module read its
    # arguments and sized its concurrency, right before the probe.
    held = []
    try:
        while True:
            held.append(socket.socket())
    except OSError:
        pass
    try:
        return real_run(self)
    finally:
        for s in held:
            s.close()
n._Multiplexer.run = run_when_exhausted
sys.argv = ["smb_signing_probe", sys.argv[1]]
runpy.run_module(
    "ansible_collections.winhardening.smb.plugins.modules.smb_signing_probe", run_name="__main__"
)
"""


def test_module_fails_when_out_of_descriptors(fleet: Any, tmp_path: Path) -> None:
    """Through the module: the task fails and still returns what it proved."""
    targets = [f"{h}:{p}" for h, p in fleet["silent"][:10] + fleet["unsigned"][:3]]
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"targets": targets, "deadline": 0.5}}))
    _wall, out = _python(_MODULE_LIMITED, str(args))
    result = json.loads(out)
    assert result["failed"] is True
    assert "ran out of resources" in result["msg"]
    assert result["summary"]["local"] >= 1
    assert result["summary"]["refused"] == 0
    # Every endpoint is either judged or listed as unverified: none vanishes.
    judged = {f"{e['address']}:{e['port']}" for e in result["endpoints"] if e["error"] is None}
    assert judged | set(result["unverified"]) == set(targets)


# ---------------------------------------------------------------------------------------------
# a name with several addresses


def _hanging_listener(address: str, port: int) -> list[socket.socket]:
    """A listener whose accept queue is full, so the kernel drops further SYNs: connecting to
    it hangs, like a host behind a firewall that drops packets."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(0)
    held = [listener]
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex((address, port))
        held.append(filler)
    time.sleep(0.2)
    return held


@pytest.fixture
def multi_name(fakes: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``multi.test`` resolves to three 127.0.10.x addresses with the port of a replaying
    server on the third; set which ones hang, refuse or answer through ``plan``."""
    _host, port = fakes.serve("unsigned", "127.0.10.3", 0)
    held: list[socket.socket] = []
    names: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def fake(  # noqa: PLR0917 - getaddrinfo's own signature
        host: Any, p: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> Any:
        if host in names and not flags & socket.AI_NUMERICHOST:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, p)) for ip in names[host]]
        return real(host, p, family, type, proto, flags)

    monkeypatch.setattr(socket, "getaddrinfo", fake)

    class Plan:
        def __init__(self) -> None:
            self.port = port

        def name(self, name: str, hanging: list[str], others: list[str]) -> str:
            for address in hanging:
                held.extend(_hanging_listener(address, port))
            names[name] = hanging + others
            return name

    try:
        yield Plan()
    finally:
        for s in held:
            s.close()


def test_every_address_of_a_name_is_tried_within_one_deadline(multi_name: Any) -> None:
    """Two addresses that hang, then one that answers: the answer, well inside the deadline
    (it took 4.0 s and ended in a timeout before: each address had the whole deadline)."""
    name = multi_name.name("multi.test", ["127.0.10.1", "127.0.10.2"], ["127.0.10.3"])
    port = multi_name.port
    for probe in (
        lambda: probe_endpoint(name, port, 2.0),
        lambda: probe_many([(name, port)], 4, 2.0)[0],
    ):
        started = time.monotonic()
        result = probe()
        wall = time.monotonic() - started
        assert result.error is None, result
        assert result.signing_required is False
        assert "from 127.0.10.3" in result.detail
        assert "connect still pending on 127.0.10.1, 127.0.10.2" in result.detail
        # Staggered by 0.25 s each: the third address starts at 0.5 s.
        assert wall < 0.5 + EPSILON, wall
        print(f"two hanging addresses then one that answers: {wall:.2f} s")


def test_a_name_whose_addresses_all_hang_says_so(multi_name: Any) -> None:
    hanging = ["127.0.10.4", "127.0.10.5"]
    name = multi_name.name("hang.test", hanging, [])
    started = time.monotonic()
    result = probe_endpoint(name, multi_name.port, 1.0)
    wall = time.monotonic() - started
    assert result.error == "timeout"
    assert "while connecting" in result.detail
    assert "connect timed out on 2 addresses (127.0.10.4, 127.0.10.5)" in result.detail
    assert 1.0 - 0.05 <= wall <= 1.0 + EPSILON, wall


def test_refused_addresses_are_named_and_skipped_at_once(multi_name: Any) -> None:
    """A refused address lets the next one start at once, not after the stagger."""
    with socket.socket() as unused:  # a port nothing listens on at these addresses
        unused.bind(("127.0.10.6", multi_name.port))
    name = multi_name.name("refusing.test", [], ["127.0.10.6", "127.0.10.7", "127.0.10.3"])
    result = probe_endpoint(name, multi_name.port, 2.0)
    assert result.error is None, result
    assert "connection refused on 127.0.10.6, 127.0.10.7" in result.detail
    assert result.elapsed < 0.25, result
    name = multi_name.name("allrefused.test", [], ["127.0.10.6", "127.0.10.7"])
    result = probe_endpoint(name, multi_name.port, 2.0)
    assert result.error == "refused"
    assert "could not connect to any of 2 addresses" in result.detail
    assert "connection refused on 127.0.10.6, 127.0.10.7" in result.detail


def test_module_reports_a_multi_address_name(
    multi_name: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from ansible.module_utils.testing import patch_module_args

    from ansible_collections.winhardening.smb.plugins.modules import smb_signing_probe as mod

    name = multi_name.name("multi.test", ["127.0.10.8"], ["127.0.10.3"])
    args = {"targets": [f"{name}:{multi_name.port}"], "deadline": 2.0}
    with patch_module_args(args), pytest.raises(SystemExit):
        mod.main()
    out = json.loads(capsys.readouterr().out)
    assert out["relay_list"] == [f"{name}:{multi_name.port}"]
    assert out["unverified"] == []


# ---------------------------------------------------------------------------------------------
# a name service that does not answer

_SLOW_DNS = """
import json, socket, sys, time
real = socket.getaddrinfo
def slow(host, port, family=0, type=0, proto=0, flags=0):
    if str(host).endswith(".slow.test"):
        if flags & socket.AI_NUMERICHOST:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        time.sleep(30)  # a resolver that never answers within any deadline
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    return real(host, port, family, type, proto, flags)
socket.getaddrinfo = slow
"""

_SLOW_PROBE = (
    _SLOW_DNS
    + """
from ansible_collections.winhardening.smb.plugins.module_utils import smb_negotiate as n
started = time.monotonic()
many = n.probe_many([("a.slow.test", 445), ("b.slow.test", 445)], 4, 1.0)
many_wall = time.monotonic() - started
started = time.monotonic()
one = n.probe_endpoint("c.slow.test", 445, 1.0)
one_wall = time.monotonic() - started
print(json.dumps({"many": [r.to_dict() for r in many], "many_wall": many_wall,
                  "one": one.to_dict(), "one_wall": one_wall}))
"""
)

_SLOW_MODULE = (
    _SLOW_DNS
    + """
import runpy
sys.argv = ["smb_signing_probe", sys.argv[1]]
runpy.run_module(
    "ansible_collections.winhardening.smb.plugins.modules.smb_signing_probe", run_name="__main__"
)
"""
)


def test_slow_name_service_is_bounded_and_the_process_exits() -> None:
    """Lookups that take 30 s: each probe returns at its 1 s deadline, and the process exits
    right after (it exited after 6 s, and probe_endpoint waited for the lookup, before)."""
    wall, out = _python(_SLOW_PROBE)
    report = json.loads(out)
    assert [r["error"] for r in report["many"]] == ["timeout", "timeout"]
    assert report["one"]["error"] == "timeout"
    assert "while resolving the name" in report["one"]["detail"]
    assert report["many_wall"] <= 1.0 + EPSILON
    assert report["one_wall"] <= 1.0 + EPSILON
    # Both probes' deadlines plus interpreter start: nowhere near the 30 s lookups.
    assert wall <= 2.0 + 3 * EPSILON + 2.0, wall
    print(
        f"slow DNS: probe_many {report['many_wall']:.2f} s, probe_endpoint "
        f"{report['one_wall']:.2f} s, process {wall:.2f} s"
    )


def test_module_with_slow_names_ends_at_its_deadline(tmp_path: Path) -> None:
    """It took 23 s with a 1 s deadline; the names are now unverified, not forgotten."""
    args = tmp_path / "args.json"
    module_args = {"targets": ["a.slow.test", "b.slow.test"], "deadline": 1.0}
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    wall, out = _python(_SLOW_MODULE, str(args))
    result = json.loads(out)
    assert result["relay_list"] == []
    assert result["unverified"] == ["a.slow.test:445", "b.slow.test:445"]
    assert wall <= 1.0 + 4.0, wall  # the deadline plus importing Ansible
    print(f"module, two slow names, 1 s deadline: process {wall:.2f} s")


def test_resolver_threads_are_daemons() -> None:
    """A lookup left running must not keep the interpreter alive."""
    attempt = smb_negotiate._Attempt(0, "x.test", 445, 1.0)
    woken: list[bool] = []
    resolver = smb_negotiate._Resolver(lambda: woken.append(True))
    resolver.submit(attempt)
    import threading

    threads = [t for t in threading.enumerate() if t.name == "smb-probe-dns"]
    assert threads
    assert all(t.daemon for t in threads)
    resolver.close()
