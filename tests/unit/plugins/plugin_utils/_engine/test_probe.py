"""probe.py: the SMB negotiate from the controller, asked again while refused or closed, and in a
thread while the host's script runs."""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
from unit.plugins.plugin_utils._engine.answers import ALL_ON, assessed

from ansible_collections.winhardening.smb.plugins.module_utils import smb_negotiate
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine import probe
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.options import ProbeTarget

TARGET = ProbeTarget("host01", 1445, 2.5)
NO_DELAYS = (0.0, 0.0, 0.0, 0.0, 0.0)


def result(
    error: Optional[str] = None, required: Optional[bool] = None
) -> smb_negotiate.ProbeResult:
    answered = required is not None
    return smb_negotiate.ProbeResult(
        address="host01",
        port=1445,
        reachable=answered or error == "closed",
        dialect="3.1.1" if answered else None,
        signing_enabled=True if answered else None,
        signing_required=required,
        server_guid=None,
        signing_algorithm=None,
        smb1_security_mode=None,
        error=error,
        detail="" if error is None else f"{error} detail",
        elapsed=0.01,
    )


class FakeEndpoint:
    """probe_endpoint answering from a script of results, recording each call."""

    def __init__(self, *script: smb_negotiate.ProbeResult) -> None:
        self.script = list(script)
        self.calls: List[Tuple[str, int, float]] = []

    def __call__(
        self, host: str, port: int = 445, deadline: float = 3.0
    ) -> smb_negotiate.ProbeResult:
        self.calls.append((host, port, deadline))
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeEndpoint]:
    def install(*script: smb_negotiate.ProbeResult) -> FakeEndpoint:
        fake = FakeEndpoint(*script)
        monkeypatch.setattr(smb_negotiate, "probe_endpoint", fake)
        return fake

    return install


def test_an_answer_is_not_asked_again(endpoint) -> None:
    fake = endpoint(result(required=True))
    out = probe.probe_with_retries(TARGET, NO_DELAYS)
    assert out["signing_required"] is True
    assert fake.calls == [("host01", 1445, 2.5)]


@pytest.mark.parametrize("error", ["refused", "closed"])
def test_refused_and_closed_are_asked_again(endpoint, error: str) -> None:
    fake = endpoint(result(error), result(error), result(required=False))
    out = probe.probe_with_retries(TARGET, NO_DELAYS)
    assert len(fake.calls) == 3
    assert out["signing_required"] is False
    assert out["error"] is None


@pytest.mark.parametrize("error", ["timeout", "garbage", "unresolved", "status", "local"])
def test_other_errors_are_not_asked_again(endpoint, error: str) -> None:
    fake = endpoint(result(error), result(required=True))
    out = probe.probe_with_retries(TARGET, NO_DELAYS)
    assert len(fake.calls) == 1
    assert out["error"] == error
    assert out["signing_required"] is None


def test_retries_stop_after_the_last_delay(endpoint) -> None:
    fake = endpoint(result("refused"))
    out = probe.probe_with_retries(TARGET, (0.0, 0.0))
    assert len(fake.calls) == 3
    assert out["error"] == "refused"


def test_retries_wait_the_given_delays(endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    waited: List[float] = []
    monkeypatch.setattr(probe.time, "sleep", waited.append)
    fake = endpoint(result("closed"), result("refused"), result("closed"), result(required=True))
    probe.probe_with_retries(TARGET)  # the default delays, without sleeping
    assert len(fake.calls) == 4
    assert waited == list(probe.PROBE_RETRY_DELAYS[:3])


def test_default_delays_total_at_most_seven_seconds() -> None:
    assert sum(probe.PROBE_RETRY_DELAYS) <= 7.0
    assert set(probe.RETRIED_PROBE_ERRORS) == {"refused", "closed"}


def test_result_is_the_probe_result_as_a_dict(endpoint) -> None:
    endpoint(result(required=False))
    out = probe.probe_with_retries(TARGET, NO_DELAYS)
    assert out == result(required=False).to_dict()


# --- PendingProbe ------------------------------------------------------------------------------


def test_pending_probe_runs_in_its_own_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    started = threading.Event()
    release = threading.Event()

    def slow(host: str, port: int = 445, deadline: float = 3.0) -> smb_negotiate.ProbeResult:
        started.set()
        assert release.wait(5)
        return result(required=True)

    monkeypatch.setattr(smb_negotiate, "probe_endpoint", slow)
    pending = probe.PendingProbe(TARGET, NO_DELAYS)
    assert started.wait(5)  # under way while the caller goes on
    release.set()
    assert pending.result()["signing_required"] is True


def test_pending_probe_that_raises_gives_probe_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> smb_negotiate.ProbeResult:
        raise RuntimeError("boom")

    monkeypatch.setattr(smb_negotiate, "probe_endpoint", broken)
    out = probe.PendingProbe(TARGET, NO_DELAYS).result()
    assert out == {
        "address": "host01",
        "port": 1445,
        "reachable": False,
        "signing_required": None,
        "error": "probe_failed",
        "detail": "RuntimeError: boom",
    }


def test_a_failed_probe_makes_the_host_unverified(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> smb_negotiate.ProbeResult:
        raise OSError("no sockets left")

    monkeypatch.setattr(smb_negotiate, "probe_endpoint", broken)
    answer: Dict[str, Any] = probe.PendingProbe(TARGET, NO_DELAYS).result()
    a = assessed(settings=ALL_ON).with_wire(answer)
    assert a.verdict.status == "unverified"
    assert "host01:1445" in a.verdict.reasons[0]
    assert "probe_failed" in a.verdict.reasons[0]
    assert "OSError: no sockets left" in a.verdict.reasons[0]


def test_pending_probe_result_can_be_asked_twice(endpoint) -> None:
    endpoint(result(required=False))
    pending = probe.PendingProbe(TARGET, NO_DELAYS)
    assert pending.result() == pending.result()
