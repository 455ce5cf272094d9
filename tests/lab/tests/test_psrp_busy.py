"""The busy-host knobs (lab/busy.py) on PSRP pipelines, as pypsrp's own receive loop reads them
(powershell.py PowerShell.poll_invoke / RunspacePool._receive, Fragmenter.defragment)."""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from pypsrp.complex_objects import PSInvocationState
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool

from lab.busy import Answer, Busy, psrp_plan
from lab.client import LabClient
from lab.clixml import PROGRESS_ACTIVITY, WARNING_TEXT
from lab.lifecycle import running_lab
from lab.tests._helpers import protocol_script
from lab.tests.test_psrp_host import READ, bootstrap, errors, runspace

pytestmark = pytest.mark.lab

ALL = {
    "receive_timeouts": 2,
    "receive_running": 2,
    "output_chunks": 3,
    "stderr_progress": True,
    "stdout_bom": True,
}
# host -> its knobs (set in the fleet file); "quiet" has none.
HOSTS: Dict[str, Dict[str, Any]] = {
    "quiet": {},
    "timeouts": {"receive_timeouts": 3},
    "running": {"receive_running": 3},
    "chunks": {"output_chunks": 4},
    "progress": {"stderr_progress": True},
    "bom": {"stdout_bom": True},
    "busy": ALL,
}
FLEET: Dict[str, Any] = {
    "name": "psrp-busy",
    "connection": "psrp",
    "hosts": [
        {"name": name, "os": "windows_server_2022", "domain_role": 3, **knobs}
        for name, knobs in HOSTS.items()
    ],
}


# -- the planned answers ------------------------------------------------------------------------
def test_psrp_plan_spreads_fragments_and_keeps_their_order() -> None:
    late = [b"o1", b"o2", b"o3", b"s1"]
    answers = psrp_plan(Busy(output_chunks=2), [], late, 1000)
    assert answers == [Answer("Running", b"o1o2"), Answer("Done", b"o3s1")]
    # Progress first, the output at the end, timeouts before everything.
    b = Busy(receive_timeouts=1, receive_running=2, output_chunks=2, stderr_progress=True)
    answers = psrp_plan(b, [b"p1", b"w1"], late, 1000)
    assert [a.state for a in answers] == ["TimedOut", "Running", "Running", "Done"]
    assert [a.stdout for a in answers] == [b"", b"p1w1", b"o1o2", b"o3s1"]
    # Fewer fragments than parts: the early answers are empty, Running.
    answers = psrp_plan(Busy(output_chunks=3), [], [b"all"], 1000)
    assert [(a.state, a.stdout) for a in answers] == [
        ("Running", b""),
        ("Running", b""),
        ("Done", b"all"),
    ]


def test_psrp_plan_keeps_each_answer_within_the_envelope() -> None:
    answers = psrp_plan(Busy(receive_timeouts=1), [], [b"a" * 6, b"b" * 6, b"c" * 6], 12)
    assert [(a.state, a.stdout) for a in answers] == [
        ("TimedOut", b""),
        ("Running", b"a" * 6 + b"b" * 6),
        ("Done", b"c" * 6),
    ]


# -- through the endpoint, as pypsrp reads it ---------------------------------------------------
@pytest.fixture(scope="module")
def busy_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabClient]:
    with running_lab(FLEET, tmp_path_factory.mktemp("psrp-busy-lab")) as lab:
        yield lab


class Spy:
    """What pypsrp's receive loop met on one pool: the WS-Man fault codes its Receives raised
    (poll_invoke swallows 2150858793), and after each Receive whether its Fragmenter held part
    of a message for the next one."""

    def __init__(self, pool: RunspacePool) -> None:
        self.fault_codes: List[int] = []
        self.held_over: List[bool] = []
        receive, defragment = pool._receive, pool._fragmenter.defragment
        fragmenter = pool._fragmenter

        def spy_receive(*args: Any, **kwargs: Any) -> Any:
            try:
                return receive(*args, **kwargs)
            except WSManFaultError as exc:
                self.fault_codes.append(exc.code)
                raise

        def spy_defragment(data: bytes) -> Any:
            messages = defragment(data)
            self.held_over.append(bool(fragmenter.incoming_buffer))
            return messages

        pool._receive = spy_receive  # type: ignore[method-assign]
        fragmenter.defragment = spy_defragment  # type: ignore[method-assign]


def _read(lab: LabClient, host: str) -> Tuple[PowerShell, Spy, List[Dict[str, Any]]]:
    """The collection's read_state through the bootstrap on ``host``; the pipeline, what the
    client met, and the lab's records of the pipeline's Receives."""
    before = lab.records(host)
    with runspace(lab, host) as (pool, _):
        spy = Spy(pool)
        ps = bootstrap(pool, protocol_script("read_state", READ).splitlines())
    after = lab.records(host)
    assert ps.state == PSInvocationState.COMPLETED, errors(ps)
    assert not ps.had_errors
    assert len(ps.output) == 1  # the one JSON line, whole
    answer = json.loads(ps.output[0])
    assert (answer["op"], answer["computer_name"]) == ("read_state", host.upper())
    receives = after["receives"][len(before["receives"]) :]
    assert {r["transport"] for r in receives} <= {"psrp"}
    return ps, spy, receives


def test_the_fleet_knobs_reach_the_psrp_endpoint(busy_lab: LabClient) -> None:
    ps, spy, receives = _read(busy_lab, "quiet")
    # A quiet host: the pipeline's answer comes with its first Receive, nothing recorded as busy.
    assert receives == []
    assert busy_lab.records("quiet")["busy"] == []
    assert spy.fault_codes == []
    assert not any(spy.held_over)
    assert ps.streams.progress == []
    assert ps.streams.warning == []


def test_timed_out_receives_are_retried_by_pypsrp(busy_lab: LabClient) -> None:
    _ps, spy, receives = _read(busy_lab, "timeouts")
    assert [r["state"] for r in receives] == ["TimedOut"] * 3 + ["Done"]
    # The fault pypsrp's poll_invoke retries: the code it compares with, once per timeout.
    assert spy.fault_codes == [2150858793] * 3
    assert all(r["operation_timeout"].startswith("PT") for r in receives[:3]), receives
    assert receives[3]["stdout_bytes"] > 0
    assert receives[3]["message_open"] is False


def test_running_answers_before_done(busy_lab: LabClient) -> None:
    _ps, spy, receives = _read(busy_lab, "running")
    assert [r["state"] for r in receives] == ["Running"] * 3 + ["Done"]
    # The first carries what the pipeline said when it started (psrpcore's PipelineState
    # Running message, one fragment), the others nothing: the answer comes with Done.
    assert [r["fragments"] for r in receives[:3]] == [1, 0, 0]
    assert receives[3]["fragments"] >= 2  # the output, the state
    assert not any(r["message_open"] for r in receives)
    assert spy.fault_codes == []
    (record,) = busy_lab.records("running")["busy"]
    assert (record["answers"], record["receive_running"]) == (4, 3)


def test_messages_split_across_receives_are_put_back_together(busy_lab: LabClient) -> None:
    _ps, spy, receives = _read(busy_lab, "chunks")
    assert [r["state"] for r in receives] == ["Running"] * 3 + ["Done"]
    assert all(r["stdout_bytes"] > 0 for r in receives), receives
    # The output message begins in one Receive and ends in a later one...
    assert [r["message_open"] for r in receives[:-1]] == [True, True, True], receives
    assert receives[-1]["message_open"] is False
    # ... and pypsrp's Fragmenter kept the part it had across those Receives.
    assert True in spy.held_over
    assert spy.held_over[-1] is False
    (record,) = busy_lab.records("chunks")["busy"]
    assert record["fragment_size"] < sum(r["stdout_bytes"] for r in receives) // 4


def test_progress_and_warning_records_before_the_output(busy_lab: LabClient) -> None:
    ps, _spy, receives = _read(busy_lab, "progress")
    assert [r["state"] for r in receives] == ["Done"]
    assert [p.activity for p in ps.streams.progress] == [PROGRESS_ACTIVITY] * 2
    assert [str(w.message) for w in ps.streams.warning] == [WARNING_TEXT]
    assert ps.streams.error == []
    (record,) = busy_lab.records("progress")["busy"]
    assert (record["progress_records"], record["warning_records"]) == (2, 1)


def test_the_bom_is_winrs_only(busy_lab: LabClient) -> None:
    ps, _spy, receives = _read(busy_lab, "bom")
    assert not ps.output[0].startswith("\ufeff")
    assert receives == []
    assert busy_lab.records("bom")["busy"] == []


def test_every_knob_at_once_on_a_read_a_write_and_a_failure(busy_lab: LabClient) -> None:
    ps, spy, receives = _read(busy_lab, "busy")
    assert [r["state"] for r in receives] == ["TimedOut"] * 2 + ["Running"] * 2 + ["Done"]
    assert spy.fault_codes == [2150858793] * 2
    assert all(r["stdout_bytes"] > 0 for r in receives[2:]), receives
    assert True in spy.held_over
    assert len(ps.streams.progress) == 2
    assert len(ps.streams.warning) == 1
    request = {"server": {"RequireSecuritySignature": True}}
    busy_lab.fault("busy", "access_denied", once=True)
    with runspace(busy_lab, "busy") as (pool, _):
        denied = bootstrap(pool, protocol_script("apply", request).splitlines())
        written = bootstrap(pool, protocol_script("apply", request).splitlines())
    # The Failed state and its error record come whole after the busy answers too.
    assert denied.state == PSInvocationState.FAILED
    assert "Access is denied." in errors(denied)
    assert written.state == PSInvocationState.COMPLETED, errors(written)
    assert json.loads(written.output[0])["server_config"]["RequireSecuritySignature"] is True
    records = busy_lab.records("busy")
    assert records["writes"][-1]["property"] == "RequireSecuritySignature"
    states = [r["state"] for r in records["receives"][len(receives) :]]
    assert states == (["TimedOut"] * 2 + ["Running"] * 2 + ["Done"]) * 2
