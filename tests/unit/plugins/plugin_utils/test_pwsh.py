"""Running a script over the connection: the command line, transport errors, bad output."""

from __future__ import annotations

import base64
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


def test_command_line_is_built_here_and_decodes_to_the_script() -> None:
    conn = Conn((0, captured_text("read_state_web01.txt").encode(), b""))
    out = _pwsh.run_script(conn, "web01", _scripts.READ_STATE, REQUEST)
    (cmd, kwargs) = conn.commands[0]
    assert kwargs == {"in_data": None, "sudoable": False}
    assert cmd.startswith(
        "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand "
    )
    assert decode_command(cmd) == _scripts.READ_STATE.render(REQUEST) + _scripts.EXIT_SUFFIX
    assert out.data["computer_name"] == "WEB01"


def test_a_second_encoding_layer_still_decodes() -> None:
    """ansible-core 2.16-2.18 wrap the line in another -EncodedCommand; readers decode twice."""
    request = {"server": {"RequireSecuritySignature": True}}
    inner = _pwsh.encode_command(_scripts.APPLY.render(request))
    outer = _pwsh.POWERSHELL_PREFIX + base64.b64encode(inner.encode("utf-16-le")).decode()
    op, request = read_script(outer)
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
def test_winrm_before_2_19_gets_the_script_so_it_is_encoded_once(
    monkeypatch: pytest.MonkeyPatch, transport: str, version: str, encoded: bool
) -> None:
    monkeypatch.setattr(_pwsh, "ansible_version", version)
    conn = Conn((0, captured_text("read_state_web01.txt").encode(), b""))
    conn.transport = transport  # type: ignore[attr-defined]
    _pwsh.run_script(conn, "web01", _scripts.READ_STATE, REQUEST)
    cmd = conn.commands[0][0]
    script = _scripts.READ_STATE.render(REQUEST) + _scripts.EXIT_SUFFIX
    if encoded:
        assert decode_command(cmd) == script
    else:
        assert cmd == script
        # What that plugin then builds (one layer) stays under cmd.exe's limit.
        stripped = "\n".join(x.strip() for x in cmd.splitlines() if x.strip())
        assert stripped == cmd.rstrip("\n")
        once = _pwsh.POWERSHELL_PREFIX + base64.b64encode(stripped.encode("utf-16-le")).decode()
        assert len(once) < _pwsh.CMD_LINE_LIMIT
