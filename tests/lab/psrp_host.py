"""PSRP for one simulated host: turn PowerShell pipelines into the lab's script answers.

The psrp connection plugin (ansible-core, through pypsrp) opens a runspace pool in a
WS-Management shell whose resource URI is ``.../powershell/Microsoft.PowerShell`` and runs each
script as a pipeline in it (MS-PSRP 3.1.5, the WS-Management transport). All of PSRP itself
(fragments, messages, CLIXML, the runspace pool's and the pipelines' state machines) is
psrpcore's ``ServerRunspacePool`` and ``ServerPipeline``. This module only moves their payloads
in and out of the WS-Management requests that ``wsman.py`` reads and writes, written by hand
because no package implements that server side, and decides what each pipeline answers:

* its one script command is read by the same reader as a WinRS command line
  (``script_reader.read_script``). For the collection's bootstrap, the pipeline input, strings
  joined with newlines as the bootstrap's ``@($input)-join"`n"`` joins them, is read as the cmd
  path reads the bootstrap's stdin (``script_reader.read_stdin``). The answer comes from the
  endpoint's runner (``ops.run``, with the host's faults and records).
* the answer is given as PowerShell gives it in a runspace: each stdout line is a string output
  object; a failure (a terminating error: ``throw``, ``-ErrorAction Stop``, the bootstrap's
  language-mode check, a script the lab does not understand) ends the pipeline in state Failed
  with the error record; ``exit N`` calls the host's ``SetShouldExit(N)``, which a remote
  runspace forwards to the client as a host call, and the pipeline completes
  (PowerShell/PowerShell@929903692e55 ``engine/hostifaces/LocalPipeline.cs`` L403-L444: the
  ``ExitException`` handler calls ``EngineHostInterface.SetShouldExit(exitCode)``; L598 the
  state is then Completed; L605 a ``RuntimeException`` sets Failed;
  ``engine/remoting/server/ServerRemoteHost.cs`` L161-L163 sends ``SetShouldExit`` to the
  client). ansible-core's psrp plugin takes its rc from that host call, else 1 when the
  pipeline failed, else 0 (``_parse_pipeline_result``).
* anything else fails loudly: a pipeline of several commands, a command that is not a script,
  script arguments, input objects that are not strings (a Failed pipeline with the lab's "does
  not understand" message), and PSRP messages the lab does not model (a WS-Management fault).

A busy host (``lab/busy.py``: ``receive_timeouts``, ``receive_running``, ``output_chunks``,
``stderr_progress``; ``stdout_bom`` is WinRS-only) answers a finished pipeline's Receives by
``busy.psrp_plan``: the w:TimedOut faults first, then its PSRP fragments, cut by psrpcore, over
Running answers, then Done. Each Receive is recorded as on the WinRS path.

Not modelled here: message encryption, disconnect and reconnect, and host calls that need an
answer from the client.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Deque, Dict, List, Optional, Tuple
from xml.etree import ElementTree

import psrpcore
from psrpcore._payload import unpack_fragment
from psrpcore.types import (
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    NETException,
    ProgressRecordType,
    PSInvocationState,
    RunspacePoolState,
)

from lab import busy, ops, wsman
from lab.clixml import PROGRESS_ACTIVITY, WARNING_TEXT
from lab.records import HostRecorder
from lab.script_reader import Bootstrap, Script, Unknown, read_script, read_stdin

# The only session configuration the lab serves (ansible_psrp_configuration_name's default).
CONFIGURATION = "Microsoft.PowerShell"
# What the psrp plugin appends to a command line it does not decode (ansible-core
# plugins/connection/psrp.py exec_command: f"{cmd}\nexit $LASTEXITCODE").
PLUGIN_EXIT_SUFFIX = "\nexit $LASTEXITCODE"
# How long a Receive with nothing to give waits before the w:TimedOut fault (a real host waits
# for the request's OperationTimeout; the clients retry either way).
RECEIVE_WAIT_S = 0.5
# The smallest fragment a busy host's answer is cut into (21 bytes of header, 43 of data).
BUSY_FRAGMENT_MIN = 64
_FINISHED = (PSInvocationState.Completed, PSInvocationState.Failed, PSInvocationState.Stopped)
_QUIET_EVENTS = (
    psrpcore.SessionCapabilityEvent,
    psrpcore.InitRunspacePoolEvent,
    psrpcore.PipelineHostResponseEvent,
    psrpcore.RunspacePoolHostResponseEvent,
)

# (script, characters of the script text, -EncodedCommand layers, bytes of pipeline input or
# None) -> (outcome, whether its answer is to be dropped): the endpoint's runner.
Runner = Callable[[Script, int, int, Optional[int]], Awaitable[Tuple[ops.Outcome, bool]]]


class PsrpError(Exception):
    """A PSRP request the lab does not model; the endpoint answers it with a WS-Man fault."""


@dataclass
class _Pipe:
    pipeline: psrpcore.ServerPipeline
    request: Optional[psrpcore.PowerShell] = None
    inputs: List[Any] = field(default_factory=list)
    # drop_after_write: the script ran; the Receive that would carry its answer is dropped.
    drop_receive: bool = False
    # A busy host (lab/busy.py): the Receive answers still to give, made when the pipeline
    # finished; the last one (Done) is repeated, without data, to any further Receive.
    answers: Optional[List[busy.Answer]] = None


class PsrpShell:
    """One runspace pool (one WS-Management shell of a PSRP resource URI) and its pipelines."""

    def __init__(
        self,
        run: Runner,
        max_envelope_size: int,
        knobs: Callable[[], busy.Busy],
        recorder: HostRecorder,
    ) -> None:
        self.pool = psrpcore.ServerRunspacePool()
        self._run = run
        self._knobs = knobs
        self._recorder = recorder
        # Output fragments small enough that one Receive answer, base64 and envelope included,
        # stays within the client's w:MaxEnvelopeSize.
        size = max_envelope_size or 153600
        self._budget = max(1024, (size - 4096) * 3 // 4)
        self._out: Dict[Optional[uuid.UUID], Deque[bytes]] = {}
        self._pipes: Dict[str, _Pipe] = {}

    @classmethod
    async def create(
        cls,
        req: wsman.Request,
        run: Runner,
        knobs: Callable[[], busy.Busy],
        recorder: HostRecorder,
    ) -> PsrpShell:
        config = req.resource_uri[len(wsman.POWERSHELL_PREFIX) :]
        if config != CONFIGURATION:
            raise PsrpError(f"lab: no PowerShell session configuration {config!r}")
        if not req.creation_xml:
            raise PsrpError("lab: a PSRP shell Create without creationXml")
        shell = cls(run, req.max_envelope_size, knobs, recorder)
        await shell._feed(req.creation_xml, None)
        if shell.pool.state != RunspacePoolState.Opened:
            raise PsrpError(f"lab: creationXml left the runspace pool {shell.pool.state.name}")
        return shell

    # -- WS-Management requests -----------------------------------------------------------------
    async def handle(self, req: wsman.Request) -> Tuple[int, Optional[bytes]]:
        """Command, Send, Receive or Signal on this shell (Create and Delete are the endpoint's)."""
        if req.action == "Command":
            return await self._command(req)
        if req.action == "Receive":
            return await self._receive(req)
        pipe = self._pipe(req.command_id) if req.command_id else None
        if req.action == "Send":
            await self._feed(req.stdin, pipe.pipeline.pipeline_id if pipe else None)
            return 200, wsman.empty_response(req)
        if req.action == "Signal" and pipe is not None:
            self._end(pipe)
            return 200, wsman.empty_response(req)
        raise PsrpError(f"lab: {req.action} without a pipeline's CommandId on a PSRP shell")

    def close(self) -> None:
        """Delete: stop what still runs and close the pool."""
        for pipe in list(self._pipes.values()):
            self._end(pipe)
        if self.pool.state == RunspacePoolState.Opened:
            self.pool.close()

    async def _command(self, req: wsman.Request) -> Tuple[int, Optional[bytes]]:
        command_id = (req.requested_command_id or str(uuid.uuid4())).upper()
        try:
            pipeline_id = uuid.UUID(command_id)
        except ValueError:
            raise PsrpError(f"lab: CommandId {command_id!r} is not a pipeline id") from None
        if command_id in self._pipes:
            raise PsrpError(f"lab: pipeline {command_id} exists already")
        if len(req.arguments) != 1:
            raise PsrpError("lab: a PSRP Command carries one fragment in one rsp:Arguments")
        try:
            first = base64.b64decode(req.arguments[0], validate=True)
        except binascii.Error:
            raise PsrpError("lab: the Command's rsp:Arguments is not base64") from None
        self._pipes[command_id] = _Pipe(psrpcore.ServerPipeline(self.pool, pipeline_id))
        await self._feed(first, pipeline_id)
        return 200, wsman.command_response(req, command_id)

    async def _receive(self, req: wsman.Request) -> Tuple[int, Optional[bytes]]:
        pipe = self._pipe(req.command_id) if req.command_id else None
        if pipe is not None and pipe.drop_receive:
            pipe.drop_receive = False
            return 200, None
        if pipe is not None and pipe.answers is not None:
            return self._busy_receive(req, pipe, pipe.answers)
        target = pipe.pipeline.pipeline_id if pipe else None
        payloads = self._take(target)
        finished = pipe is not None and pipe.pipeline.state in _FINISHED
        if not payloads and not finished:
            await asyncio.sleep(RECEIVE_WAIT_S)
            return 500, wsman.timed_out_fault(req)
        done = None if pipe is None else finished and not self._out.get(target)
        return 200, wsman.psrp_receive_response(req, req.command_id, payloads, done)

    def _busy_receive(
        self, req: wsman.Request, pipe: _Pipe, answers: List[busy.Answer]
    ) -> Tuple[int, Optional[bytes]]:
        """The next answer of a busy host's finished pipeline (lab/busy.py psrp_plan)."""
        answer = answers.pop(0)
        if not answers:
            answers.append(busy.Answer("Done"))  # any further Receive: Done, nothing more
        entry: Dict[str, Any] = {
            "command_id": req.command_id,
            "transport": "psrp",
            "state": answer.state,
            "stdout_bytes": len(answer.stdout),
        }
        if answer.state == "TimedOut":
            self._recorder.receive({**entry, "operation_timeout": req.operation_timeout})
            return 500, wsman.timed_out_fault(req)
        fragments = _fragments(answer.stdout)
        entry["fragments"] = len(fragments)
        # A message begun in this answer and ended in a later one (the client must keep it).
        entry["message_open"] = bool(fragments) and not fragments[-1].end
        self._recorder.receive(entry)
        payloads = [answer.stdout] if answer.stdout else []
        done = answer.state == "Done"
        return 200, wsman.psrp_receive_response(req, req.command_id, payloads, done)

    # -- PSRP -----------------------------------------------------------------------------------
    def _pipe(self, command_id: Optional[str]) -> _Pipe:
        pipe = self._pipes.get((command_id or "").upper())
        if pipe is None:
            raise PsrpError(f"lab: unknown CommandId {command_id!r}")
        return pipe

    async def _feed(self, data: bytes, pipeline_id: Optional[uuid.UUID]) -> None:
        """Hand fragments to psrpcore, act on every message they complete, queue the answers."""
        self.pool.receive_data(psrpcore.PSRPPayload(data, psrpcore.StreamType.default, pipeline_id))
        while True:
            try:
                event = self.pool.next_event()
            except psrpcore.PSRPCoreError as exc:
                raise PsrpError(f"lab: PSRP data the lab cannot read: {exc}") from None
            if event is None:
                break
            if isinstance(event, _QUIET_EVENTS):
                continue  # psrpcore answered (capability, pool opened) or nothing to do
            if isinstance(event, psrpcore.CreatePipelineEvent):
                pipe = self._pipe(str(event.pipeline_id))
                pipe.request = event.pipeline
                pipe.pipeline.start()
                if pipe.request.no_input:
                    await self._finish(pipe)
            elif isinstance(event, psrpcore.PipelineInputEvent):
                self._pipe(str(event.pipeline_id)).inputs.append(event.data)
            elif isinstance(event, psrpcore.EndOfPipelineInputEvent):
                await self._finish(self._pipe(str(event.pipeline_id)))
            else:
                raise PsrpError(f"lab: the PSRP message {type(event).__name__} is not modelled")
        self._drain()

    async def _finish(self, pipe: _Pipe) -> None:
        """All input is in: read the script, run it through the endpoint, answer in PSRP."""
        assert pipe.request is not None
        text, problem = _script_text(pipe.request)
        explicit_exit = False
        stdin_bytes: Optional[int] = None
        script: Script
        if problem is not None:
            script = Unknown(problem, text)
        else:
            body = text
            if body.endswith(PLUGIN_EXIT_SUFFIX):
                # $LASTEXITCODE is unset or 0: the lab's raw commands are cmdlets or hostname.
                body, explicit_exit = body[: -len(PLUGIN_EXIT_SUFFIX)], True
            script = read_script(body, [])
            if isinstance(script, Bootstrap):
                if not all(isinstance(i, str) for i in pipe.inputs):
                    kinds = sorted({type(i).__name__ for i in pipe.inputs})
                    script = Unknown(f"the bootstrap's pipeline input holds {kinds}, not strings")
                else:
                    data = "\n".join(pipe.inputs).encode("utf-8", "surrogatepass")
                    stdin_bytes = len(data)
                    script = read_stdin(data, script.layers)
        outcome, dropped = await self._run(
            script, len(text), getattr(script, "layers", 0), stdin_bytes
        )
        pipe.drop_receive = dropped
        knobs = self._knobs()
        if not knobs.psrp_active:
            _answer(pipe.pipeline, outcome, explicit_exit)
            return
        # A busy host: the pipeline's messages cut into fragments here, to be spread over its
        # Receives (lab/busy.py psrp_plan) instead of queued for the next one.
        target = pipe.pipeline.pipeline_id
        self._drain()
        early = list(self._out.pop(target, deque()))
        if knobs.stderr_progress:
            _progress(pipe.pipeline)
            early += self._fragment(target, self._budget)
        _answer(pipe.pipeline, outcome, explicit_exit)
        parts = knobs.output_chunks
        # Small enough that the output (at least its stdout's bytes) makes a fragment per part.
        size = self._budget
        if parts > 1:
            size = max(BUSY_FRAGMENT_MIN, min(size, len(outcome.stdout.encode()) // parts))
        late = self._fragment(target, size)
        pipe.answers = busy.psrp_plan(knobs, early, late, self._budget)
        self._recorder.busy(
            {
                "command_id": str(target).upper(),
                "transport": "psrp",
                "answers": len(pipe.answers),
                "fragment_size": size,
                "progress_records": 2 if knobs.stderr_progress else 0,
                "warning_records": 1 if knobs.stderr_progress else 0,
                **{k: v for k, v in knobs.to_json().items() if k != "stdout_bom"},
            }
        )

    def _fragment(self, target: uuid.UUID, size: int) -> List[bytes]:
        """The pipeline's messages so far, as psrpcore fragments them to ``size`` bytes."""
        out: List[bytes] = []
        while True:
            payload = self.pool.data_to_send(size)
            if payload is None:
                return out
            if payload.pipeline_id != target:
                raise PsrpError(
                    f"lab: a busy pipeline's answer holds data for {payload.pipeline_id}"
                )
            out.append(payload.data)

    def _end(self, pipe: _Pipe) -> None:
        """Signal (PowerShell's ctrl_c, or terminate) or Delete: stop it if it runs, forget it."""
        if pipe.pipeline.state in (PSInvocationState.Running, PSInvocationState.Stopping):
            pipe.pipeline.stop()
        pipe.pipeline.close()
        self._drain()
        self._pipes.pop(str(pipe.pipeline.pipeline_id).upper(), None)
        self._out.pop(pipe.pipeline.pipeline_id, None)

    def _drain(self) -> None:
        """Sort psrpcore's one outgoing buffer into a queue per pool and pipeline: a Receive gets
        only its own target's messages."""
        while True:
            payload = self.pool.data_to_send(self._budget)
            if payload is None:
                return
            self._out.setdefault(payload.pipeline_id, deque()).append(payload.data)

    def _take(self, target: Optional[uuid.UUID]) -> List[bytes]:
        queue = self._out.get(target)
        taken: List[bytes] = []
        size = 0
        while queue and (not taken or size + len(queue[0]) <= self._budget):
            size += len(queue[0])
            taken.append(queue.popleft())
        return taken


def _script_text(request: psrpcore.PowerShell) -> Tuple[str, Optional[str]]:
    """The pipeline's script and, when it is not one script without arguments, why not."""
    commands = request.commands
    text = "\n".join(c.command_text for c in commands)
    if len(commands) != 1:
        return text, f"a pipeline of {len(commands)} commands"
    command = commands[0]
    if not command.is_script:
        return text, f"the command {command.command_text!r}, not a script"
    if command.parameters:
        return text, "a script with arguments"
    return text, None


def _fragments(data: bytes) -> List[Any]:
    """The PSRP fragments in ``data`` (whole fragments, as psrpcore made them), read back by
    psrpcore for the records."""
    out, rest = [], bytearray(data)
    while rest:
        fragment = unpack_fragment(rest)
        out.append(fragment)
        rest = rest[21 + len(fragment.data) :]
    return out


def _progress(pipeline: psrpcore.ServerPipeline) -> None:
    """What a busy PowerShell writes before its output: progress while it loads modules (as
    powershell.exe reports it on a redirected stderr, lab/clixml.py), then a warning."""
    pipeline.write_progress(PROGRESS_ACTIVITY, 0, " ", record_type=ProgressRecordType.Processing)
    pipeline.write_progress(PROGRESS_ACTIVITY, 0, " ", record_type=ProgressRecordType.Completed)
    pipeline.write_warning(WARNING_TEXT)


def _answer(pipeline: psrpcore.ServerPipeline, outcome: ops.Outcome, explicit_exit: bool) -> None:
    for line in outcome.stdout.splitlines():
        pipeline.write_output(line)
    message, error_id = _error_text(outcome.stderr)
    if outcome.rc != 0 and message:
        # A terminating error: ServerPipeline has no public "failed", so its state change is
        # used directly; psrpcore builds the PipelineState message (MS-PSRP 2.2.2.21).
        pipeline._change_state(PSInvocationState.Failed, error=_error_record(message, error_id))
        return
    if message:
        pipeline.write_error(NETException(Message=message), fully_qualified_error_id=error_id)
    if explicit_exit or outcome.rc != 0:
        psrpcore.ServerHostRequestor(pipeline).set_should_exit(outcome.rc)
    pipeline.complete()


def _error_text(stderr: str) -> Tuple[str, str]:
    """The message and FullyQualifiedErrorId of the error in the lab's CLIXML stderr (the form
    powershell.exe writes, lab/clixml.py), parsed by psrpcore; ("", "") when there is none."""
    if not stderr:
        return "", ""
    lines = stderr.splitlines()
    if stderr.startswith("#< CLIXML"):
        try:
            records = psrpcore.ClixmlOutput.from_clixml(stderr.split("\n", 1)[1]).error
        except (ElementTree.ParseError, ValueError) as exc:
            raise PsrpError(f"lab: the answer's CLIXML stderr does not parse: {exc}") from None
        lines = "".join(str(r.Exception.Message) for r in records).splitlines()
    message = "\r\n".join(ln for ln in lines if not ln.lstrip().startswith("+ ")).strip()
    error_id = message.splitlines()[0] if message else ""
    for ln in lines:
        key, _, value = ln.strip().lstrip("+ ").partition(":")
        if key.strip() == "FullyQualifiedErrorId" and value.strip():
            error_id = value.strip()
    return message, error_id


def _error_record(message: str, error_id: str) -> ErrorRecord:
    """What ``throw "message"`` records: a RuntimeException, category OperationStopped."""
    exception = NETException(Message=message)
    exception.PSObject.type_names = [
        "System.Management.Automation.RuntimeException",
        "System.SystemException",
        *exception.PSTypeNames,
    ]
    return ErrorRecord(
        Exception=exception,
        CategoryInfo=ErrorCategoryInfo(
            Category=ErrorCategory.OperationStopped,
            Reason="RuntimeException",
            TargetName=message,
            TargetType="String",
        ),
        TargetObject=message,
        FullyQualifiedErrorId=error_id,
    )
