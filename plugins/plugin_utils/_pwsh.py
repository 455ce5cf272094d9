# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one shipped script over the task's connection and return its one JSON object.

FOR INTERNAL COLLECTION USE ONLY.

The script travels on standard input (``in_data``) and the command line carries only a small
fixed bootstrap that reads it and runs it (``_scripts.BOOTSTRAP``), as ansible-core runs its own
module wrapper: cmd.exe limits a command line to 8191 characters, stdin has no such limit, and
it is still one exec_command, one WinRS Command, per script. The command line is built here, as
ansible.windows plugin_utils/_reboot.py builds it since "Tidy up old code (#823)", rather than
through ``connection._shell._encode_script`` (deprecated in ansible-core 2.21 for removal in
2.24). The psrp and ssh connection plugins take this line on every version, and winrm from 2.19
on; winrm on 2.16 to 2.18 encodes whatever it gets as a script, so it gets the bootstrap text
instead and encodes it once (command_for). The exit code only says success or failure and the
real status travels in the JSON (docs/dev/target-protocol.md).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple, Type

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text
from ansible.release import __version__ as ansible_version

from ._engine.text import safe_text
from ._scripts import BOOTSTRAP, Script

POWERSHELL_PREFIX = (
    "PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand "
)

# cmd.exe refuses command lines longer than 8191 characters ("Command prompt (Cmd. exe)
# command-line string limitation", learn.microsoft.com/troubleshoot/windows-client/shell-experience/
# command-line-string-limitation); WinRS runs the command through cmd.exe.
CMD_LINE_LIMIT = 8191

EXCERPT_CHARS = 600
# What an answer may be: the largest real answer (read_state with 1000 peers a log) is far below
# these; anything above them is not our script's answer, and is refused before it costs memory
# or a parser's recursion.
MAX_OUTPUT_CHARS = 1_000_000
MAX_JSON_DEPTH = 16
MAX_STRING_CHARS = 65_536
BOM = "\ufeff"


# Transport exceptions that reach us unwrapped: ansible.windows' _reboot.py wraps requests'
# RequestException for the same reason; pywinrm's own errors (transport, timeout,
# authentication, WS-Man faults) are wrapped too, and a dropped socket shows up as ConnectionError.
_TRANSPORT_ERRORS: Tuple[Type[BaseException], ...] = (ConnectionError,)
try:
    from requests.exceptions import RequestException

    _TRANSPORT_ERRORS += (RequestException,)
except ImportError:  # pragma: no cover - requests comes with pywinrm and pypsrp
    pass
try:
    from winrm.exceptions import WinRMError, WinRMOperationTimeoutError, WinRMTransportError

    # In pywinrm 0.5 the transport and timeout errors do not derive from WinRMError.
    _TRANSPORT_ERRORS += (WinRMError, WinRMTransportError, WinRMOperationTimeoutError)
except ImportError:  # pragma: no cover - only the psrp or ssh connection is installed
    pass


class ScriptFailed(Exception):
    """The script ran but failed, or its output is not the protocol's one JSON line."""

    def __init__(
        self, host: str, op: str, cause: str, *, rc: int, stdout: str, stderr: str
    ) -> None:
        self.host = host
        self.op = op
        self.cause = cause
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(self.message)

    @property
    def message(self) -> str:
        excerpt = excerpt_of(self.stderr) or excerpt_of(self.stdout)
        text = f"{self.host}: the {self.op} script failed: {self.cause}"
        if excerpt:
            text += " | output: " + excerpt
        return text

    def result(self) -> Dict[str, Any]:
        """A failed task result carrying what came back, with no traceback in msg."""
        return {
            "failed": True,
            "msg": self.message,
            "rc": self.rc,
            "stdout": excerpt_of(self.stdout, 4000),
            "stderr": excerpt_of(self.stderr, 4000),
        }


@dataclass(frozen=True)
class ScriptOutput:
    """What one run returned: the parsed object and the raw streams, for reporting."""

    data: Dict[str, Any]
    rc: int
    stdout: str
    stderr: str
    # Lines the host printed besides the answer (warned about, never parsed).
    stray_lines: Tuple[str, ...] = ()


def excerpt_of(text: Optional[str], limit: int = EXCERPT_CHARS) -> str:
    """The start of ``text`` on one line, cut at ``limit`` characters, made safe for a terminal
    (a host's output: controls and bidi marks escaped, surrogates replaced)."""
    if not text:
        return ""
    flat = safe_text(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def encode_command(script_text: str) -> str:
    """The PowerShell command line that runs ``script_text`` (-EncodedCommand, UTF-16-LE)."""
    encoded = base64.b64encode(script_text.encode("utf-16-le")).decode("ascii")
    return POWERSHELL_PREFIX + encoded


# What goes on the command line for every script, whatever its size or request.
BOOTSTRAP_COMMAND = encode_command(BOOTSTRAP)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"the output holds {name}, which JSON does not allow")


def _check_shape(data: Any) -> None:
    """Depth and string length, walked without recursion (a hostile answer may nest deeply)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"the output nests deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
            raise ValueError(f"the output holds a string longer than {MAX_STRING_CHARS} characters")
        if isinstance(value, dict):
            for key, item in value.items():
                if len(key) > MAX_STRING_CHARS:
                    raise ValueError("the output holds an over-long key")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


@dataclass(frozen=True)
class JsonAnswer:
    """The answer's object and any other lines the host printed around it."""

    data: Dict[str, Any]
    stray_lines: Tuple[str, ...]


def parse_json_line(stdout: str) -> JsonAnswer:
    """The one JSON object of a script's stdout, found by its framing (a line that is an
    object); other lines (a profile's banner, a module's notice) are kept to warn about. A
    leading byte-order mark is dropped. ValueError says what is wrong."""
    if len(stdout) > MAX_OUTPUT_CHARS:
        raise ValueError(f"the output is longer than {MAX_OUTPUT_CHARS} characters")
    lines = [line.strip().lstrip(BOM) for line in stdout.lstrip(BOM).splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise ValueError("the script printed nothing")
    framed = [line for line in lines if line.startswith("{") and line.endswith("}")]
    if len(framed) != 1:
        raise ValueError(
            f"expected one JSON object line, got {len(framed)} among {len(lines)} lines"
        )
    try:
        data = json.loads(framed[0], parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("the output nests too deeply to read") from None
    except ValueError as exc:
        raise ValueError(f"the output is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("the output is JSON but not an object")
    _check_shape(data)
    return JsonAnswer(data, tuple(line for line in lines if line != framed[0]))


def _core_version() -> Tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", ansible_version)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def command_for(connection: Any) -> str:
    """What to hand exec_command as the command; the script itself goes as ``in_data``.

    The bootstrap's -EncodedCommand line, except on the winrm connection of ansible-core 2.16 to
    2.18, whose exec_command always encodes its argument as a script (_encode_script, as_list):
    given the line it would wrap it in a second layer, so it gets the bootstrap text and encodes
    it once (it also strips each line and drops blank ones, which the bootstrap already is). Both
    reach the host as the same PowerShell command line. psrp (which decodes the line and runs
    the bootstrap in its runspace with in_data as the pipeline input) and ssh take the line on
    every version.
    """
    if getattr(connection, "transport", None) == "winrm" and _core_version() < (2, 19):
        return BOOTSTRAP
    return BOOTSTRAP_COMMAND


class ScriptTimedOut(Exception):
    """No answer within the script timeout; the script may still be running on the host."""


def _exec_within(
    connection: Any, command: str, in_data: bytes, timeout: Optional[float]
) -> Tuple[Any, Any, Any]:
    """exec_command, given up on after ``timeout`` seconds. The connection plugins wait for a
    script without a bound of their own (WS-Management keeps answering that the command is still
    running), so the wait runs in a daemon thread that the worker process ends with the task."""
    if timeout is None:
        return tuple(connection.exec_command(command, in_data=in_data, sudoable=False))
    box: Dict[str, Any] = {}

    def call() -> None:
        try:
            box["answer"] = connection.exec_command(command, in_data=in_data, sudoable=False)
        except BaseException as exc:  # handed to the task's thread below
            box["error"] = exc

    thread = threading.Thread(target=call, name="smb-signing-script", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise ScriptTimedOut(f"no answer within {timeout:g} seconds")
    if "error" in box:
        raise box["error"]
    return tuple(box["answer"])


def run_script(
    connection: Any,
    host: str,
    script: Script,
    request: Mapping[str, Any],
    timeout: Optional[float] = None,
) -> ScriptOutput:
    """Run ``script`` for ``request`` in one exec_command (the bootstrap as the command, the
    script on standard input); return its checked JSON object.

    Raises AnsibleConnectionFailure when the transport fails (the host becomes unreachable),
    ScriptTimedOut when no answer came within ``timeout`` seconds, and ScriptFailed when the
    script fails or its output breaks the protocol.
    """
    command = command_for(connection)
    try:
        rc, raw_out, raw_err = _exec_within(connection, command, script.stdin(request), timeout)
    except AnsibleConnectionFailure:
        raise
    except _TRANSPORT_ERRORS as exc:
        raise AnsibleConnectionFailure(
            f"{host}: the connection failed while running the {script.op} script: {exc}"
        ) from exc
    stdout = to_text(raw_out or b"", errors="surrogate_or_strict")
    stderr = to_text(raw_err or b"", errors="surrogate_or_strict")
    rc = rc or 0
    if rc != 0:
        raise ScriptFailed(host, script.op, f"exit code {rc}", rc=rc, stdout=stdout, stderr=stderr)
    try:
        answer = parse_json_line(stdout)
    except ValueError as exc:
        raise ScriptFailed(host, script.op, str(exc), rc=rc, stdout=stdout, stderr=stderr) from None
    data = answer.data
    if data.get("op") != script.op or data.get("v") != script.version:
        cause = (
            f"the output answers op {data.get('op')!r} version {data.get('v')!r}, "
            f"expected {script.op!r} version {script.version}"
        )
        raise ScriptFailed(host, script.op, cause, rc=rc, stdout=stdout, stderr=stderr)
    return ScriptOutput(
        data=data, rc=rc, stdout=stdout, stderr=stderr, stray_lines=answer.stray_lines
    )
