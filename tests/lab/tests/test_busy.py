"""The busy-host knobs (lab/busy.py): their parsing, the answers they plan, and what pywinrm's
own Receive loop (protocol.py get_command_output_raw / get_command_output) makes of them."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict, Iterator, List, Union

import pytest
from winrm.exceptions import WinRMOperationTimeoutError, WinRMTransportError

from lab import busy
from lab.busy import UTF8_BOM, Answer, Busy, plan, set_knob, split
from lab.client import LabClient
from lab.clixml import WARNING_TEXT, error_clixml, with_progress
from lab.fleet import FleetError, parse
from lab.lifecycle import running_lab
from lab.model import HostModel, ModelError
from lab.state import apply_assignment
from lab.tests._helpers import PREFIX, encode, run_stdin, session, stdin_script

PS_NS = "{http://schemas.microsoft.com/powershell/2004/04}"
ALL = {
    "receive_timeouts": 2,
    "receive_running": 2,
    "output_chunks": 3,
    "stderr_progress": True,
    "stdout_bom": True,
}


def _host(**kw: Any) -> HostModel:
    return HostModel(name="h1", os="windows_server_2022", domain_role=3, **kw)


def _states(answers: List[Answer]) -> List[str]:
    return [a.state for a in answers]


# -- the knobs ----------------------------------------------------------------------------------
def test_knobs_default_off_and_are_set_with_set() -> None:
    m = _host()
    assert m.busy == Busy()
    assert not m.busy.active
    for key, value in ALL.items():
        apply_assignment(m, f"{key}={str(value).lower()}")
    assert m.busy.to_json() == ALL
    assert m.busy.active
    # The model file keeps them (a lab restart keeps every change); an old file has none.
    again = HostModel.from_json(json.loads(json.dumps(m.to_json())))
    assert again.busy == m.busy
    old = m.to_json()
    del old["busy"]
    assert HostModel.from_json(old).busy == Busy()


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("receive_running=-1", "expected an integer 0..50"),
        ("receive_timeouts=many", "expected an integer 0..50"),
        ("receive_timeouts=51", "expected an integer 0..50"),
        ("output_chunks=0", "expected an integer 1..50"),
        ("stdout_bom=maybe", "expected true or false"),
    ],
)
def test_bad_knob_values_are_refused_naming_host_and_key(assignment: str, message: str) -> None:
    m = _host()
    with pytest.raises(
        ModelError, match=f"host h1: {assignment.split('=', maxsplit=1)[0]}: {message}"
    ):
        apply_assignment(m, assignment)
    assert m.busy == Busy()


def test_fleet_file_keys() -> None:
    fleet = parse(
        {"hosts": [{"name": "a", "os": "windows_server_2019", "domain_role": 3, **ALL}]}, "t"
    )
    assert fleet.hosts[0].busy.to_json() == ALL
    with pytest.raises(FleetError, match=r"hosts\[0\] \(a\): .*output_chunks"):
        parse(
            {"hosts": [{"name": "a", "os": "windows_10", "domain_role": 1, "output_chunks": 0}]},
            "t",
        )
    with pytest.raises(FleetError, match="stdout_bom"):
        parse(
            {"hosts": [{"name": "a", "os": "windows_10", "domain_role": 1, "stdout_bom": 2}]}, "t"
        )


def test_set_knob_takes_yaml_scalars() -> None:
    b = Busy()
    set_knob(b, "receive_running", 3)
    set_knob(b, "stderr_progress", True)
    assert (b.receive_running, b.stderr_progress) == (3, True)
    with pytest.raises(ValueError, match="integer"):
        set_knob(b, "receive_running", True)  # YAML's true is no count
    with pytest.raises(ValueError, match="unknown busy-host knob"):
        set_knob(b, "receive_slowly", 1)


# -- the planned answers ------------------------------------------------------------------------
def test_split_keeps_every_byte_in_order() -> None:
    assert split(b"abcdefg", 3) == [b"abc", b"de", b"fg"]
    assert split(b"ab", 4) == [b"a", b"b", b"", b""]
    assert split(b"", 2) == [b"", b""]


def test_default_plan_is_one_done_answer() -> None:
    assert plan(Busy(), b"out", b"err") == [Answer("Done", b"out", b"err")]


def test_running_answers_carry_nothing_until_done() -> None:
    answers = plan(Busy(receive_running=2), b"out", b"")
    assert answers == [Answer("Running"), Answer("Running"), Answer("Done", b"out")]


def test_chunks_split_both_streams_and_stderr_comes_early() -> None:
    answers = plan(Busy(output_chunks=2), b"abcd", b"xy")
    assert answers == [Answer("Running", b"ab", b"x"), Answer("Done", b"cd", b"y")]
    # More Running answers than parts: stderr (progress) first, stdout at the end.
    answers = plan(Busy(receive_running=3, output_chunks=2), b"abcd", b"xy")
    assert _states(answers) == ["Running"] * 3 + ["Done"]
    assert [a.stderr for a in answers] == [b"x", b"y", b"", b""]
    assert [a.stdout for a in answers] == [b"", b"", b"ab", b"cd"]


def test_timeouts_come_first_and_carry_nothing() -> None:
    b = Busy(**ALL)  # type: ignore[arg-type]
    answers = plan(b, b'{"op":"read_state"}\r\n', b"")
    assert _states(answers) == ["TimedOut"] * 2 + ["Running"] * 2 + ["Done"]
    assert answers[0] == answers[1] == Answer("TimedOut")
    assert b"".join(a.stdout for a in answers) == UTF8_BOM + b'{"op":"read_state"}\r\n'
    assert b"".join(a.stderr for a in answers).startswith(b"#< CLIXML\r\n<Objs ")


def test_bom_is_written_once() -> None:
    (answer,) = plan(Busy(stdout_bom=True), UTF8_BOM + b"x", b"")
    assert answer.stdout == UTF8_BOM + b"x"


def _records(stderr: bytes) -> List[ET.Element]:
    text = stderr.decode()
    assert text.startswith("#< CLIXML\r\n")
    return list(ET.fromstring(text.split("\r\n", 1)[1]))


def test_progress_and_warning_records_are_powershell_clixml() -> None:
    records = _records(with_progress(b""))
    assert [(r.tag, r.get("S")) for r in records] == [
        (f"{PS_NS}Obj", "progress"),
        (f"{PS_NS}Obj", "progress"),
        (f"{PS_NS}S", "warning"),
    ]
    assert records[2].text == WARNING_TEXT


def test_progress_joins_an_error_document_and_leaves_plain_text_alone() -> None:
    error = error_clixml("Access is denied.").encode()
    records = _records(with_progress(error))
    assert [r.get("S") for r in records] == ["progress", "progress", "warning", "Error"]
    assert with_progress(b"The command line is too long.\r\n") == (
        b"The command line is too long.\r\n"
    )


# -- through the endpoint, as pywinrm reads it ----------------------------------------------------
FLEET: Dict[str, Any] = {
    "name": "busy",
    "hosts": [
        {"name": "quiet", "os": "windows_server_2022", "domain_role": 3},
        # Set in the fleet file: the knobs reach the running lab from there too.
        {"name": "busy", "os": "windows_server_2022", "domain_role": 3, **ALL},
    ],
}


@pytest.fixture(scope="module")
def busy_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabClient]:
    with running_lab(FLEET, tmp_path_factory.mktemp("busy-lab")) as lab:
        yield lab


def _raw_receives(lab: LabClient, host: str, script: str) -> List[Any]:
    """Every Receive of one command as pywinrm's get_command_output_raw returns it (or the
    exception it raises)."""
    proto = session(lab, host).protocol
    shell = proto.open_shell()
    seen: List[Any] = []
    try:
        cid = proto.run_command(shell, "PowerShell", [*PREFIX, encode(script)])
        for _ in range(busy.MAX_ANSWERS):
            try:
                out = proto.get_command_output_raw(shell, cid)
            except WinRMOperationTimeoutError as exc:
                seen.append(exc)
                continue
            seen.append(out)
            if out[3]:
                break
        proto.cleanup_command(shell, cid)
    finally:
        proto.close_shell(shell)
    return seen


def test_the_fleet_knobs_reach_the_endpoint(busy_lab: LabClient) -> None:
    status = {h["name"]: h for h in busy_lab.status()["hosts"]}
    assert status["busy"]["busy"] == ALL
    assert status["quiet"]["busy"] is None


def test_pywinrm_sees_timeouts_then_running_then_done(busy_lab: LabClient) -> None:
    seen = _raw_receives(busy_lab, "busy", "Write-Output 'hello lab'; hostname")
    assert isinstance(seen[0], WinRMOperationTimeoutError)
    assert isinstance(seen[1], WinRMOperationTimeoutError)
    running, done = seen[2:4], seen[4]
    assert [r[3] for r in running] == [False, False]
    assert [r[2] for r in running] == [-1, -1]  # no ExitCode while Running
    assert done[2:] == (0, True)
    stdout = b"".join(r[0] for r in seen[2:])
    assert stdout == UTF8_BOM + b"hello lab\r\nBUSY\r\n"
    assert all(r[0] for r in seen[2:])  # every answer carried part of stdout
    stderr = b"".join(r[1] for r in seen[2:])
    assert [r.get("S") for r in _records(stderr)] == ["progress", "progress", "warning"]
    records = busy_lab.records("busy")
    assert records["receive_states"] == {"TimedOut": 2, "Running": 2, "Done": 1}
    assert records["wsman"]["Receive"] == 5
    assert records["busy"][-1]["answers"] == 5
    timed_out = [r for r in records["receives"] if r["state"] == "TimedOut"]
    assert [r["operation_timeout"] for r in timed_out] == ["PT20S", "PT20S"]  # pywinrm's default


def test_the_timed_out_fault_is_the_real_one(
    busy_lab: LabClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What pywinrm's transport gets with the HTTP 500: s:Receiver, w:TimedOut, 2150858793."""
    proto = session(busy_lab, "busy").protocol
    shell = proto.open_shell()
    try:
        cid = proto.run_command(shell, "hostname")
        send = proto.transport.send_message
        caught: List[WinRMTransportError] = []

        def spy(message: Union[str, bytes]) -> bytes:
            try:
                return send(message)
            except WinRMTransportError as exc:
                caught.append(exc)
                raise

        monkeypatch.setattr(proto.transport, "send_message", spy)
        with pytest.raises(WinRMOperationTimeoutError):
            proto.get_command_output_raw(shell, cid)
        (error,) = caught
        assert error.code == 500
        root = ET.fromstring(error.response_text)
        ns = {
            "s": "http://www.w3.org/2003/05/soap-envelope",
            "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
        }
        assert root.findtext(".//s:Code/s:Value", namespaces=ns) == "s:Receiver"
        assert root.findtext(".//s:Code/s:Subcode/s:Value", namespaces=ns) == "w:TimedOut"
        fault = root.find(".//f:WSManFault", ns)
        assert fault is not None
        assert fault.get("Code") == "2150858793"
        # The rest of the command's answers still come, in order.
        out, _err, rc = proto.get_command_output(shell, cid)
        assert (out, rc) == (UTF8_BOM + b"BUSY\r\n", 0)
        proto.cleanup_command(shell, cid)
    finally:
        proto.close_shell(shell)


def test_the_collections_bootstrap_on_a_busy_host(busy_lab: LabClient) -> None:
    """The script on stdin: the busy answers start once stdin is closed."""
    rc, out, err = run_stdin(
        busy_lab, "busy", stdin_script("read_state", {"events_since": None, "max_peers": 5})
    )
    assert rc == 0
    assert out.startswith("\ufeff{")
    assert json.loads(out.lstrip("\ufeff"))["computer_name"] == "BUSY"
    assert WARNING_TEXT in err


def test_a_quiet_host_is_unchanged_and_set_turns_a_knob_off(busy_lab: LabClient) -> None:
    r = session(busy_lab, "quiet").run_ps("hostname")
    assert (r.status_code, r.std_out, r.std_err) == (0, b"QUIET\r\n", b"")
    assert busy_lab.records("quiet")["receive_states"] == {"Done": 1}
    busy_lab.set("busy", "receive_timeouts=0", "receive_running=0", "output_chunks=1")
    try:
        before = busy_lab.records("busy")["wsman"]["Receive"]
        r = session(busy_lab, "busy").run_ps("hostname")
        assert r.std_out == UTF8_BOM + b"BUSY\r\n"
        assert busy_lab.records("busy")["wsman"]["Receive"] == before + 1
    finally:
        busy_lab.set("busy", "receive_timeouts=2", "receive_running=2", "output_chunks=3")


def test_cli_set_and_status_show_the_knobs(busy_lab: LabClient) -> None:
    cli = [sys.executable, "-m", "lab"]
    env_dir = ["--state-dir", str(busy_lab.state_dir)]
    tests_dir = str(Path(__file__).resolve().parents[2])
    done = subprocess.run(
        [*cli, "set", *env_dir, "quiet", "output_chunks=2", "stdout_bom=true"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tests_dir,
    )
    assert done.returncode == 0, done.stderr
    try:
        assert HostModel.from_json(busy_lab.model("quiet")).busy == Busy(
            output_chunks=2, stdout_bom=True
        )
        status = subprocess.run(
            [*cli, "status", *env_dir], capture_output=True, text=True, check=True, cwd=tests_dir
        ).stdout
        line = next(ln for ln in status.splitlines() if ln.split()[0] == "quiet")
        assert line.endswith(" busy output_chunks=2,stdout_bom=true"), line
        bad = subprocess.run(
            [*cli, "set", *env_dir, "quiet", "output_chunks=0"],
            capture_output=True,
            text=True,
            check=False,
            cwd=tests_dir,
        )
        assert bad.returncode == 1
        assert "output_chunks: expected an integer 1..50" in bad.stderr
    finally:
        busy_lab.set("quiet", "output_chunks=1", "stdout_bom=false")
