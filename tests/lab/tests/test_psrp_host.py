"""The PSRP endpoint as pypsrp, the client of ansible-core's psrp connection, sees it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest
import requests
import yaml
from pypsrp.complex_objects import PSInvocationState
from pypsrp.exceptions import WSManFaultError
from pypsrp.host import PSHost, PSHostUserInterface
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import NAMESPACES, WSMan

from lab import fleet as fleet_mod
from lab.client import LabClient
from lab.inventory import FILES
from lab.lifecycle import running_lab
from lab.tests._helpers import BOOTSTRAP, protocol_script

pytestmark = pytest.mark.lab

READ = {"events_since": None, "max_peers": 50}


@contextmanager
def runspace(
    lab: LabClient, host: str, *, configuration: str = "Microsoft.PowerShell", **wsman: Any
) -> Iterator[Tuple[RunspacePool, PSHost]]:
    """An open runspace pool on a lab host, with the kind of host the psrp plugin gives it."""
    fleet = lab.fleet
    connection = WSMan(
        lab.address(host),
        port=fleet["winrm_port"],
        ssl=fleet["scheme"] == "https",
        auth="basic",
        username=fleet["user"],
        password=fleet["password"],
        # pypsrp takes Basic over HTTP only unencrypted; over HTTPS TLS is the encryption.
        encryption="never" if fleet["scheme"] == "http" else "auto",
        cert_validation=False,
        **wsman,
    )
    ps_host = PSHost(None, None, False, "lab test host", None, PSHostUserInterface(), "1.0")
    pool = RunspacePool(connection, host=ps_host, configuration_name=configuration)
    try:
        pool.open()
        yield pool, ps_host
    finally:
        pool.close()
        connection.close()


def bootstrap(pool: RunspacePool, script_input: Any) -> PowerShell:
    """The collection's bootstrap with the script as its input, as the psrp plugin runs it."""
    ps = PowerShell(pool)
    ps.add_script(BOOTSTRAP)
    ps.invoke(input=script_input)
    return ps


def errors(ps: PowerShell) -> str:
    return "\n".join(str(e) for e in ps.streams.error)


def test_runspace_opens_and_the_bootstrap_answers_read_state(demo_lab: LabClient) -> None:
    before = demo_lab.records("web01")
    script = protocol_script("read_state", READ)
    with runspace(demo_lab, "web01") as (pool, ps_host):
        # ansible-core 2.19 and later: one input string per line; 2.16 to 2.18: one string.
        per_line = bootstrap(pool, script.splitlines())
        whole = bootstrap(pool, [script])
    for ps in (per_line, whole):
        assert ps.state == PSInvocationState.COMPLETED, errors(ps)
        assert not ps.had_errors
        assert not ps.streams.error
        assert len(ps.output) == 1
        assert isinstance(ps.output[0], str)
        answer = json.loads(ps.output[0])
        assert (answer["op"], answer["v"], answer["computer_name"]) == ("read_state", 2, "WEB01")
    # The scripts end in the exit suffix but succeed: no exit, so no SetShouldExit host call.
    assert ps_host.rc is None
    after = demo_lab.records("web01")
    new = after["scripts"][len(before["scripts"]) :]
    assert [(s["op"], s["transport"]) for s in new] == [("read_state", "psrp")] * 2
    assert new[0]["stdin_bytes"] == len(script.encode())
    assert new[0]["command_line_chars"] == len(BOOTSTRAP)
    # One runspace pool (one shell), one Command per pipeline, closed with Delete.
    for action, more in (("Create", 1), ("Command", 2), ("Delete", 1)):
        assert after["wsman"][action] == before["wsman"].get(action, 0) + more, action


def test_apply_writes_and_reads_back(demo_lab: LabClient) -> None:
    request = {"server": {"RequireSecuritySignature": True}}
    with runspace(demo_lab, "ms2022") as (pool, _):
        ps = bootstrap(pool, protocol_script("apply", request).splitlines())
    assert ps.state == PSInvocationState.COMPLETED, errors(ps)
    answer = json.loads(ps.output[0])
    assert answer["server_config"]["RequireSecuritySignature"] is True
    assert demo_lab.records("ms2022")["writes"][-1] == {
        "side": "server",
        "property": "RequireSecuritySignature",
        "value": True,
    }


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda ps: ps.add_script("Get-Service | Stop-Service"), "not a script the lab knows"),
        (lambda ps: ps.add_cmdlet("Get-Process"), "the command 'Get-Process', not a script"),
        (
            lambda ps: ps.add_script("Write-Output hello").add_statement().add_script("hostname"),
            "a pipeline of 2 commands",
        ),
        (lambda ps: ps.add_script("Write-Output").add_argument("x"), "a script with arguments"),
    ],
    ids=["unknown-script", "cmdlet", "two-statements", "arguments"],
)
def test_a_pipeline_the_lab_does_not_understand_fails_loudly(
    demo_lab: LabClient, build: Any, reason: str
) -> None:
    with runspace(demo_lab, "web01") as (pool, ps_host):
        ps = PowerShell(pool)
        build(ps)
        ps.invoke()
    assert ps.state == PSInvocationState.FAILED
    assert ps.had_errors
    assert ps.output == []
    assert "the lab does not understand this script" in errors(ps)
    assert reason in errors(ps)
    assert ps_host.rc is None  # a failed pipeline, not an exit: the plugin reports rc 1
    assert demo_lab.records("web01")["scripts"][-1]["reason"] == reason


@pytest.mark.parametrize(
    ("script_input", "reason"),
    [
        (["Write-Output hello"], "the bootstrap's stdin is not a protocol script"),
        ([1, 2], "the bootstrap's pipeline input holds ['PSInt'], not strings"),
        (None, "the bootstrap got no script on stdin"),
    ],
    ids=["raw-command", "objects", "no-input"],
)
def test_the_bootstrap_refuses_anything_but_one_protocol_script(
    demo_lab: LabClient, script_input: Any, reason: str
) -> None:
    with runspace(demo_lab, "web01") as (pool, _):
        ps = bootstrap(pool, script_input)
    assert ps.state == PSInvocationState.FAILED
    assert reason in errors(ps)
    assert demo_lab.records("web01")["scripts"][-1]["reason"] == reason


def test_exit_is_the_hosts_set_should_exit(demo_lab: LabClient) -> None:
    with runspace(demo_lab, "web01") as (pool, ps_host):
        ps = PowerShell(pool)
        ps.add_script("exit 3")
        ps.invoke()
        assert (ps.state, ps.had_errors, ps_host.rc) == (PSInvocationState.COMPLETED, False, 3)
        # What the psrp plugin runs for a command line it does not decode (ansible.builtin.raw).
        ps_host.rc = None
        ps = PowerShell(pool)
        ps.add_script("hostname\nexit $LASTEXITCODE")
        assert ps.invoke() == ["WEB01"]
        assert ps_host.rc == 0


def test_input_and_output_across_several_fragments(demo_lab: LabClient) -> None:
    before = demo_lab.records("dc01")["wsman"]
    # A small envelope: pypsrp cuts the script into several fragments, one Send each, and the
    # lab cuts its answer so that each Receive fits the envelope the client announced.
    with runspace(demo_lab, "dc01", max_envelope_size=4096) as (pool, _):
        ps = bootstrap(pool, [protocol_script("read_state", READ)])
    assert ps.state == PSInvocationState.COMPLETED, errors(ps)
    assert json.loads(ps.output[0])["computer_name"] == "DC01"
    after = demo_lab.records("dc01")["wsman"]
    assert after["Send"] - before.get("Send", 0) >= 2
    # The pool's opening messages, then the pipeline's answer in at least two parts.
    assert after["Receive"] - before.get("Receive", 0) >= 3


def test_stop_a_waiting_pipeline_then_the_pool_goes_on(demo_lab: LabClient) -> None:
    def broken_input() -> Iterator[str]:
        yield "# winhardening.smb:read_state:2"
        raise RuntimeError("the client gave up before its input was complete")

    before = demo_lab.records("ms2019")
    with runspace(demo_lab, "ms2019") as (pool, _):
        waiting = PowerShell(pool)
        waiting.add_script(BOOTSTRAP)
        with pytest.raises(RuntimeError):
            waiting.begin_invoke(input=broken_input())
        assert waiting.state == PSInvocationState.RUNNING  # created, still waiting for input
        waiting.stop()  # WS-Man Signal, PowerShell's ctrl_c
        done = bootstrap(pool, protocol_script("read_state", READ).splitlines())
        # What the psrp plugin does before its next command: stop the last pipeline, finished.
        done.state = PSInvocationState.RUNNING
        done.stop()
    after = demo_lab.records("ms2019")
    assert done.output
    assert json.loads(done.output[0])["computer_name"] == "MS2019"
    # The stopped pipeline never ran a script; the other one did.
    assert [s["op"] for s in after["scripts"][len(before["scripts"]) :]] == ["read_state"]
    assert after["wsman"]["Signal"] == before["wsman"].get("Signal", 0) + 2
    assert after["wsman"]["Delete"] == before["wsman"].get("Delete", 0) + 1


def test_a_deleted_pool_is_gone(demo_lab: LabClient) -> None:
    with runspace(demo_lab, "web01") as (pool, _):
        shell = pool.shell
        selector = shell._selector_set
    assert selector is not None
    with pytest.raises(WSManFaultError, match="unknown ShellId"):
        shell.wsman.receive(shell.resource_uri, _receive_body(), selector_set=selector)


def _receive_body() -> ET.Element:
    rsp = NAMESPACES["rsp"]
    body = ET.Element(f"{{{rsp}}}Receive")
    ET.SubElement(body, f"{{{rsp}}}DesiredStream").text = "stdout"
    return body


def test_failures_and_language_mode_as_failed_pipelines(demo_lab: LabClient) -> None:
    script = protocol_script("read_state", READ).splitlines()
    demo_lab.fault("ms2025", "access_denied", once=True)
    demo_lab.set("dc02", "language_mode=ConstrainedLanguage")
    try:
        with runspace(demo_lab, "ms2025") as (pool, _):
            denied = bootstrap(pool, script)
        with runspace(demo_lab, "dc02") as (pool, _):
            clm = bootstrap(pool, script)
    finally:
        demo_lab.set("dc02", "language_mode=FullLanguage")
    assert denied.state == PSInvocationState.FAILED
    assert "Access is denied." in errors(denied)
    assert denied.streams.error[0].fq_error == "UnauthorizedAccess"
    assert clm.state == PSInvocationState.FAILED
    assert "needs FullLanguage mode" in errors(clm)
    assert "ConstrainedLanguage mode" in errors(clm)
    assert demo_lab.records("dc02")["writes"] == []


def test_only_the_default_session_configuration(demo_lab: LabClient) -> None:
    with (
        pytest.raises(WSManFaultError, match="no PowerShell session configuration 'JEA'"),
        runspace(demo_lab, "web01", configuration="JEA"),
    ):
        pass


def test_the_psrp_inventory_reaches_the_same_hosts(demo_lab: LabClient) -> None:
    # The demo fleet names no connection: inventory.yml is the winrm one.
    assert demo_lab.inventory.read_text() == (
        demo_lab.inventory.with_name(FILES["winrm"]).read_text()
    )
    winrm = yaml.safe_load(demo_lab.inventory.read_text())
    psrp = yaml.safe_load(demo_lab.inventory.with_name(FILES["psrp"]).read_text())
    hosts: Dict[str, Dict[str, Any]] = psrp["all"]["children"]["windows"]["hosts"]
    assert hosts.keys() == winrm["all"]["children"]["windows"]["hosts"].keys()
    web01 = hosts["web01"]
    assert web01["ansible_connection"] == "psrp"
    assert web01["ansible_host"] == demo_lab.address("web01")
    assert web01["ansible_port"] == demo_lab.fleet["winrm_port"]
    assert (web01["ansible_psrp_protocol"], web01["ansible_psrp_auth"]) == ("http", "basic")
    assert web01["ansible_psrp_message_encryption"] == "never"
    assert not any(k.startswith("ansible_winrm_") for k in web01)
    groups = psrp["all"]["children"]["windows"]["children"]
    assert groups == winrm["all"]["children"]["windows"]["children"]


def test_answer_faults_apply_to_pipelines(demo_lab: LabClient) -> None:
    script = protocol_script("read_state", READ).splitlines()
    demo_lab.fault("ms2016", "garbage_stdout", once=True)
    with runspace(demo_lab, "ms2016") as (pool, _):
        garbage = bootstrap(pool, script)
    assert garbage.state == PSInvocationState.COMPLETED
    assert len(garbage.output) == 1
    assert not garbage.output[0].startswith("{")
    # drop_after_write: the write happens, the Receive that would carry its answer never comes.
    request = {"client": {"RequireSecuritySignature": True}}
    demo_lab.fault("ms2016", "drop_after_write", once=True)
    with runspace(demo_lab, "ms2016") as (pool, _), pytest.raises(requests.ConnectionError):
        bootstrap(pool, protocol_script("apply", request).splitlines())
    assert demo_lab.records("ms2016")["writes"][-1]["property"] == "RequireSecuritySignature"
    assert demo_lab.records("ms2016")["faults"][-1]["fault"] == "drop_after_write"


RAW_PLAYBOOK = """
- hosts: windows
  gather_facts: false
  tasks:
    - ansible.builtin.raw: Write-Output 'hello over psrp'
      register: said
    - ansible.builtin.assert:
        that:
          - said.rc == 0
          - said.stdout_lines == ['hello over psrp']
    - ansible.builtin.raw: exit 3
      register: failed_raw
      failed_when: failed_raw.rc != 3
"""


def test_https_fleet_over_the_psrp_connection_plugin(tmp_path: Path) -> None:
    """ansible-playbook with the lab's psrp inventory of an HTTPS fleet: the generated
    certificate ignored, Basic auth, rc from SetShouldExit; a host answering 401 unreachable."""
    fleet = {
        "scheme": "https",
        "connection": "psrp",
        "hosts": [
            {"name": "tls1", "os": "windows_server_2025", "domain_role": 3},
            {"name": "locked", "os": "windows_server_2019", "domain_role": 3},
        ],
    }
    with running_lab(fleet, tmp_path / "state") as lab:
        # The fleet's connection: inventory.yml is the psrp one.
        inventory = lab.inventory
        assert inventory.read_text() == inventory.with_name(FILES["psrp"]).read_text()
        assert "ansible_psrp_message_encryption" not in inventory.read_text()
        with runspace(lab, "tls1") as (pool, _):
            ps = bootstrap(pool, protocol_script("read_state", READ).splitlines())
        assert json.loads(ps.output[0])["computer_name"] == "TLS1"
        lab.fault("locked", "unauthorized")
        (tmp_path / "play.yml").write_text(RAW_PLAYBOOK)
        env = {**os.environ, "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "ANSIBLE_NOCOLOR": "1"}
        run = subprocess.run(
            [Path(sys.executable).parent / "ansible-playbook", "-i", inventory, "play.yml"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        recap = dict(re.findall(r"^(\S+)\s+:\s+(ok=.*)$", run.stdout, re.MULTILINE))
        assert re.search(r"ok=3 .*failed=0", recap["tls1"]), run.stdout
        assert "unreachable=1" in recap["locked"], run.stdout
        assert "failed to authenticate" in run.stdout
        raw = [s for s in lab.records("tls1")["scripts"] if s["op"] == "raw"]
        assert [(s["transport"], s["rc"]) for s in raw] == [("psrp", 0), ("psrp", 3)]


def test_a_fleet_names_a_known_connection() -> None:
    hosts = [{"name": "h1", "os": "windows_server_2022", "domain_role": 3}]
    assert fleet_mod.parse({"hosts": hosts, "connection": "psrp"}, "f").connection == "psrp"
    assert fleet_mod.parse({"hosts": hosts}, "f").connection == "winrm"
    with pytest.raises(fleet_mod.FleetError, match="connection must be winrm or psrp, got 'ssh'"):
        fleet_mod.parse({"hosts": hosts, "connection": "ssh"}, "f")
