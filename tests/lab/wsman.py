"""WS-Management (MS-WSMV) messages: read what pywinrm, pypsrp and Ansible send, write what they
parse.

Written by hand because no maintained Python package implements the server side of WinRS or of
the WS-Management transport of PSRP (psrpcore does the PSRP messages themselves, not their
envelopes; lab/psrp_host.py); the client side (pywinrm ``protocol.py``, pypsrp ``wsman.py`` and
``shell.py``), MS-WSMV 3.1.4 and MS-PSRP 3.1.5 (the WS-Management transport of PSRP) define what
must be read and answered.
"""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import List, Optional
from xml.sax.saxutils import escape

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
}
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
CMD_URI = f"{SHELL}/cmd"
# A PSRP shell's resource URI is this prefix and the session configuration's name (MS-PSRP
# 3.1.5.1.1); the creationXml in its Create carries the first PSRP fragments (MS-PSRP 3.1.5.3.2).
POWERSHELL_PREFIX = "http://schemas.microsoft.com/powershell/"
PSRP_NS = "http://schemas.microsoft.com/powershell"
ACTIONS = {
    "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create": "Create",
    "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete": "Delete",
    f"{SHELL}/Command": "Command",
    f"{SHELL}/Send": "Send",
    f"{SHELL}/Receive": "Receive",
    f"{SHELL}/Signal": "Signal",
}
RESPONSE_ACTION = {
    "Create": "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse",
    "Delete": "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse",
    "Command": f"{SHELL}/CommandResponse",
    "Send": f"{SHELL}/SendResponse",
    "Receive": f"{SHELL}/ReceiveResponse",
    "Signal": f"{SHELL}/SignalResponse",
}


class WsmanError(ValueError):
    """A request the lab cannot read; answered with a WS-Man fault."""


@dataclass
class Request:
    action: str
    message_id: str
    shell_id: Optional[str] = None
    command_id: Optional[str] = None
    command: str = ""
    arguments: List[str] = field(default_factory=list)
    stdin: bytes = b""
    stdin_end: bool = False
    signal_code: str = ""
    skip_cmd_shell: bool = False
    # w:OperationTimeout, e.g. PT20S: how long the client lets a Receive wait for output.
    operation_timeout: str = ""
    # w:ResourceURI: the shell kind (CMD_URI, or POWERSHELL_PREFIX + a configuration name).
    resource_uri: str = ""
    # w:MaxEnvelopeSize: the largest answer the client takes, in bytes (0 when not sent).
    max_envelope_size: int = 0
    # Create: the ShellId the client asks for (PSRP: the runspace pool id) and the creationXml.
    requested_shell_id: Optional[str] = None
    creation_xml: bytes = b""
    # Command: the CommandId the client asks for (PSRP: the pipeline id).
    requested_command_id: Optional[str] = None
    # Send: the stream (stdin; PSRP also pr, host responses).
    stream: str = ""


def parse(body: bytes) -> Request:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise WsmanError(f"request is not XML: {exc}") from None
    action_el = root.find("s:Header/a:Action", NS)
    msg_el = root.find("s:Header/a:MessageID", NS)
    if action_el is None or msg_el is None or not action_el.text or not msg_el.text:
        raise WsmanError("request lacks a:Action or a:MessageID")
    action = ACTIONS.get(action_el.text.strip())
    if action is None:
        raise WsmanError(f"unsupported action {action_el.text.strip()}")
    req = Request(action, msg_el.text.strip())
    for sel in root.findall("s:Header/w:SelectorSet/w:Selector", NS):
        if sel.get("Name") == "ShellId":
            req.shell_id = (sel.text or "").strip()
    timeout_el = root.find("s:Header/w:OperationTimeout", NS)
    if timeout_el is not None:
        req.operation_timeout = (timeout_el.text or "").strip()
    uri_el = root.find("s:Header/w:ResourceURI", NS)
    if uri_el is not None:
        req.resource_uri = (uri_el.text or "").strip()
    size_el = root.find("s:Header/w:MaxEnvelopeSize", NS)
    if size_el is not None and (size_el.text or "").strip().isdigit():
        req.max_envelope_size = int((size_el.text or "").strip())
    body_el = root.find("s:Body", NS)
    if body_el is None:
        raise WsmanError("request lacks s:Body")
    for opt in root.findall("s:Header/w:OptionSet/w:Option", NS):
        if opt.get("Name") == "WINRS_SKIP_CMD_SHELL":
            req.skip_cmd_shell = (opt.text or "").strip().upper() == "TRUE"
    if action == "Create":
        shell_el = body_el.find("rsp:Shell", NS)
        if shell_el is not None:
            req.requested_shell_id = shell_el.get("ShellId")
            creation = shell_el.find(f"{{{PSRP_NS}}}creationXml")
            if creation is not None:
                req.creation_xml = _b64(creation.text, "creationXml")
    elif action == "Command":
        line_el = body_el.find("rsp:CommandLine", NS)
        if line_el is not None:
            req.requested_command_id = line_el.get("CommandId")
        cmd = body_el.find("rsp:CommandLine/rsp:Command", NS)
        req.command = (cmd.text or "") if cmd is not None else ""
        req.arguments = [a.text or "" for a in body_el.findall("rsp:CommandLine/rsp:Arguments", NS)]
    elif action == "Send":
        for stream in body_el.findall("rsp:Send/rsp:Stream", NS):
            # WinRS cmd shells take input only on stdin, PSRP shells on stdin and pr (their
            # Create declares "stdin pr"); the endpoint checks which shell it is.
            name = stream.get("Name") or ""
            if name not in ("stdin", "pr") or req.stream not in ("", name):
                raise WsmanError(f"Send on stream {name!r}, not stdin")
            req.stream = name
            if req.command_id is not None and stream.get("CommandId") != req.command_id:
                raise WsmanError("one Send names two commands")
            req.command_id = stream.get("CommandId")
            req.stdin += _b64(stream.text, "rsp:Stream")
            req.stdin_end = req.stdin_end or stream.get("End", "").lower() == "true"
    elif action == "Receive":
        desired = body_el.find("rsp:Receive/rsp:DesiredStream", NS)
        req.command_id = desired.get("CommandId") if desired is not None else None
    elif action == "Signal":
        sig = body_el.find("rsp:Signal", NS)
        if sig is not None:
            req.command_id = sig.get("CommandId")
            code = sig.find("rsp:Code", NS)
            req.signal_code = (code.text or "") if code is not None else ""
    return req


def _b64(text: Optional[str], what: str) -> bytes:
    try:
        return base64.b64decode(text or "")
    except ValueError as exc:
        raise WsmanError(f"{what} is not base64: {exc}") from None


def _envelope(action: str, relates_to: str, body: str, shell_id: Optional[str] = None) -> bytes:
    selector = ""
    if shell_id:
        selector = (
            '<w:SelectorSet><w:Selector Name="ShellId">'
            f"{escape(shell_id)}</w:Selector></w:SelectorSet>"
        )
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xml:lang="en-US" xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" '
        f'xmlns:x="{NS["x"]}" xmlns:w="{NS["w"]}" xmlns:rsp="{NS["rsp"]}">'
        "<s:Header>"
        f"<a:Action>{RESPONSE_ACTION[action]}</a:Action>"
        f"<a:MessageID>uuid:{uuid.uuid4()}</a:MessageID>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>{selector}"
        f"</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
    return text.encode("utf-8")


def create_response(
    req: Request,
    shell_id: str,
    address: str,
    port: int,
    scheme: str,
    *,
    resource_uri: str = CMD_URI,
) -> bytes:
    uri = escape(resource_uri)
    body = (
        "<x:ResourceCreated>"
        f"<a:Address>{scheme}://{address}:{port}/wsman</a:Address>"
        "<a:ReferenceParameters>"
        f"<w:ResourceURI>{uri}</w:ResourceURI>"
        f'<w:SelectorSet><w:Selector Name="ShellId">{escape(shell_id)}</w:Selector></w:SelectorSet>'
        "</a:ReferenceParameters></x:ResourceCreated>"
        f"<rsp:Shell><rsp:ShellId>{escape(shell_id)}</rsp:ShellId>"
        f"<rsp:ResourceUri>{uri}</rsp:ResourceUri><rsp:State>Connected</rsp:State></rsp:Shell>"
    )
    return _envelope("Create", req.message_id, body)


def command_response(req: Request, command_id: str) -> bytes:
    body = (
        f"<rsp:CommandResponse><rsp:CommandId>{escape(command_id)}</rsp:CommandId>"
        "</rsp:CommandResponse>"
    )
    return _envelope("Command", req.message_id, body, req.shell_id)


def receive_response(
    req: Request, command_id: str, stdout: bytes, stderr: bytes, exit_code: Optional[int]
) -> bytes:
    """One Receive answer: streams, then CommandState Done with the exit code, or Running."""
    streams = []
    for name, data in (("stdout", stdout), ("stderr", stderr)):
        if data:
            text = base64.b64encode(data).decode()
            streams.append(
                f'<rsp:Stream Name="{name}" CommandId="{command_id}">{text}</rsp:Stream>'
            )
        if exit_code is not None:
            streams.append(
                f'<rsp:Stream Name="{name}" CommandId="{command_id}" End="true"></rsp:Stream>'
            )
    if exit_code is None:
        state = f'<rsp:CommandState CommandId="{command_id}" State="{SHELL}/CommandState/Running"/>'
    else:
        state = (
            f'<rsp:CommandState CommandId="{command_id}" State="{SHELL}/CommandState/Done">'
            f"<rsp:ExitCode>{exit_code}</rsp:ExitCode></rsp:CommandState>"
        )
    body = f"<rsp:ReceiveResponse>{''.join(streams)}{state}</rsp:ReceiveResponse>"
    return _envelope("Receive", req.message_id, body, req.shell_id)


def psrp_receive_response(
    req: Request, command_id: Optional[str], payloads: List[bytes], done: Optional[bool]
) -> bytes:
    """One Receive answer of a PSRP shell: each payload (PSRP fragments, from psrpcore) in its
    own stdout stream; for a pipeline (``command_id``) the CommandState, Done or Running, with
    no exit code (a pipeline's outcome travels in its PSRP PipelineState message)."""
    attr = f' CommandId="{escape(command_id)}"' if command_id else ""
    streams = "".join(
        f'<rsp:Stream Name="stdout"{attr}>{base64.b64encode(p).decode()}</rsp:Stream>'
        for p in payloads
    )
    state = ""
    if command_id and done is not None:
        name = "Done" if done else "Running"
        state = f'<rsp:CommandState{attr} State="{SHELL}/CommandState/{name}"/>'
    body = f"<rsp:ReceiveResponse>{streams}{state}</rsp:ReceiveResponse>"
    return _envelope("Receive", req.message_id, body, req.shell_id)


# ERROR_WSMAN_OPERATION_TIMEDOUT (0x80338029): pywinrm protocol.py send_message turns exactly this
# code into WinRMOperationTimeoutError, which its get_command_output and ansible-core's winrm
# plugin retry. The reason text is a real Windows Server 2022 answer's, kept in pywinrm's tests
# (winrm/tests/test_exceptions.py, test_wsman_fault_known_fault).
OPERATION_TIMEDOUT = 2150858793
TIMED_OUT_REASON = (
    "The WS-Management service cannot complete the operation within the time specified in "
    "OperationTimeout.  "
)


def timed_out_fault(req: Request) -> bytes:
    """A Receive that found no output within OperationTimeout (MS-WSMV 3.1.4.14): s:Receiver,
    subcode w:TimedOut, WSManFault code 2150858793; sent with HTTP 500."""
    return fault(req.message_id, OPERATION_TIMEDOUT, TIMED_OUT_REASON, subcode="w:TimedOut")


def empty_response(req: Request) -> bytes:
    inner = {"Signal": "<rsp:SignalResponse/>", "Send": "<rsp:SendResponse/>"}.get(req.action, "")
    return _envelope(req.action, req.message_id, inner, req.shell_id)


def fault(relates_to: str, code: int, reason: str, subcode: str = "w:InternalError") -> bytes:
    """A SOAP fault with a WSManFault detail, as pywinrm ``_raw_get_command_output`` reads it."""
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xml:lang="en-US" xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" xmlns:w="{NS["w"]}">'
        "<s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action>"
        f"<a:MessageID>uuid:{uuid.uuid4()}</a:MessageID>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo></s:Header>"
        "<s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value>"
        f"<s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{escape(reason)}</s:Text></s:Reason>'
        '<s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" '
        f'Code="{code}" Machine="lab"><f:Message>{escape(reason)}</f:Message></f:WSManFault>'
        "</s:Detail></s:Fault></s:Body></s:Envelope>"
    )
    return text.encode("utf-8")
