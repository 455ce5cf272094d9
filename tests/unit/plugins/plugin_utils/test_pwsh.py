"""Running a script over the connection: the command line, transport errors, bad output."""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest
import requests
from ansible.errors import AnsibleConnectionFailure
from unit.plugins.plugin_utils.fake_windows import (
    FakeHost,
    decode_command,
    read_script,
)
from winrm.exceptions import WinRMTransportError

from ansible_collections.winhardening.smb.plugins.plugin_utils import _pwsh, _scripts

REQUEST = {"events_since": None, "max_peers": 50}

CAPTURED = Path(__file__).parent / "captured"


def captured_text(name: str) -> str:
    """Raw stdout and faults as a host printed them: the transport's input, not the protocol's."""
    return (CAPTURED / name).read_text()


def captured_json(name: str) -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads(captured_text(name))
    return data


class Conn:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.commands: list[Tuple[str, Dict[str, Any]]] = []

    def exec_command(self, cmd: str, **kwargs: Any) -> Any:
        self.commands.append((cmd, kwargs))
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def _run(answer: Any) -> _pwsh.ScriptOutput:
    return _pwsh.run_script(Conn(answer), "web01", _scripts.READ_STATE, REQUEST)


def test_the_command_line_is_the_bootstrap_and_the_script_goes_on_stdin() -> None:
    conn = Conn((0, captured_text("read_state_web01.txt").encode(), b""))
    out = _pwsh.run_script(conn, "web01", _scripts.READ_STATE, REQUEST)
    (cmd, kwargs) = conn.commands[0]
    assert kwargs == {"in_data": _scripts.READ_STATE.stdin(REQUEST), "sudoable": False}
    assert cmd.startswith(
        "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand "
    )
    assert decode_command(cmd) == _scripts.BOOTSTRAP
    stdin = kwargs["in_data"].decode("utf-8")
    assert stdin == _scripts.READ_STATE.render(REQUEST) + _scripts.EXIT_SUFFIX + "\n"
    assert read_script(cmd, kwargs["in_data"]) == ("read_state", REQUEST)
    assert out.data["computer_name"] == "WEB01"


# The rendered read_state command line must stay small whatever the script (issue 15).
COMMAND_LINE_BUDGET = 2000
LARGEST_READ = {"events_since": "2026-11-20T00:00:00Z", "max_peers": 1000, "max_events": 10000}


@pytest.mark.parametrize("script", _scripts.SCRIPTS, ids=lambda s: s.op)
@pytest.mark.parametrize(("transport", "version"), [("winrm", "2.21.5"), ("winrm", "2.18.19")])
def test_the_command_line_stays_small_whatever_the_script(
    monkeypatch: pytest.MonkeyPatch, script: _scripts.Script, transport: str, version: str
) -> None:
    monkeypatch.setattr(_pwsh, "ansible_version", version)
    conn = Conn((0, b'{"op":"x","v":2}', b""))
    conn.transport = transport  # type: ignore[attr-defined]
    for body in (script.body, script.body * 20):
        big = _scripts.Script(script.op, script.version, body)
        request = LARGEST_READ if script.op == "read_state" else {"server": {}}
        with pytest.raises(_pwsh.ScriptFailed):
            _pwsh.run_script(conn, "web01", big, request)
        cmd, kwargs = conn.commands[-1]
        # What cmd.exe sees: the line itself, or (2.16-2.18) the line that plugin builds.
        line = cmd if cmd.startswith("PowerShell ") else _pwsh.encode_command(cmd)
        assert line == _pwsh.BOOTSTRAP_COMMAND
        assert len(line) < COMMAND_LINE_BUDGET, len(line)
        assert len(kwargs["in_data"]) > len(_scripts._minify(body))


@pytest.mark.parametrize("script", _scripts.SCRIPTS, ids=lambda s: s.op)
def test_what_goes_on_stdin_is_plain_ascii_lines(script: _scripts.Script) -> None:
    """ASCII, so the console's input code page cannot change it; no control character but the
    newline, so every line reader (.NET's, Python's splitlines in the psrp plugin) agrees."""
    request = (
        {"events_since": "it's \u2019now\u2019\x85\u2028\x0b", "max_peers": 1}
        if script.op == "read_state"
        else {"server": {"RequireSecuritySignature": True}, "sync_marker": "set"}
    )
    data = script.stdin(request)
    text = data.decode("ascii")
    assert text.endswith(_scripts.EXIT_SUFFIX + "\n")
    assert not [c for c in text if c < " " and c != "\n"]
    assert text.splitlines() == text.rstrip("\n").split("\n")


def test_the_bootstrap_is_what_every_plugin_version_sends() -> None:
    """2.16-2.18's winrm strips each line and drops blank ones before encoding: a no-op here."""
    boot = _scripts.BOOTSTRAP
    assert "\n".join(x.strip() for x in boot.splitlines() if x.strip()) == boot
    assert decode_command(_pwsh.BOOTSTRAP_COMMAND) == boot
    # psrp (2.16-2.19) recognises the line by this prefix and takes the base64 after the last
    # space; 2.21 parses it with shlex.
    assert _pwsh.BOOTSTRAP_COMMAND.startswith(
        "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand "
    )
    assert " " not in _pwsh.BOOTSTRAP_COMMAND.rsplit(" ", 1)[1]


def test_a_second_encoding_layer_still_decodes() -> None:
    """A reader (the lab) decodes nested -EncodedCommand layers, the bootstrap's included."""
    request = {"server": {"RequireSecuritySignature": True}}
    outer = _pwsh.encode_command(_pwsh.BOOTSTRAP_COMMAND)
    op, request = read_script(outer, _scripts.APPLY.stdin(request))
    assert (op, request) == ("apply", {"server": {"RequireSecuritySignature": True}})


@pytest.mark.parametrize(
    "error",
    [
        requests.exceptions.ConnectionError("Max retries exceeded"),
        WinRMTransportError("http", 500, "Bad HTTP response returned from server. Code 500"),
        ConnectionResetError("reset by peer"),
    ],
)
def test_transport_errors_make_the_host_unreachable(error: BaseException) -> None:
    with pytest.raises(
        AnsibleConnectionFailure, match="web01: the connection failed while running the read_state"
    ):
        _run(error)


def test_a_connection_failure_passes_through_as_is() -> None:
    with pytest.raises(AnsibleConnectionFailure, match="credentials were rejected"):
        _run(AnsibleConnectionFailure("basic: the specified credentials were rejected"))


def test_access_denied_names_host_cause_and_stderr() -> None:
    fault = captured_json("fault_access_denied.json")
    with pytest.raises(_pwsh.ScriptFailed) as info:
        _run((fault["rc"], b"", b"Access is denied.\r\n+ CategoryInfo : PermissionDenied"))
    msg = info.value.message
    assert msg.startswith("web01: the read_state script failed: exit code 1")
    assert "Access is denied." in msg
    assert "Traceback" not in msg
    result = info.value.result()
    assert result["failed"] is True
    assert result["rc"] == 1


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        # Neither line is framed as one JSON object.
        ("fault_garbage_stdout.json", "expected one JSON object line, got 0 among 1 lines"),
        ("fault_truncated_stdout.json", "expected one JSON object line, got 0 among 1 lines"),
    ],
)
def test_captured_broken_output_fails_with_an_excerpt(name: str, cause: str) -> None:
    fault = captured_json(name)
    with pytest.raises(_pwsh.ScriptFailed) as info:
        _run((fault["rc"], fault["stdout"].encode(), b""))
    assert cause in info.value.message
    assert fault["stdout"].strip()[:40] in info.value.message


@pytest.mark.parametrize(
    ("stdout", "cause"),
    [
        ("", "the script printed nothing"),
        ("\r\n  \r\n", "the script printed nothing"),
        ('{"op":"read_state","v":1}\r\n{"op":"read_state","v":1}\r\n', "got 2 among 2 lines"),
        ("[1, 2]", "got 0 among 1 lines"),
        ('{"a": 1} x', "got 0 among 1 lines"),
        ('{"op":"read_state","v":2,"x":NaN}', "holds NaN, which JSON does not allow"),
        ('{"op":"read_state","v":2,"x":-Infinity}', "holds -Infinity"),
        ('{"a":' * 40 + "1" + "}" * 40, "nests deeper than 16 levels"),
        ('{"a":' * 100000 + "1" + "}" * 100000, "nests too deeply to read"),
        ('{"op":"read_state","v":2,"x":"' + "y" * 70000 + '"}', "a string longer than"),
        ("x" * 1_000_001, "longer than 1000000 characters"),
        ('{"op":"apply","v":1}', "answers op 'apply' version 1, expected 'read_state'"),
        ('{"op":"read_state","v":1}', "version 1"),
    ],
)
def test_malformed_output_is_a_failure_not_a_traceback(stdout: str, cause: str) -> None:
    with pytest.raises(_pwsh.ScriptFailed) as info:
        _run((0, stdout.encode(), b""))
    assert cause in info.value.message
    assert info.value.message.startswith("web01: the read_state script failed:")


def test_a_bom_and_stray_lines_around_the_answer_are_kept_apart() -> None:
    answer = _pwsh.parse_json_line(
        "\ufeffWARNING: a profile said hello\r\n" + '\ufeff{"op":"read_state","v":2}\r\n'
    )
    assert answer.data == {"op": "read_state", "v": 2}
    assert answer.stray_lines == ("WARNING: a profile said hello",)


def test_a_script_without_an_answer_times_out() -> None:
    class Hanging:
        transport = "psrp"

        def exec_command(self, *args: Any, **kwargs: Any) -> Any:
            threading.Event().wait(5)

    started = time.monotonic()
    with pytest.raises(_pwsh.ScriptTimedOut, match=r"no answer within 0\.2 seconds"):
        _pwsh.run_script(Hanging(), "web01", _scripts.READ_STATE, REQUEST, timeout=0.2)
    assert time.monotonic() - started < 2


def test_rc_none_counts_as_success() -> None:
    out = _run((None, json.dumps({"op": "read_state", "v": 2}).encode(), b""))
    assert out.rc == 0


def test_excerpt_is_one_bounded_line() -> None:
    text = "line one\r\n" + "x" * 2000
    excerpt = _pwsh.excerpt_of(text, 100)
    assert "\n" not in excerpt
    assert len(excerpt) == 100
    assert excerpt.endswith("...")


def test_fake_host_round_trip() -> None:
    host = FakeHost.demo("ms2016")
    out = _pwsh.run_script(host, "ms2016", _scripts.READ_STATE, REQUEST)
    assert out.data["server_config"]["EnableSMB1Protocol"] is True
    assert host.ops == ["read_state"]


@pytest.mark.parametrize(
    ("transport", "version", "encoded"),
    [
        ("winrm", "2.21.5", True),
        ("winrm", "2.19.14", True),
        ("winrm", "2.18.19", False),
        ("winrm", "2.16.19", False),
        ("psrp", "2.18.19", True),
        ("ssh", "2.16.19", True),
    ],
)
def test_winrm_before_2_19_gets_the_bootstrap_so_it_is_encoded_once(
    monkeypatch: pytest.MonkeyPatch, transport: str, version: str, encoded: bool
) -> None:
    monkeypatch.setattr(_pwsh, "ansible_version", version)
    conn = Conn((0, captured_text("read_state_web01.txt").encode(), b""))
    conn.transport = transport  # type: ignore[attr-defined]
    _pwsh.run_script(conn, "web01", _scripts.READ_STATE, REQUEST)
    cmd, kwargs = conn.commands[0]
    assert kwargs["in_data"] == _scripts.READ_STATE.stdin(REQUEST)
    if encoded:
        assert cmd == _pwsh.BOOTSTRAP_COMMAND
    else:
        assert cmd == _scripts.BOOTSTRAP


def _plugin(name: str) -> Any:
    from ansible.playbook.play_context import PlayContext
    from ansible.plugins.loader import connection_loader, shell_loader

    conn = connection_loader.get(name, PlayContext(), io.StringIO())
    conn._shell = shell_loader.get("powershell")
    conn._connected = True
    conn._psrp_host = "test"  # the psrp plugin of 2.19 and 2.20 logs it
    return conn


@pytest.mark.parametrize("script", _scripts.SCRIPTS, ids=lambda s: s.op)
def test_the_installed_psrp_plugin_runs_the_bootstrap_with_the_script_as_input(
    script: _scripts.Script,
) -> None:
    """ansible-core's own psrp plugin decodes the bootstrap line and runs it in the runspace with
    in_data as the pipeline input (split into lines from 2.19 on): joined with newlines, as the
    bootstrap joins $input, that input is the script again."""
    pytest.importorskip("pypsrp")
    conn = _plugin("psrp")
    seen: Dict[str, Any] = {}

    def run(script: str, input_data: Any = None, **kwargs: Any) -> Tuple[int, bytes, bytes]:
        seen.update(script=script, input=input_data, **kwargs)
        return 0, b'{"op":"x"}', b""

    conn._exec_psrp_script = run
    request = LARGEST_READ if script.op == "read_state" else {"server": {}, "sync_marker": "set"}
    conn.exec_command(_pwsh.BOOTSTRAP_COMMAND, in_data=script.stdin(request), sudoable=False)
    assert seen["script"] == _scripts.BOOTSTRAP
    lines = seen["input"] if isinstance(seen["input"], list) else [seen["input"]]
    assert "\n".join(lines).rstrip("\n") == script.render(request) + _scripts.EXIT_SUFFIX


def test_the_installed_winrm_plugin_sends_the_line_once_and_the_script_on_stdin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conn = _plugin("winrm")
    conn.transport = "winrm"
    seen: Dict[str, Any] = {}

    def run(command: Any, args: Any = (), from_exec: bool = False, stdin_iterator: Any = None):
        seen["line"] = " ".join([command, *args])
        seen["stdin"] = b"".join(chunk for chunk, _last in stdin_iterator)
        return 0, b"", b""

    monkeypatch.setattr(conn, "_winrm_exec", run)
    data = _scripts.READ_STATE.stdin(LARGEST_READ)
    conn.exec_command(_pwsh.command_for(conn), in_data=data, sudoable=False)
    assert seen["line"] == _pwsh.BOOTSTRAP_COMMAND
    assert seen["stdin"] == data


def _registry_pol_host() -> FakeHost:
    from lab.model import rsop_entry

    host = FakeHost.demo("ms2022")
    host.model.rsop.append(
        rsop_entry(
            "server",
            "RequireSecuritySignature",
            1,
            gpo_name="SMB signing (ADMX)",
            gpo_id="{11111111-2222-3333-4444-555555555555}",
            policy="parameters",
        )
    )
    host.model.policy_refresh()
    return host


def test_a_registry_pol_signing_value_reaches_the_answer() -> None:
    """F-3: the script asks RSOP_RegistryPolicySetting for all six values, so a signing value
    set through Administrative Templates (Set-GPRegistryValue on the Parameters key) is in the
    answer; the lab models the entry."""
    host = _registry_pol_host()
    out = _pwsh.run_script(host, "ms2022", _scripts.READ_STATE, REQUEST)
    entries = [e for e in out.data["rsop"]["entries"] if e["class"] == "RSOP_RegistryPolicySetting"]
    assert {
        "class": "RSOP_RegistryPolicySetting",
        "key": "System\\CurrentControlSet\\Services\\LanManServer\\Parameters",
        "value_name": "RequireSecuritySignature",
        "data": 1,
        "gpo_id": "{11111111-2222-3333-4444-555555555555}",
        "gpo_name": "SMB signing (ADMX)",
    } in entries


def test_a_registry_pol_signing_value_is_owned_by_its_gpo() -> None:
    from unit.plugins.action.action_harness import run_action

    from ansible_collections.winhardening.smb.plugins.action import win_smb_signing_facts

    host = _registry_pol_host()
    result = run_action(win_smb_signing_facts, host, {"probe": False})
    assert result.get("failed") is not True, result
    setting = result["ansible_facts"]["smb_signing"]["settings"]["server_require"]
    assert setting["owner"] == "gpo", setting


def test_a_failure_message_never_carries_a_hosts_raw_control_text() -> None:
    with pytest.raises(_pwsh.ScriptFailed) as info:
        _run((1, b"", "\x1b[2J\x1b[31mAccess denied \u202eexe.txt".encode() + b"\xff\xfe"))
    message = info.value.message
    assert "\x1b" not in message
    assert "\u202e" not in message
    assert "\\x1b[2J" in message
    assert "\\u202e" in message
    message.encode("utf-8")  # no lone surrogate from the undecodable bytes
    info.value.result()["stderr"].encode("utf-8")
