"""Every fault kind is seen by a real pywinrm client as that fault."""

from __future__ import annotations

import json
import time
from typing import Iterator

import pytest
import requests
from winrm.exceptions import InvalidCredentialsError, WSManFaultError

from lab.client import LabClient, LabError
from lab.lifecycle import running_lab
from lab.tests._helpers import protocol_script, run_script, session

pytestmark = pytest.mark.lab

READ = protocol_script("read_state", {"events_since": None, "max_peers": 5})


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabClient]:
    hosts = [{"name": f"f{i}", "os": "windows_server_2022", "domain_role": 3} for i in range(3)]
    with running_lab({"hosts": hosts}, tmp_path_factory.mktemp("faults")) as client:
        yield client


@pytest.fixture(autouse=True)
def _clear(lab: LabClient) -> Iterator[None]:
    yield
    for host in lab.hosts():
        lab.clear_fault(host)


def test_refused_then_cleared(lab: LabClient) -> None:
    lab.fault("f0", "refused")
    with pytest.raises(requests.exceptions.ConnectionError):
        session(lab, "f0").run_ps("echo x")
    assert session(lab, "f1").run_ps("echo x").status_code == 0  # other hosts unaffected
    lab.clear_fault("f0")
    assert session(lab, "f0").run_ps("echo x").std_out == b"x\r\n"


def test_unauthorized_once(lab: LabClient) -> None:
    lab.fault("f0", "unauthorized", once=True)
    with pytest.raises(InvalidCredentialsError):
        session(lab, "f0").run_ps("echo x")
    assert session(lab, "f0").run_ps("echo x").status_code == 0


def test_wsman_fault_is_http_500_with_fault_code(lab: LabClient) -> None:
    lab.fault("f0", "wsman_fault")
    with pytest.raises(WSManFaultError) as info:
        session(lab, "f0").run_ps("echo x")
    assert info.value.code == 500
    assert info.value.wsman_fault_code == 2150858752


def test_hang_past_client_timeout(lab: LabClient) -> None:
    lab.fault("f0", "hang", once=True)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        session(lab, "f0", read_timeout_sec=2, operation_timeout_sec=1).run_ps("echo x")
    assert 1.5 < time.monotonic() - started < 10


def test_drop_after_write_applies_the_write(lab: LabClient) -> None:
    lab.fault("f1", "drop_after_write", once=True)
    # A read does not trigger it: the fault waits for a write.
    assert run_script(lab, "f1", READ)[0] == 0
    with pytest.raises(requests.exceptions.ConnectionError):
        run_script(
            lab, "f1", protocol_script("apply", {"server": {"RequireSecuritySignature": True}})
        )
    rc, out, _ = run_script(lab, "f1", READ)
    assert rc == 0
    assert json.loads(out)["server_config"]["RequireSecuritySignature"] is True
    assert lab.records("f1")["faults"][-1] == {"fault": "drop_after_write", "where": "command"}


def test_garbage_stdout(lab: LabClient) -> None:
    lab.fault("f2", "garbage_stdout", once=True)
    rc, out, _ = run_script(lab, "f2", READ)
    assert rc == 0
    assert out.strip()
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def test_truncated_stdout(lab: LabClient) -> None:
    _, full, _ = run_script(lab, "f2", READ)
    lab.fault("f2", "truncated_stdout", once=True)
    rc, out, _ = run_script(lab, "f2", READ)
    assert rc == 0
    assert out
    assert full.startswith(out)
    assert len(out) < len(full)
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def test_access_denied_is_a_powershell_error(lab: LabClient) -> None:
    lab.fault("f2", "access_denied")
    rc, out, err = run_script(lab, "f2", READ)
    assert rc == 1
    assert out == ""
    assert err.startswith("#< CLIXML")
    assert "Access is denied." in err
    r = session(lab, "f2").run_ps("echo x")  # raw commands fail the same way
    assert r.status_code == 1
    assert b"Access is denied." in r.std_err


def test_slow_responses(lab: LabClient) -> None:
    lab.fault("f2", "slow", delay=0.3)
    started = time.monotonic()
    assert session(lab, "f2").run_ps("echo x").status_code == 0
    # run_ps makes five requests (Create, Command, Receive, Signal, Delete).
    assert time.monotonic() - started >= 5 * 0.3


def test_bad_fault_requests_name_the_problem(lab: LabClient) -> None:
    with pytest.raises(LabError, match="unknown fault kind 'melt'"):
        lab.fault("f0", "melt")
    with pytest.raises(LabError, match="no host 'nosuch'"):
        lab.fault("nosuch", "slow")
    with pytest.raises(LabError, match="cannot be --once"):
        lab.fault("f0", "refused", once=True)


def test_per_property_access_denied(lab: LabClient) -> None:
    lab.set("f2", "deny_writes=client.RequireSecuritySignature")
    rc, out, _ = run_script(
        lab,
        "f2",
        protocol_script(
            "apply",
            {
                "server": {"EnableSecuritySignature": True},
                "client": {"RequireSecuritySignature": True},
            },
        ),
    )
    results = json.loads(out)["results"]
    assert rc == 0
    assert [(r["property"], r["ok"], r["error"]) for r in results] == [
        ("EnableSecuritySignature", True, None),
        ("RequireSecuritySignature", False, "Access is denied."),
    ]
