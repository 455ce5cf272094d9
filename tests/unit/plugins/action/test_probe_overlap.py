"""The wire probe runs while the read runs, when nothing the run writes could make it stale."""

from __future__ import annotations

import threading
from typing import Any, Dict, List

import pytest
from unit.plugins.action.action_harness import Wire, run_action
from unit.plugins.plugin_utils.fake_windows import FakeHost

from ansible_collections.winhardening.smb.plugins.action import (
    win_smb_signing,
    win_smb_signing_facts,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine import probe as probe_mod

# Long enough that a probe started only after the read would never be seen in time.
WAIT_S = 5.0


class SlowReadHost(FakeHost):
    """Its read_state answers only once the probe has reached the wire (or WAIT_S passed), and
    records whether it had."""

    probe_started: threading.Event
    probe_seen_during_read: List[bool]
    wait_s = WAIT_S

    def exec_command(self, cmd: Any, in_data: Any = None, sudoable: bool = True) -> Any:
        if not self.calls:  # the first command is the read
            self.probe_seen_during_read.append(self.probe_started.wait(self.wait_s))
        return super().exec_command(cmd, in_data, sudoable)


def _host(name: str) -> SlowReadHost:
    host = SlowReadHost.demo(name)
    assert isinstance(host, SlowReadHost)
    host.probe_started = threading.Event()
    host.probe_seen_during_read = []
    return host


def _wire(host: SlowReadHost, monkeypatch: pytest.MonkeyPatch) -> Wire:
    wire = Wire(host)

    def probe(address: str, port: int = 445, deadline: float = 3.0) -> Any:
        host.probe_started.set()
        return wire(address, port, deadline)

    monkeypatch.setattr(probe_mod.smb_negotiate, "probe_endpoint", probe)
    return wire


def test_facts_probe_runs_during_the_read(monkeypatch: pytest.MonkeyPatch) -> None:
    host = _host("ms2022")
    wire = _wire(host, monkeypatch)
    result = run_action(win_smb_signing_facts, host, {})
    assert result.get("failed") is not True, result
    assert host.probe_seen_during_read == [True]
    assert len(wire.calls) == 1
    assert result["ansible_facts"]["smb_signing"]["observed"]["reachable"] is True


@pytest.mark.parametrize(
    ("args", "check_mode"),
    [({"mode": "audit"}, False), ({}, True)],
    ids=["audit", "enforce-check-mode"],
)
def test_read_only_runs_probe_during_the_read(
    monkeypatch: pytest.MonkeyPatch, args: Dict[str, Any], check_mode: bool
) -> None:
    host = _host("ms2022")
    wire = _wire(host, monkeypatch)
    result = run_action(
        win_smb_signing, host, {"baseline": "cis", "verify": True, **args}, check_mode=check_mode
    )
    assert host.probe_seen_during_read == [True]
    assert host.ops == ["read_state"]
    assert len(wire.calls) == 1
    assert result["ansible_facts"]["smb_signing"]["observed"]["reachable"] is True


def test_enforce_probes_once_after_the_write(monkeypatch: pytest.MonkeyPatch) -> None:
    host = _host("ms2022")
    host.wait_s = 0.5  # enforce must not probe before its plan: the read waits in vain
    wire = _wire(host, monkeypatch)
    result = run_action(win_smb_signing, host, {"baseline": "cis", "verify": True})
    assert result.get("failed") is not True, result
    assert host.ops == ["read_state", "apply"]
    # The read saw no probe under way, and the one probe came after the write.
    assert host.probe_seen_during_read == [False]
    assert len(wire.calls) == 1
