"""A busy host's answers: what a loaded Windows host sends for one command or PSRP pipeline.

By default the lab answers a command's first Receive at once, with all of its output and
CommandState Done. A real host often does not (pywinrm ``protocol.py`` get_command_output and
ansible-core's winrm plugin ``_winrm_get_command_output`` loop until Done for that reason):

- ``receive_timeouts=N``: the first N Receives of a command get the ``w:TimedOut`` SOAP fault
  with WSManFault code 2150858793 (ERROR_WSMAN_OPERATION_TIMEDOUT). MS-WSMV 3.1.4.14: "If no
  output is available before the wsman:OperationTimeout expires, the server MUST return a
  WSManFault with the Code attribute equal to 2150858793. When the client receives this fault,
  it SHOULD issue another Receive request." pywinrm turns that code into
  WinRMOperationTimeoutError and both clients retry. A real host answers it after the request's
  OperationTimeout (PT20S from Ansible); the lab answers at once and records the header.
- ``receive_running=N``: the first N answered Receives say CommandState Running (no ExitCode),
  with no output or only part of it; stderr written early (progress) comes in them.
- ``output_chunks=N``: stdout, and stderr, are split across N Receive answers at byte offsets,
  as WinRS hands over whatever the process's pipe held when it answered.
- ``stderr_progress=true``: stderr carries CLIXML progress records and a warning record (what
  powershell.exe writes when its streams are redirected: ``#< CLIXML`` then ``Obj S="progress"``
  and ``S S="warning"``, ConsoleHostUserInterface.cs ``ErrorSerializer.Serialize(message,
  "warning")``), while the exit code stays 0.
- ``stdout_bom=true``: stdout starts with a UTF-8 byte-order mark (EF BB BF), as PowerShell
  writes when the console's output encoding is a UTF8Encoding that emits its preamble.

The order of one command's answers: the timeouts, then the Running answers, then Done.

Over PSRP (``lab/psrp_host.py``, ``psrp_plan``) a pipeline's output is PSRP messages, not a
byte stream, and the knobs that have a meaning there apply to its Receives the same way:

- ``receive_timeouts=N``: the first N Receives for the pipeline get the same ``w:TimedOut``
  fault; pypsrp's ``PowerShell.poll_invoke`` ignores exactly that code (2150858793) and polls
  again.
- ``receive_running=N`` and ``output_chunks=N``: the pipeline's messages (its output objects, a
  host call, then its PipelineState) are cut by psrpcore into fragments (``data_to_send`` with a
  small size) and the fragments spread over the answers, CommandState Running until the last:
  a message may start in one Receive and end in a later one, which pypsrp's ``Fragmenter``
  puts back together (``defragment`` keeps an incomplete message across calls).
- ``stderr_progress=true``: two PROGRESS_RECORD messages and a WARNING_RECORD message, written
  by psrpcore's ``ServerPipeline.write_progress`` and ``write_warning`` before the output, in
  the first answer (as the WinRS path puts stderr first); the pipeline still completes.
- ``stdout_bom`` has no PSRP meaning (output objects are strings, not bytes of a console
  encoding) and applies to WinRS commands only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Sequence, Tuple

from lab.clixml import with_progress

UTF8_BOM = b"\xef\xbb\xbf"
# How many answers a knob may ask for: enough for any test, small enough that a typo
# (receive_timeouts=1000000) cannot keep a client looping.
MAX_ANSWERS = 50
# knob -> (kind, smallest value)
KNOBS: Dict[str, Tuple[str, int]] = {
    "receive_timeouts": ("int", 0),
    "receive_running": ("int", 0),
    "output_chunks": ("int", 1),
    "stderr_progress": ("bool", 0),
    "stdout_bom": ("bool", 0),
}
_BOOL = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@dataclass
class Busy:
    """One host's busy-host knobs (all off by default: one Receive, Done, output whole)."""

    receive_timeouts: int = 0
    receive_running: int = 0
    output_chunks: int = 1
    stderr_progress: bool = False
    stdout_bom: bool = False

    @property
    def active(self) -> bool:
        return self != Busy()

    @property
    def psrp_active(self) -> bool:
        """Whether a PSRP pipeline is answered as a busy host (``stdout_bom`` is WinRS-only)."""
        return (
            self.receive_timeouts > 0
            or self.receive_running > 0
            or self.output_chunks > 1
            or (self.stderr_progress)
        )

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> Busy:
        busy = cls()
        for key, value in data.items():
            set_knob(busy, key, value)
        return busy


def set_knob(busy: Busy, key: str, value: object) -> None:
    """Set one knob from text (``set``) or a YAML scalar (a fleet file); ValueError if bad."""
    if key not in KNOBS:
        raise ValueError(f"unknown busy-host knob {key!r}; known: {', '.join(KNOBS)}")
    kind, low = KNOBS[key]
    text = str(value).strip().lower()
    if kind == "bool":
        if text not in _BOOL:
            raise ValueError(f"{key}: expected true or false, got {value!r}")
        setattr(busy, key, _BOOL[text])
        return
    if isinstance(value, bool) or not text.isdigit() or not low <= int(text) <= MAX_ANSWERS:
        raise ValueError(f"{key}: expected an integer {low}..{MAX_ANSWERS}, got {value!r}")
    setattr(busy, key, int(text))


@dataclass(frozen=True)
class Answer:
    """One Receive's answer: ``TimedOut`` (the fault), ``Running`` or ``Done``."""

    state: str
    stdout: bytes = b""
    stderr: bytes = b""


def split(data: bytes, pieces: int) -> List[bytes]:
    """``data`` in ``pieces`` consecutive parts of near-equal size (empty parts when short)."""
    size, extra = divmod(len(data), pieces)
    out, at = [], 0
    for i in range(pieces):
        step = size + (1 if i < extra else 0)
        out.append(data[at : at + step])
        at += step
    return out


def _groups(items: Sequence[bytes], pieces: int) -> List[List[bytes]]:
    """``items`` in ``pieces`` consecutive groups of near-equal count, the larger (and, when
    short, the only non-empty) ones last: the last item, the pipeline's state, ends the answer."""
    size, extra = divmod(len(items), pieces)
    out, at = [], 0
    for i in range(pieces):
        step = size + (1 if i >= pieces - extra else 0)
        out.append(list(items[at : at + step]))
        at += step
    return out


def _pack(fragments: List[bytes], budget: int) -> List[bytes]:
    """Consecutive whole fragments joined into as few payloads of at most ``budget`` bytes as
    they fit in (one payload, maybe empty, when they all fit)."""
    out = [b""]
    for fragment in fragments:
        if out[-1] and len(out[-1]) + len(fragment) > budget:
            out.append(b"")
        out[-1] += fragment
    return out


def psrp_plan(busy: Busy, early: List[bytes], late: List[bytes], budget: int) -> List[Answer]:
    """Every answer one finished PSRP pipeline's Receives get, in order; the last one is Done.

    ``early`` and ``late`` are payloads of whole PSRP fragments from psrpcore, in the order it
    made them: ``early`` the records written before the output (progress, warning), ``late`` the
    output and the pipeline's state. An answer's PSRP data is its ``stdout``. ``late`` fills the
    last ``output_chunks`` answers, ``early`` comes in the first one; an answer that would pass
    ``budget`` bytes (the client's envelope) is cut into several, Running but the last."""
    answers = [Answer("TimedOut") for _ in range(busy.receive_timeouts)]
    parts = busy.output_chunks
    total = max(parts, busy.receive_running + 1)
    groups: List[List[bytes]] = [[] for _ in range(total - parts)] + _groups(late, parts)
    groups[0] = list(early) + groups[0]
    datas = [data for group in groups for data in _pack(group, budget)]
    for i, data in enumerate(datas):
        answers.append(Answer("Done" if i == len(datas) - 1 else "Running", data))
    return answers


def dress(busy: Busy, stdout: bytes, stderr: bytes) -> Tuple[bytes, bytes]:
    """The streams as the busy host writes them: a BOM first, progress and a warning on stderr."""
    if busy.stdout_bom and not stdout.startswith(UTF8_BOM):
        stdout = UTF8_BOM + stdout
    if busy.stderr_progress:
        stderr = with_progress(stderr)
    return stdout, stderr


def plan(busy: Busy, stdout: bytes, stderr: bytes) -> List[Answer]:
    """Every answer one finished command's Receives get, in order; the last one is Done.

    stdout's parts fill the last answers and stderr's the first ones (PowerShell writes progress
    before the answer), so with more Running answers than parts the early ones carry stderr
    only, or nothing."""
    stdout, stderr = dress(busy, stdout, stderr)
    answers = [Answer("TimedOut") for _ in range(busy.receive_timeouts)]
    parts = busy.output_chunks
    total = max(parts, busy.receive_running + 1)
    outs = [b""] * (total - parts) + split(stdout, parts)
    errs = split(stderr, parts) + [b""] * (total - parts)
    for i in range(total):
        answers.append(Answer("Done" if i == total - 1 else "Running", outs[i], errs[i]))
    return answers
