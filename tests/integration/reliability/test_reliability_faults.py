"""Every fault the lab can inject, for the fact gatherer and for the enforce module.

All fault hosts run in one ansible-playbook run per step (they are independent hosts), so the
suite pays for each step once: faulted facts, faulted enforce, then both again after the faults
clear. A fault must give a clear error naming what went wrong, with no Python traceback; a
write the host carried out must show up in the result (as a change, or as state_unknown when
the connection dropped after it); and once the fault clears, a re-run converges.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest
from integration.playbook import Run, run_tasks
from integration.reliability.conftest import fault_host

from lab.client import LabClient
from lab.faults import FAULT_KINDS

pytestmark = [pytest.mark.lab, pytest.mark.slow]

# Short WinRM timeouts, so that "hang" costs seconds, not the 30 s default.
TIMEOUTS = {"ansible_winrm_read_timeout_sec": 6, "ansible_winrm_operation_timeout_sec": 4}
SLOW_DELAY_S = 0.3
# What the message must say for each kind (any one of the words, case-insensitive).
EXPECTED_WORDS: Dict[str, List[str]] = {
    "refused": ["refused"],
    "unauthorized": ["401", "unauthorized", "credentials", "auth"],
    "wsman_fault": ["0x80338000", "fault", "500"],
    "hang": ["timed out", "timeout"],
    "garbage_stdout": ["json", "could not be parsed", "not valid", "unreadable"],
    "truncated_stdout": ["json", "could not be parsed", "truncated", "not valid", "unreadable"],
    "access_denied": ["access is denied"],
}
# Faults that only fire on an apply, or only slow things down: the read succeeds.
READ_SUCCEEDS = {"drop_after_write", "slow"}
FACTS = {"name": "Read", "winhardening.smb.win_smb_signing_facts": {"probe": False}}
ENFORCE = {
    "name": "Enforce",
    "winhardening.smb.win_smb_signing": {"baseline": "cis", "probe": False},
}
HOSTS = [fault_host(k) for k in FAULT_KINDS]


def _run(lab: LabClient, task: Dict[str, Any]) -> Run:
    return run_tasks(
        [task], lab.inventory, limit=",".join(HOSTS), forks=len(HOSTS), extra_vars=TIMEOUTS
    )


@pytest.fixture(scope="module")
def fault_runs(rlab: LabClient) -> Dict[str, Any]:
    for kind in FAULT_KINDS:
        rlab.fault(fault_host(kind), kind, delay=SLOW_DELAY_S if kind == "slow" else None)
    before = {h: len(rlab.records(h)["writes"]) for h in HOSTS}
    facts_faulted = _run(rlab, FACTS)
    enforce_faulted = _run(rlab, ENFORCE)
    writes = {h: rlab.records(h)["writes"][before[h] :] for h in HOSTS}
    for host in HOSTS:
        rlab.clear_fault(host)
    enforce_after = _run(rlab, ENFORCE)
    facts_after = _run(rlab, FACTS)
    return {
        "facts_faulted": facts_faulted,
        "enforce_faulted": enforce_faulted,
        "writes_under_fault": writes,
        "enforce_after": enforce_after,
        "facts_after": facts_after,
    }


def _result(run: Run, host: str) -> Dict[str, Any]:
    assert host in run.results, f"no result for {host}:\n{run.tail()}"
    result: Dict[str, Any] = run.results[host]["0"]
    return result


def _assert_clear_error(kind: str, result: Dict[str, Any]) -> None:
    text = json.dumps(result)
    assert result.get("failed") or result.get("unreachable"), (kind, result)
    msg = str(result.get("msg", ""))
    assert msg, (kind, result)
    assert "Traceback" not in msg, (kind, msg)
    # ansible-core adds "exception" to an unreachable result ("(traceback unavailable)"); it
    # must never hold a real traceback.
    assert "Traceback" not in str(result.get("exception", "")), (kind, result["exception"])
    if kind in EXPECTED_WORDS:
        assert any(w in msg.lower() for w in EXPECTED_WORDS[kind]), (kind, msg)
    assert "Traceback (most recent call last)" not in text, (kind, text[:2000])


@pytest.mark.parametrize("kind", list(FAULT_KINDS))
def test_fact_gatherer_under_fault(fault_runs: Dict[str, Any], kind: str) -> None:
    result = _result(fault_runs["facts_faulted"], fault_host(kind))
    if kind in READ_SUCCEEDS:
        assert not result.get("failed"), (kind, result.get("msg"))
        assert result["ansible_facts"]["smb_signing"]["os"]["family"] == "windows_server_2022"
    else:
        _assert_clear_error(kind, result)


@pytest.mark.parametrize("kind", list(FAULT_KINDS))
def test_enforce_module_under_fault(fault_runs: Dict[str, Any], kind: str) -> None:
    host = fault_host(kind)
    result = _result(fault_runs["enforce_faulted"], host)
    writes = fault_runs["writes_under_fault"][host]
    if kind == "slow":
        assert not result.get("failed"), result.get("msg")
        assert result["changed"] is True
        return
    _assert_clear_error(kind, result)
    if kind == "drop_after_write":
        # The lab carried out the apply and dropped the answer: the task cannot know what
        # applied, and must say so rather than report nothing.
        assert writes, "the drop_after_write fault did not reach an apply"
        assert result.get("state_unknown") is True, result
    elif writes:
        # Anything written under a fault is reported as changed or as unknown.
        assert result.get("state_unknown") is True or result.get("changed") is True, (
            kind,
            writes,
            result,
        )


@pytest.mark.parametrize("kind", list(FAULT_KINDS))
def test_rerun_after_fault_clears_converges(fault_runs: Dict[str, Any], kind: str) -> None:
    host = fault_host(kind)
    enforce = _result(fault_runs["enforce_after"], host)
    assert not enforce.get("failed"), enforce.get("msg")
    assert not enforce.get("unreachable"), enforce.get("msg")
    facts = _result(fault_runs["facts_after"], host)
    assert not facts.get("failed"), facts.get("msg")
    smb = facts["ansible_facts"]["smb_signing"]
    assert smb["noncompliant"] == [], (kind, smb["noncompliant"])
    # The hosts whose first enforce wrote (slow, drop_after_write) have nothing left to change.
    if kind in READ_SUCCEEDS:
        assert enforce["changed"] is False, (kind, enforce.get("settings"))
