"""One simulated host's WinRM endpoint: HTTP(S) with Basic auth, WinRS and PSRP shells, faults,
records.

The HTTP/1.1 handling is written on asyncio streams rather than with aiohttp (which is only a
transitive dependency here) because the faults need control below HTTP: closing a connection
unanswered after a write, never answering, and stopping the listener of one address.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import ssl
import uuid
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Dict, List, Optional, Tuple

from lab import busy, ops, wsman
from lab.clixml import error_clixml
from lab.faults import REQUEST_FAULTS, Fault
from lab.model import HostModel
from lab.psrp_host import PsrpError, PsrpShell
from lab.records import HostRecorder
from lab.script_reader import Bootstrap, Script, read_script, read_stdin

MAX_BODY = 1024 * 1024
# WinRS runs a command through cmd.exe unless WINRS_SKIP_CMD_SHELL is TRUE (MS-WSMV 2.2.4.37,
# WINRS_SKIP_CMD_SHELL), and cmd.exe takes at most 8191 characters ("Command prompt (Cmd.exe)
# command-line string limitation", learn.microsoft.com/troubleshoot/windows-client/shell-experience/
# command-line-string-limitation). That WinRS enforces it the same way is UNCONFIRMED on real
# Windows, so a fleet can turn the check off with max_command_line: 0.
CMD_EXE_LIMIT = 8191
HANG_LIMIT_S = 300.0
# 0x80338000, "The WS-Management service cannot process the request" (MS-WSMV 2.2.2.1, fault codes).
WSMAN_GENERIC_FAULT = 2150858752


@dataclass
class Command:
    # None while the collection's bootstrap waits for its script on stdin.
    outcome: Optional[ops.Outcome]
    stdin: bytes = b""
    line_chars: int = 0
    layers: int = 0
    # drop_after_write on the stdin path: the script ran at the last Send; its answer, which
    # the next Receive would carry, never comes.
    drop_receive: bool = False
    # The Receive answers still to give (lab/busy.py), made at the first Receive after the
    # command finished; the last one (Done) is repeated to any further Receive.
    answers: Optional[List[busy.Answer]] = None


@dataclass
class Shell:
    commands: Dict[str, Command] = field(default_factory=dict)
    # A PSRP shell (resource URI .../powershell/<configuration>): its runspace pool.
    psrp: Optional[PsrpShell] = None


class HostEndpoint:
    """Serves one host's address; ``on_write`` runs after a model change (save, re-apply Samba)."""

    def __init__(
        self,
        model: HostModel,
        address: str,
        port: int,
        *,
        scheme: str,
        user: str,
        password: str,
        recorder: HostRecorder,
        ssl_ctx: Optional[ssl.SSLContext],
        on_write: Callable[[HostModel], Awaitable[None]],
        max_command_line: int = CMD_EXE_LIMIT,
    ) -> None:
        self.model = model
        self.address = address
        self.port = port
        self.scheme = scheme
        self.recorder = recorder
        self._auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self._ssl = ssl_ctx
        self._on_write = on_write
        self.max_command_line = max_command_line
        self.faults: Dict[str, Fault] = {}
        self.shells: Dict[str, Shell] = {}
        self._server: Optional[asyncio.base_events.Server] = None
        self._conns: set[asyncio.StreamWriter] = set()

    # -- listener -------------------------------------------------------------------------------
    @property
    def listening(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._serve, self.address, self.port, ssl=self._ssl, reuse_address=True, backlog=64
            )

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            for w in list(self._conns):
                # abort, not close: a TLS close waits for the client's close_notify, and an
                # idle keep-alive client (a pypsrp or pywinrm session left open) never sends
                # it, so `down` (or the refused fault) would hang until SSL's shutdown timeout.
                w.transport.abort()
            await server.wait_closed()

    # -- faults -----------------------------------------------------------------------------------
    def _take(self, kinds: Tuple[str, ...], where: str) -> Optional[Fault]:
        for kind in kinds:
            f = self.faults.get(kind)
            if f is not None:
                if f.once:
                    del self.faults[kind]
                self.recorder.fault(kind, where)
                return f
        return None

    # -- HTTP -------------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, TimeoutError):
            pass
        finally:
            self._conns.discard(writer)
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        except asyncio.LimitOverrunError:
            await self._send(writer, 431, b"", "text/plain")
            return False
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            await self._send(writer, 411, b"", "text/plain")
            return False
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            await self._send(writer, 413, b"", "text/plain")
            return False
        body = await reader.readexactly(length)
        bytes_in = len(head) + len(body)
        keep = headers.get("connection", "").lower() != "close"
        if len(parts) < 2 or parts[0] != "POST" or parts[1].split("?")[0].lower() != "/wsman":
            n = await self._send(writer, 404, b"", "text/plain")
            self.recorder.http("not_wsman", 404, bytes_in, n)
            return keep
        fault = self._take(REQUEST_FAULTS, "request")
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        elif fault is not None and fault.kind == "hang":
            self.recorder.http("hang", 0, bytes_in, 0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader.read(), HANG_LIMIT_S)
            return False
        if headers.get("authorization") != self._auth or (fault and fault.kind == "unauthorized"):
            n = await self._send(
                writer, 401, b"", "text/plain", {"WWW-Authenticate": 'Basic realm="WSMAN"'}
            )
            self.recorder.http("unauthorized", 401, bytes_in, n)
            return keep
        try:
            req = wsman.parse(body)
        except wsman.WsmanError as exc:
            n = await self._send(writer, 500, wsman.fault("", WSMAN_GENERIC_FAULT, str(exc)))
            self.recorder.http("bad_request", 500, bytes_in, n)
            return keep
        if fault is not None and fault.kind == "wsman_fault":
            reply = wsman.fault(
                req.message_id,
                WSMAN_GENERIC_FAULT,
                "The WS-Management service cannot process the request (lab fault).",
            )
            n = await self._send(writer, 500, reply)
            self.recorder.http(req.action, 500, bytes_in, n)
            return keep
        status, answer = await self._handle(req)
        if answer is None:  # drop_after_write: the write happened, the answer never comes
            self.recorder.http(req.action, 0, bytes_in, 0)
            writer.transport.abort()
            return False
        n = await self._send(writer, status, answer)
        self.recorder.http(req.action, status, bytes_in, n)
        return keep

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        ctype: str = "application/soap+xml;charset=UTF-8",
        extra: Optional[Dict[str, str]] = None,
    ) -> int:
        reason = {
            200: "OK",
            401: "Unauthorized",
            404: "Not Found",
            411: "Length Required",
            413: "Payload Too Large",
            431: "Request Header Fields Too Large",
            500: "Internal Server Error",
        }.get(status, "Error")
        head = [
            f"HTTP/1.1 {status} {reason}",
            "Server: Microsoft-HTTPAPI/2.0",
            f"Content-Length: {len(body)}",
        ]
        if body:
            head.append(f"Content-Type: {ctype}")
        head.extend(f"{k}: {v}" for k, v in (extra or {}).items())
        data = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        writer.write(data)
        await writer.drain()
        return len(data)

    # -- WinRS ------------------------------------------------------------------------------------
    def _fault(self, req: wsman.Request, reason: str) -> Tuple[int, bytes]:
        return 500, wsman.fault(req.message_id, WSMAN_GENERIC_FAULT, reason)

    async def _handle(self, req: wsman.Request) -> Tuple[int, Optional[bytes]]:
        try:
            return await self._handle_shell(req)
        except PsrpError as exc:
            return self._fault(req, str(exc))

    async def _create(self, req: wsman.Request) -> Tuple[int, Optional[bytes]]:
        shell_id = str(uuid.uuid4()).upper()
        new = Shell()
        if req.resource_uri.startswith(wsman.POWERSHELL_PREFIX):
            # PSRP: the client names the shell after its runspace pool (lab/psrp_host.py).
            shell_id = (req.requested_shell_id or shell_id).upper()
            if shell_id in self.shells:
                return self._fault(req, f"ShellId {shell_id} exists already")
            new.psrp = await PsrpShell.create(
                req, self._run_psrp, lambda: self.model.busy, self.recorder
            )
        self.shells[shell_id] = new
        uri = req.resource_uri or wsman.CMD_URI
        return 200, wsman.create_response(
            req, shell_id, self.address, self.port, self.scheme, resource_uri=uri
        )

    async def _handle_shell(self, req: wsman.Request) -> Tuple[int, Optional[bytes]]:
        if req.action == "Create":
            return await self._create(req)
        shell = self.shells.get(req.shell_id or "")
        if shell is None:
            return self._fault(req, f"unknown ShellId {req.shell_id!r}")
        if req.action == "Delete":
            del self.shells[req.shell_id or ""]
            if shell.psrp is not None:
                shell.psrp.close()
            return 200, wsman.empty_response(req)
        if shell.psrp is not None:
            return await shell.psrp.handle(req)
        if req.action == "Send" and req.stream != "stdin":
            return self._fault(req, f"Send on stream {req.stream!r}, not stdin")
        if req.action == "Command":
            return await self._command(req, shell)
        cmd = shell.commands.get(req.command_id or "")
        if cmd is None:
            return self._fault(req, f"unknown CommandId {req.command_id!r}")
        if req.action == "Send":
            waiting = cmd.outcome is None
            cmd.stdin += req.stdin
            if waiting and req.stdin_end:
                # The bootstrap runs what came on stdin once stdin is closed.
                script = read_stdin(cmd.stdin, cmd.layers)
                outcome, dropped = await self._run(
                    script, cmd.line_chars, cmd.layers, stdin_bytes=len(cmd.stdin)
                )
                cmd.outcome, cmd.drop_receive = outcome, dropped
            return 200, wsman.empty_response(req)
        if req.action == "Receive":
            out = cmd.outcome
            if out is None:  # still reading stdin: nothing to show yet
                self.recorder.receive(
                    {"command_id": req.command_id, "state": "Running", "stdin_open": True}
                )
                return 200, wsman.receive_response(req, req.command_id or "", b"", b"", None)
            if cmd.drop_receive:
                cmd.drop_receive = False
                return 200, None
            return self._receive(req, cmd, out)
        # Signal (terminate): the command is finished on our side already.
        shell.commands.pop(req.command_id or "", None)
        return 200, wsman.empty_response(req)

    def _receive(
        self, req: wsman.Request, cmd: Command, out: ops.Outcome
    ) -> Tuple[int, Optional[bytes]]:
        """The next answer of a finished command: at once and Done, or as a busy host gives it
        (timeouts, Running answers, output in parts, progress on stderr, a BOM)."""
        knobs = self.model.busy
        if cmd.answers is None:
            cmd.answers = busy.plan(knobs, out.stdout.encode(), out.stderr.encode())
            if knobs.active:
                self.recorder.busy(
                    {"command_id": req.command_id, "answers": len(cmd.answers), **knobs.to_json()}
                )
        answer = cmd.answers.pop(0) if len(cmd.answers) > 1 else cmd.answers[0]
        entry = {
            "command_id": req.command_id,
            "state": answer.state,
            "stdout_bytes": len(answer.stdout),
            "stderr_bytes": len(answer.stderr),
        }
        if answer.state == "TimedOut":
            self.recorder.receive({**entry, "operation_timeout": req.operation_timeout})
            return 500, wsman.timed_out_fault(req)
        if answer.stdout.startswith(busy.UTF8_BOM):
            entry["stdout_bom"] = True
        if answer.stderr.startswith(b"#< CLIXML"):
            entry["stderr_clixml"] = True
        self.recorder.receive(entry)
        rc = out.rc if answer.state == "Done" else None
        return 200, wsman.receive_response(
            req, req.command_id or "", answer.stdout, answer.stderr, rc
        )

    async def _command(self, req: wsman.Request, shell: Shell) -> Tuple[int, Optional[bytes]]:
        command_id = str(uuid.uuid4()).upper()
        script = read_script(req.command, req.arguments)
        line_chars = len(" ".join([req.command, *req.arguments]))
        layers = getattr(script, "layers", 0)
        if 0 < self.max_command_line < line_chars and not req.skip_cmd_shell:
            outcome = ops.Outcome(
                1,
                "",
                "The command line is too long.\r\n",
                {"op": "rejected", "reason": "command line too long"},
            )
            self.recorder.script(
                {**outcome.record, "layers": layers, "rc": 1, "command_line_chars": line_chars}
            )
        elif isinstance(script, Bootstrap):
            # Nothing runs until stdin is closed (the Send with End="true").
            shell.commands[command_id] = Command(None, line_chars=line_chars, layers=layers)
            return 200, wsman.command_response(req, command_id)
        else:
            result, dropped = await self._run(script, line_chars, layers, stdin_bytes=None)
            if dropped:
                return 200, None
            outcome = result
        shell.commands[command_id] = Command(outcome)
        return 200, wsman.command_response(req, command_id)

    async def _run_psrp(
        self, script: Script, chars: int, layers: int, stdin_bytes: Optional[int]
    ) -> Tuple[ops.Outcome, bool]:
        """A PSRP pipeline's script (lab/psrp_host.py), with ``stdin_bytes`` of pipeline input."""
        return await self._run(script, chars, layers, stdin_bytes=stdin_bytes, transport="psrp")

    async def _run(
        self,
        script: Script,
        line_chars: int,
        layers: int,
        *,
        stdin_bytes: Optional[int],
        transport: Optional[str] = None,
    ) -> Tuple[ops.Outcome, bool]:
        """Run one recognised script (from the command line, or from the bootstrap's stdin when
        ``stdin_bytes`` is given, or from a PSRP pipeline); (outcome, whether its answer is to be
        dropped)."""
        fault = self._take(("access_denied",), "command")
        if fault is not None:
            outcome = ops.Outcome(
                1,
                "",
                error_clixml(
                    "Access is denied.\r\n    + CategoryInfo          : PermissionDenied: (:) [], "
                    "UnauthorizedAccessException\r\n    + FullyQualifiedErrorId : "
                    "UnauthorizedAccess"
                ),
                {"op": "faulted", "fault": "access_denied"},
            )
        else:
            outcome = ops.run(self.model, script)
        self.recorder.script(
            {
                **outcome.record,
                "layers": layers,
                "rc": outcome.rc,
                "command_line_chars": line_chars,
                "transport": transport or ("command_line" if stdin_bytes is None else "stdin"),
                "stdin_bytes": stdin_bytes,
            }
        )
        if outcome.wrote:
            await self._on_write(self.model)
            if self._take(("drop_after_write",), "command") is not None:
                return outcome, True
        # drop_after_write waits for a command that writes; the others fire on any command.
        fault = self._take(("garbage_stdout", "truncated_stdout"), "command")
        if fault is not None and fault.kind == "garbage_stdout":
            outcome = ops.Outcome(
                0, base64.b85encode(os.urandom(48)).decode() + "\r\n", "", outcome.record
            )
        elif fault is not None and fault.kind == "truncated_stdout":
            outcome = ops.Outcome(
                outcome.rc,
                outcome.stdout[: max(1, len(outcome.stdout) // 2)],
                outcome.stderr,
                outcome.record,
            )
        return outcome, False
