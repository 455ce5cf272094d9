"""The one fake Windows for unit tests: the lab's host model behind ``exec_command``.

The lab (tests/lab) reads a command line as a host would (every -EncodedCommand layer; the
collection's bootstrap, whose script comes as ``in_data`` on stdin; the marker, the $Request
line) and answers the collection's scripts from its model of one host. The
unit tests use it directly, without its WS-Management server, so there is one implementation of
the Windows side of the protocol, and every knob the lab has (`python -m lab set` keys) is a knob
here too.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from lab import fleet, ops, script_reader
from lab.model import HostModel
from lab.state import apply_assignment

DEMO_FLEET = Path(__file__).resolve().parents[3] / "lab" / "fleets" / "demo.yml"
_DEMO: Optional[Dict[str, HostModel]] = None

Answer = Tuple[int, bytes, bytes]
PROTOCOL_VERSION = 2


def decode_command(command: str) -> str:
    """The script inside a command line, through every -EncodedCommand layer (the lab's reader)."""
    return script_reader.decode_layers(command)[0]


def classify(command: str, in_data: Optional[bytes] = None) -> script_reader.Script:
    """What the lab makes of one exec_command: the bootstrap's stdin when the command is the
    collection's bootstrap, else the command line itself."""
    script = script_reader.read_script(command, [])
    if isinstance(script, script_reader.Bootstrap) and in_data is not None:
        return script_reader.read_stdin(in_data, script.layers)
    return script


def read_script(command: str, in_data: Optional[bytes] = None) -> Tuple[str, Dict[str, Any]]:
    """(op, request) of a command (and its stdin) the lab recognises as one of the collection's
    scripts."""
    script = classify(command, in_data)
    assert isinstance(script, script_reader.ProtocolScript), script
    return script.op, script.request


def demo_model(name: str) -> HostModel:
    """A fresh copy of one host of the demo fleet (dc01, dc02, ms2016 ... web01)."""
    global _DEMO
    if _DEMO is None:
        _DEMO = {h.name: h for h in fleet.load(DEMO_FLEET).hosts}
    return copy.deepcopy(_DEMO[name])


class FakeHost:
    """exec_command for one host, answered by the lab's ops from ``model``."""

    def __init__(self, model: HostModel) -> None:
        self.model = model
        self.calls: List[Tuple[str, Dict[str, Any]]] = []
        self.exec_kwargs: List[Dict[str, Any]] = []
        # Replaces the next answer of an op: op -> callable(request) -> (rc, stdout, stderr) or
        # raises (a transport failure).
        self.override: Dict[str, Callable[[Dict[str, Any]], Answer]] = {}

    @classmethod
    def demo(cls, name: str, *assignments: str) -> FakeHost:
        """A demo-fleet host, with `python -m lab set` assignments applied."""
        host = cls(demo_model(name))
        host.set(*assignments)
        return host

    def set(self, *assignments: str) -> None:
        for assignment in assignments:
            apply_assignment(self.model, assignment)

    def answer(self, op: str, request: Dict[str, Any]) -> Dict[str, Any]:
        """What the host answers to one script, as parsed JSON (for tests that doctor it)."""
        script = script_reader.ProtocolScript(op, PROTOCOL_VERSION, dict(request), 1)
        outcome = ops.run(self.model, script)
        assert outcome.rc == 0, outcome.stderr
        data: Dict[str, Any] = json.loads(outcome.stdout)
        return data

    @property
    def ops(self) -> List[str]:
        return [op for op, dummy in self.calls]

    def exec_command(
        self, cmd: str, in_data: Optional[bytes] = None, sudoable: bool = True
    ) -> Answer:
        self.exec_kwargs.append({"in_data": in_data, "sudoable": sudoable})
        script = classify(cmd, in_data)
        if isinstance(script, script_reader.ProtocolScript):
            self.calls.append((script.op, script.request))
            if script.op in self.override:
                return self.override.pop(script.op)(script.request)
        outcome = ops.run(self.model, script)
        return outcome.rc, outcome.stdout.encode(), outcome.stderr.encode()
