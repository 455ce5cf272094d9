"""A stand-in for a Windows host behind ``connection.exec_command``, for unit tests.

It decodes the -EncodedCommand line exactly as a host would (one or two layers), checks the
marker and the $Request line, and answers read_state / apply from a state that starts as a
captured lab answer, so tests assert on what the plugins really send and idempotence shows.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from ansible_collections.winhardening.smb.plugins.plugin_utils import _pwsh, _scripts

CAPTURED = Path(__file__).parent / "captured"
_ENCODED = re.compile(r"-EncodedCommand\s+(\S+)")
_MARKER = re.compile(r"^# winhardening\.smb:(\w+):(\d+)$")
_REQUEST = re.compile(r"^\$Request = ConvertFrom-Json -InputObject '(.*)'$")


def captured_text(name: str) -> str:
    return (CAPTURED / name).read_text()


def captured_json(name: str) -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads(captured_text(name))
    return data


def decode_command(command: str) -> str:
    """The script inside a command line, through as many -EncodedCommand layers as there are."""
    text = command
    for _layer in range(3):
        match = _ENCODED.search(text)
        if not match:
            return text
        text = base64.b64decode(match.group(1)).decode("utf-16-le")
    raise AssertionError("more than three -EncodedCommand layers")


def read_script(command: str) -> Tuple[str, Dict[str, Any]]:
    """(op, request) of a command line; asserts the protocol's shape on the way."""
    assert command.startswith(_pwsh.POWERSHELL_PREFIX), command[:120]
    script = decode_command(command)
    assert script.endswith(_scripts.EXIT_SUFFIX)
    lines = script.splitlines()
    marker = _MARKER.match(lines[0])
    assert marker, lines[0]
    assert marker.group(2) == "1"
    assert lines[1] == "$ProgressPreference = 'SilentlyContinue'"
    request = _REQUEST.match(lines[3])
    assert request, lines[3]
    payload: Dict[str, Any] = json.loads(request.group(1).replace("''", "'"))
    return marker.group(1), payload


class FakeHost:
    """exec_command for one host. ``state`` is a read_state answer that apply updates."""

    def __init__(self, read_state: Dict[str, Any]) -> None:
        self.state = copy.deepcopy(read_state)
        self.calls: List[Tuple[str, Dict[str, Any]]] = []
        self.exec_kwargs: List[Dict[str, Any]] = []
        # Per-property write failures: (side, property) -> error message.
        self.refuse: Dict[Tuple[str, str], str] = {}
        # Replaces the next answer of an op: op -> callable(request) -> (rc, stdout, stderr) or
        # raises (a transport failure).
        self.override: Dict[str, Callable[[Dict[str, Any]], Tuple[int, bytes, bytes]]] = {}

    @classmethod
    def captured(cls, host: str) -> FakeHost:
        return cls(captured_json(f"read_state_{host}.txt"))

    @property
    def ops(self) -> List[str]:
        return [op for op, dummy in self.calls]

    def exec_command(
        self, cmd: str, in_data: Optional[bytes] = None, sudoable: bool = True
    ) -> Tuple[int, bytes, bytes]:
        self.exec_kwargs.append({"in_data": in_data, "sudoable": sudoable})
        op, request = read_script(cmd)
        self.calls.append((op, request))
        if op in self.override:
            return self.override.pop(op)(request)
        if op == "read_state":
            answer = copy.deepcopy(self.state)
            if request.get("events_since") is None:
                answer["events"] = None
            return 0, (json.dumps(answer) + "\r\n").encode(), b""
        assert op == "apply", op
        return 0, (json.dumps(self.apply(request)) + "\r\n").encode(), b""

    def apply(self, request: Dict[str, Any]) -> Dict[str, Any]:
        results = []
        for side in ("server", "client"):
            for prop, value in (request.get(side) or {}).items():
                error = self.refuse.get((side, prop))
                unknown = prop.startswith("Audit") and prop not in self.state["parameters"][side]
                if error is None and unknown:
                    error = f"A parameter cannot be found that matches parameter name '{prop}'."
                if error is None:
                    self.state[f"{side}_config"][prop] = bool(value)
                results.append(
                    {
                        "side": side,
                        "property": prop,
                        "value": value,
                        "ok": error is None,
                        "error": error,
                    }
                )
        return {
            "op": "apply",
            "v": 1,
            "results": results,
            "server_config": dict(self.state["server_config"]),
            "client_config": dict(self.state["client_config"]),
        }
