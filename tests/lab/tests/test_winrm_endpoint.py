"""The WS-Management endpoint as the real pywinrm client sees it."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests
from winrm.exceptions import InvalidCredentialsError

from lab.client import LabClient
from lab.lifecycle import running_lab
from lab.tests._helpers import (
    BOOTSTRAP,
    PREFIX,
    encode,
    protocol_script,
    read_state,
    run_script,
    run_stdin,
    session,
    stdin_script,
)

pytestmark = pytest.mark.lab


def test_run_ps_round_trip_and_records(demo_lab: LabClient) -> None:
    before = demo_lab.records("web01")
    r = session(demo_lab, "web01").run_ps("Write-Output 'hello lab'; hostname")
    assert (r.status_code, r.std_out, r.std_err) == (0, b"hello lab\r\nWEB01\r\n", b"")
    after = demo_lab.records("web01")
    assert after["round_trips"] == before["round_trips"] + 1
    # run_ps = Create, Command, Receive, Signal, Delete (pywinrm protocol.py).
    for action in ("Create", "Command", "Receive", "Signal", "Delete"):
        assert after["wsman"].get(action, 0) == before["wsman"].get(action, 0) + 1
    assert after["bytes_in"] > before["bytes_in"]
    assert after["bytes_out"] > before["bytes_out"]
    assert after["scripts"][-1]["op"] == "raw"


def test_exit_code_and_unknown_script_fails_loudly(demo_lab: LabClient) -> None:
    s = session(demo_lab, "web01")
    assert s.run_ps("exit 3").status_code == 3
    r = s.run_ps("Get-Service | Stop-Service")
    assert r.status_code == 1
    assert r.std_out == b""
    # run_ps decodes the CLIXML stderr; the message survives.
    assert b"does not understand" in r.std_err


def test_module_wrapper_is_recorded_and_refused(demo_lab: LabClient) -> None:
    wrapper = (
        'if ($PSVersionTable.PSVersion -lt [Version]"5.1") {\n'
        '    \'{"failed":true,"msg":"Ansible requires PowerShell v5.1"}\'\n}\n'
    )
    r = session(demo_lab, "web01").run_cmd("powershell", [*PREFIX, encode(wrapper)])
    assert r.status_code == 1
    assert b"module wrapper" in r.std_err
    assert demo_lab.records("web01")["scripts"][-1]["op"] == "module_wrapper"


@pytest.mark.parametrize("double_wrap", [False, True], ids=["single", "double-wrapped"])
def test_read_state_decodes_every_layer(demo_lab: LabClient, double_wrap: bool) -> None:
    rc, out, err = run_script(
        demo_lab,
        "dc01",
        protocol_script("read_state", {"events_since": None, "max_peers": 5}),
        double_wrap=double_wrap,
    )
    assert rc == 0, err
    state = json.loads(out)
    assert state["op"] == "read_state"
    assert state["v"] == 2
    assert state["computer_name"] == "DC01"
    assert state["domain_role"] == 5
    assert state["os"]["product_type"] == 2
    assert state["os"]["build"] == 20348
    assert demo_lab.records("dc01")["scripts"][-1]["layers"] == (2 if double_wrap else 1)


def test_whole_line_in_command_as_ansible_2_21_sends(demo_lab: LabClient) -> None:
    script = protocol_script("read_state", {"events_since": None, "max_peers": 5})
    line = "PowerShell " + " ".join([*PREFIX, encode(script)])
    r = session(demo_lab, "ms2019").run_cmd(line)
    assert r.status_code == 0, r.std_err
    assert json.loads(r.std_out)["computer_name"] == "MS2019"


@pytest.mark.parametrize(
    "script",
    [
        "# winhardening.smb:read_state:1\n$Request = ConvertFrom-Json -InputObject '{}'\n"
        "Get-SmbServerConfiguration; Get-SmbClientConfiguration; Get-WinEvent",
        "# winhardening.smb:apply:2\n$Request = ConvertFrom-Json -InputObject '{\"server\":{}}'\n"
        "Write-Output nothing",
        "# winhardening.smb:read_state:2\n$Request = ConvertFrom-Json -InputObject '{not json}'\n"
        "Get-SmbServerConfiguration; Get-SmbClientConfiguration; Get-WinEvent",
        "# winhardening.smb:read_state:2\nGet-SmbServerConfiguration; Get-SmbClientConfiguration",
    ],
    ids=["unknown-version", "body-without-set-cmdlets", "request-not-json", "no-request-line"],
)
def test_protocol_scripts_it_does_not_know_fail(demo_lab: LabClient, script: str) -> None:
    rc, out, err = run_script(demo_lab, "ms2022", script)
    assert rc != 0
    assert out == ""
    assert "lab" in err
    assert "#< CLIXML" in err


def test_wrong_password_gets_401(demo_lab: LabClient) -> None:
    with pytest.raises(InvalidCredentialsError):
        session(demo_lab, "dc02", password="wrong").run_ps("Write-Output x")


def test_apply_changes_model_and_read_back(demo_lab: LabClient) -> None:
    rc, out, err = run_script(
        demo_lab,
        "ms2019",
        protocol_script(
            "apply",
            {
                "server": {
                    "RequireSecuritySignature": True,
                    "AuditClientDoesNotSupportSigning": True,
                }
            },
        ),
    )
    assert rc == 0, err
    result = json.loads(out)
    ok = {r["property"]: r["ok"] for r in result["results"]}
    # Server 2019 has no audit parameter (Set-SmbServerConfiguration, winserver2025-ps docs).
    assert ok == {"RequireSecuritySignature": True, "AuditClientDoesNotSupportSigning": False}
    assert "parameter cannot be found" in result["results"][1]["error"]
    assert result["server_config"]["RequireSecuritySignature"] is True
    state = read_state(demo_lab, "ms2019")
    assert state["registry"]["server"]["RequireSecuritySignature"] == {"type": "DWord", "data": 1}
    records = demo_lab.records("ms2019")
    assert {"side": "server", "property": "RequireSecuritySignature", "value": True} in records[
        "writes"
    ]


def test_https_with_generated_certificate(tmp_path: pytest.TempPathFactory) -> None:
    fleet = {
        "scheme": "https",
        "hosts": [{"name": "tls1", "os": "windows_11_24h2", "domain_role": 1}],
    }
    with running_lab(fleet, tmp_path / "state") as lab:  # type: ignore[operator]
        assert lab.fleet["scheme"] == "https"
        r = session(lab, "tls1").run_ps("echo secure")
        assert r.std_out == b"secure\r\n"
        assert (tmp_path / "state" / "tls" / "cert.pem").exists()  # type: ignore[operator]


def test_run_ps_uses_encodedcommand_in_command(demo_lab: LabClient) -> None:
    # pywinrm's run_ps sends `powershell -encodedcommand <b64>` all in rsp:Command.
    r = session(demo_lab, "ms2025").run_cmd(
        "powershell -encodedcommand "
        + base64.b64encode("Write-Output 'it''s'".encode("utf-16-le")).decode()
    )
    assert r.std_out == b"it's\r\n"


def test_command_line_over_cmd_exe_limit_fails(demo_lab: LabClient) -> None:
    # Pad the request so the single-layer line passes and the double-wrapped one (2.16-2.18)
    # does not: 2.7 times the script is about the base64 of its UTF-16.
    script = protocol_script("read_state", {"events_since": None, "max_peers": 5})
    pad = "x" * max(0, 2000 - len(script))
    padded = script.replace("$ProgressPreference", f"# {pad}\n$ProgressPreference")
    rc, _, err = run_script(demo_lab, "ms2022", padded)
    assert rc == 0, err
    rc, out, err = run_script(demo_lab, "ms2022", padded, double_wrap=True)
    assert rc == 1
    assert out == ""
    assert "The command line is too long." in err
    assert demo_lab.records("ms2022")["scripts"][-1]["command_line_chars"] > 8191


# -- the collection's transport: the bootstrap on the command line, the script on stdin ----------


def test_bootstrap_with_the_script_on_stdin_answers_in_one_round_trip(demo_lab: LabClient) -> None:
    before = demo_lab.records("web01")
    data = stdin_script("read_state", {"events_since": None, "max_peers": 1000})
    rc, out, err = run_stdin(demo_lab, "web01", data, chunks=3, receive_first=True)
    assert rc == 0, err
    assert json.loads(out)["computer_name"] == "WEB01"
    after = demo_lab.records("web01")
    assert after["round_trips"] == before["round_trips"] + 1
    assert after["wsman"]["Send"] == before["wsman"].get("Send", 0) + 3
    record = after["scripts"][-1]
    assert (record["op"], record["transport"], record["stdin_bytes"]) == (
        "read_state",
        "stdin",
        len(data),
    )
    assert record["command_line_chars"] < 2000


def test_stdin_line_endings_do_not_matter(demo_lab: LabClient) -> None:
    data = stdin_script("read_state", {"events_since": None, "max_peers": 5})
    rc, out, err = run_stdin(demo_lab, "web01", data.replace(b"\n", b"\r\n"))
    assert rc == 0, err
    assert json.loads(out)["op"] == "read_state"


@pytest.mark.parametrize(
    ("command", "stdin", "reason"),
    [
        # Anything but a protocol script on the bootstrap's stdin.
        (BOOTSTRAP, b"Write-Output hi\n", "not a protocol script"),
        (BOOTSTRAP, b"", "no script on stdin"),
        (BOOTSTRAP, "# winhardening.smb:read_state:2\n\x85".encode(), "control characters"),
        (BOOTSTRAP, b"# winhardening.smb:read_state:2\n\xff\n", "not UTF-8"),
        (BOOTSTRAP, b"# winhardening.smb:read_state:1\n", "unknown op or version"),
        # A bootstrap that differs in one character is not the bootstrap.
        (BOOTSTRAP.replace("`n", "`r`n"), None, "not a script the lab knows"),
        ("$input|iex", None, "not a script the lab knows"),
    ],
)
def test_the_bootstrap_and_its_stdin_are_recognised_exactly(
    demo_lab: LabClient, command: str, stdin: Any, reason: str
) -> None:
    data = stdin if stdin is not None else stdin_script("read_state", {"events_since": None})
    rc, out, err = run_stdin(demo_lab, "web01", data, command=command)
    assert rc == 1
    assert out == ""
    assert "does not understand" in err or "without a script" in err
    assert reason in demo_lab.records("web01")["scripts"][-1]["reason"]


def test_drop_after_write_on_stdin_drops_the_answer_not_the_write(demo_lab: LabClient) -> None:
    demo_lab.fault("ms2019", "drop_after_write", once=True)
    data = stdin_script("apply", {"server": {"RequireSecuritySignature": True}})
    with pytest.raises(requests.exceptions.ConnectionError):
        run_stdin(demo_lab, "ms2019", data)
    assert demo_lab.records("ms2019")["writes"]
    assert demo_lab.records("ms2019")["faults"][-1] == {
        "fault": "drop_after_write",
        "where": "command",
    }
    assert read_state(demo_lab, "ms2019")["server_config"]["RequireSecuritySignature"] is True
