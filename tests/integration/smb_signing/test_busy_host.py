"""The collection against hosts that answer WinRM like a busy real host (issue 15, item 6).

Each demo host but one is given one busy-host knob of the lab (tests/lab/busy.py), web01 all of
them, ms2016 none; then win_smb_signing_facts runs through ansible-playbook over Ansible's real
winrm connection. A host's facts must be exactly what the same host gives when it answers at
once, and the lab's records must show the busy answers were given: the w:TimedOut faults, the
Running answers, the output in parts, the CLIXML progress on stderr with exit code 0, the BOM.
The same knobs over Ansible's psrp connection (the lab's psrp inventory): the faults, the PSRP
messages spread over Running answers, the progress and warning records before the output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import yaml
from integration.playbook import REPO, Run, run_playbook, run_task

from lab.clixml import WARNING_TEXT
from lab.inventory import FILES
from lab.model import HostModel

pytestmark = [pytest.mark.lab, pytest.mark.slow]

ALL_KNOBS = [
    "receive_timeouts=2",
    "receive_running=2",
    "output_chunks=3",
    "stderr_progress=true",
    "stdout_bom=true",
]
# host -> the knobs it gets; ms2016 gets none and shows the plain answer is unchanged.
BUSY: Dict[str, List[str]] = {
    "dc01": ["receive_running=3"],
    "dc02": ["output_chunks=4"],
    "ms2019": ["receive_timeouts=2"],
    "ms2022": ["stderr_progress=true"],
    "ms2025": ["stdout_bom=true"],
    "web01": ALL_KNOBS,
}
QUIET = [
    "receive_timeouts=0",
    "receive_running=0",
    "output_chunks=1",
    "stderr_progress=false",
    "stdout_bom=false",
]
PROBE_PORT = {"probe_port": "{{ smb_signing_probe_port }}"}
# The oldest ansible-core the collection claims (meta/runtime.yml), whose winrm plugin decodes
# CLIXML stderr with its older helper (shell/powershell.py _parse_clixml).
OLDEST_CORE = REPO / ".venv-core2.19"


def _facts(lab: Any, limit: str = "all") -> Run:
    return run_task(lab.inventory, "win_smb_signing_facts", {**PROBE_PORT}, limit=limit)


def _facts_of(result: Dict[str, Any]) -> Dict[str, Any]:
    facts: Dict[str, Any] = result["ansible_facts"]["smb_signing"]
    return facts


@pytest.fixture(scope="module")
def busy_run(lab: Any) -> Dict[str, Any]:
    plain = _facts(lab)
    assert plain.rc == 0, plain.tail()
    for host, knobs in BUSY.items():
        lab.set(host, *knobs)
    try:
        before = {h: lab.records(h) for h in lab.hosts()}
        run = _facts(lab)
        after = {h: lab.records(h) for h in lab.hosts()}
    finally:
        for host in BUSY:
            lab.set(host, *QUIET)
    return {"plain": plain, "run": run, "before": before, "after": after}


def _one_read(busy_run: Dict[str, Any], host: str) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """The host's result, and the Receive answers its one read_state command got."""
    before, after = busy_run["before"][host], busy_run["after"][host]
    assert after["round_trips"] - before["round_trips"] == 1, host
    result = busy_run["run"].results[host]
    assert not result.get("failed"), result
    assert _facts_of(result) == _facts_of(busy_run["plain"].results[host]), host
    receives = after["receives"][len(before["receives"]) :]
    assert len({r["command_id"] for r in receives}) == 1, receives
    assert after["wsman"]["Receive"] - before["wsman"].get("Receive", 0) == len(receives)
    return result, receives


def test_the_busy_run_reads_every_host(lab: Any, busy_run: Dict[str, Any]) -> None:
    run = busy_run["run"]
    assert run.rc == 0, run.tail()
    assert set(run.results) == set(lab.hosts())
    # Nothing the busy hosts sent made Ansible or the collection warn.
    plain = busy_run["plain"]
    assert (run.stdout + run.stderr).count("[WARNING]") == (plain.stdout + plain.stderr).count(
        "[WARNING]"
    )
    for host in lab.hosts():
        facts = run.results[host]["ansible_facts"]["smb_signing"]
        model = HostModel.from_json(lab.model(host))
        assert facts["os"]["build"] == model.os_info()["build"], host
        assert facts["domain_role"] == model.domain_role, host
        config = model.config("server")
        server_require = facts["settings"]["server_require"]["value"]
        assert server_require == config["RequireSecuritySignature"], host


def test_a_quiet_host_answers_once_and_done(busy_run: Dict[str, Any]) -> None:
    _result, receives = _one_read(busy_run, "ms2016")
    assert [r["state"] for r in receives] == ["Done"]
    assert busy_run["after"]["ms2016"]["busy"] == busy_run["before"]["ms2016"]["busy"]


def test_running_answers_before_done(busy_run: Dict[str, Any]) -> None:
    _result, receives = _one_read(busy_run, "dc01")
    assert [r["state"] for r in receives] == ["Running"] * 3 + ["Done"]
    # Nothing yet in the Running answers: the whole answer comes with Done.
    assert [r["stdout_bytes"] > 0 for r in receives] == [False, False, False, True]


def test_output_split_across_receives(busy_run: Dict[str, Any]) -> None:
    _result, receives = _one_read(busy_run, "dc02")
    assert [r["state"] for r in receives] == ["Running"] * 3 + ["Done"]
    sizes = [r["stdout_bytes"] for r in receives]
    assert all(size > 0 for size in sizes), sizes
    # Byte offsets, not lines: the one JSON line is cut three times and put back together.
    assert max(sizes) - min(sizes) <= 1, sizes


def test_timed_out_receives_are_retried(busy_run: Dict[str, Any]) -> None:
    result, receives = _one_read(busy_run, "ms2019")
    assert [r["state"] for r in receives] == ["TimedOut", "TimedOut", "Done"]
    # The client asked with an OperationTimeout (Ansible's default, PT20S); the fault answered it.
    assert all(r["operation_timeout"].startswith("PT") for r in receives[:2]), receives
    assert not result.get("warnings"), result.get("warnings")


def test_clixml_progress_and_warning_on_stderr_with_exit_code_0(busy_run: Dict[str, Any]) -> None:
    result, receives = _one_read(busy_run, "ms2022")
    assert [r["state"] for r in receives] == ["Done"]
    assert receives[0]["stderr_clixml"] is True
    assert receives[0]["stderr_bytes"] > 0
    # The progress and the warning are not an error: no failure, no warning of the task.
    assert not result.get("warnings"), result.get("warnings")


def test_stdout_starting_with_a_bom(busy_run: Dict[str, Any]) -> None:
    _result, receives = _one_read(busy_run, "ms2025")
    assert [r["state"] for r in receives] == ["Done"]
    assert receives[0]["stdout_bom"] is True


def test_every_busy_behaviour_at_once(busy_run: Dict[str, Any]) -> None:
    result, receives = _one_read(busy_run, "web01")
    assert [r["state"] for r in receives] == ["TimedOut"] * 2 + ["Running"] * 2 + ["Done"]
    data = receives[2:]
    assert data[0].get("stdout_bom") is True
    assert data[0].get("stderr_clixml") is True
    assert all(r["stdout_bytes"] > 0 for r in data), data
    (busy,) = busy_run["after"]["web01"]["busy"][len(busy_run["before"]["web01"]["busy"]) :]
    assert busy["answers"] == 5
    assert not result.get("warnings"), result.get("warnings")


def test_enforce_on_a_busy_host_writes_and_reads_back(lab: Any) -> None:
    """win_smb_signing's read, write and read-back all travel through a busy host's answers."""
    lab.set("ms2016", *ALL_KNOBS)
    try:
        before = lab.records("ms2016")
        run = run_task(
            lab.inventory,
            "win_smb_signing",
            {**PROBE_PORT, "client_require": True, "probe": False},
            limit="ms2016",
        )
        after = lab.records("ms2016")
    finally:
        lab.set("ms2016", *QUIET)
    result = run.results["ms2016"]
    assert not result.get("failed"), result
    assert result["changed"] is True
    assert HostModel.from_json(lab.model("ms2016")).config("client")["RequireSecuritySignature"]
    commands = after["round_trips"] - before["round_trips"]
    assert commands >= 2  # the read, then the write with its read-back
    assert len(after["busy"]) - len(before["busy"]) == commands
    states = [r["state"] for r in after["receives"][len(before["receives"]) :]]
    assert states == (["TimedOut"] * 2 + ["Running"] * 2 + ["Done"]) * commands
    assert [w["value"] for w in after["writes"][len(before["writes"]) :]] == [True]


def test_enforce_on_a_busy_host_over_psrp(lab: Any) -> None:
    """win_smb_signing over the psrp connection: each pipeline's answer comes after two
    w:TimedOut faults, spread over Running answers with messages cut across them, after
    progress and warning records; the collection reads the one JSON output of each."""
    host = "ms2022"
    assert not HostModel.from_json(lab.model(host)).config("client")["RequireSecuritySignature"]
    lab.set(host, *ALL_KNOBS)
    try:
        before = lab.records(host)
        run = run_task(
            lab.inventory.with_name(FILES["psrp"]),
            "win_smb_signing",
            {**PROBE_PORT, "client_require": True, "probe": False},
            limit=host,
        )
        after = lab.records(host)
    finally:
        lab.set(host, *QUIET)
    result = run.results[host]
    assert not result.get("failed"), result
    assert result["changed"] is True
    assert not result.get("warnings"), result.get("warnings")
    assert WARNING_TEXT not in run.stdout + run.stderr
    assert HostModel.from_json(lab.model(host)).config("client")["RequireSecuritySignature"]
    scripts = after["scripts"][len(before["scripts"]) :]
    assert [s["transport"] for s in scripts] == ["psrp"] * len(scripts)
    assert [s["op"] for s in scripts if s["op"] != "raw"] == ["read_state", "apply"], scripts
    pipelines = after["round_trips"] - before["round_trips"]
    busy = after["busy"][len(before["busy"]) :]
    assert [b["transport"] for b in busy] == ["psrp"] * pipelines
    assert all((b["progress_records"], b["warning_records"]) == (2, 1) for b in busy), busy
    receives = after["receives"][len(before["receives"]) :]
    states = [r["state"] for r in receives]
    assert states == (["TimedOut"] * 2 + ["Running"] * 2 + ["Done"]) * pipelines
    # The collection's answers were cut mid-message and put back together by pypsrp.
    assert any(r.get("message_open") for r in receives), receives
    assert [w["value"] for w in after["writes"][len(before["writes"]) :]] == [True]


@pytest.mark.skipif(
    not (OLDEST_CORE / "bin" / "ansible-playbook").exists(),
    reason=f"no venv {OLDEST_CORE.name} (make bootstrap)",
)
def test_every_busy_behaviour_on_the_oldest_core(lab: Any, tmp_path: Path) -> None:
    out = tmp_path / "facts.json"
    play = [
        {
            "hosts": "web01",
            "gather_facts": False,
            "tasks": [
                {"winhardening.smb.win_smb_signing_facts": PROBE_PORT, "register": "facts"},
                {
                    "ansible.builtin.copy": {"content": "{{ facts | to_json }}", "dest": str(out)},
                    "delegate_to": "localhost",
                },
            ],
        }
    ]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play))
    plain = _facts(lab, "web01").results["web01"]
    lab.set("web01", *ALL_KNOBS)
    try:
        before = lab.records("web01")
        run = run_playbook(playbook, lab.inventory, tmp_path / "work", bin_dir=OLDEST_CORE / "bin")
        after = lab.records("web01")
    finally:
        lab.set("web01", *QUIET)
    assert run.rc == 0, run.tail()
    assert _facts_of(json.loads(out.read_text())) == _facts_of(plain)
    states = [r["state"] for r in after["receives"][len(before["receives"]) :]]
    assert states == ["TimedOut"] * 2 + ["Running"] * 2 + ["Done"]
