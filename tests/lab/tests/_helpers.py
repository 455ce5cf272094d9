"""What the lab's own tests share: protocol scripts written from the spec, and clients."""

from __future__ import annotations

import base64
import json
from typing import Any, Dict, Tuple

import winrm

from lab.client import LabClient

PREFIX = ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Unrestricted", "-EncodedCommand"]
RC_SUFFIX = (
    "; If (-not $?) { If (Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue) "
    "{ exit $LASTEXITCODE } Else { exit 1 } }"
)
# Bodies written from docs/dev/target-protocol.md, not taken from the collection: the lab must
# accept any body that calls the cmdlets its op needs.
BODIES = {
    "read_state": (
        "$s = Get-SmbServerConfiguration\n$c = Get-SmbClientConfiguration\n"
        "$e = Get-WinEvent -ListLog Microsoft-Windows-SMBServer/Audit\n"
        "ConvertTo-Json -Compress -Depth 6 -InputObject @{op='read_state'}"
    ),
    "apply": (
        "foreach ($p in $Request.server.PSObject.Properties) { Set-SmbServerConfiguration "
        "-Force -Confirm:$false }\nforeach ($p in $Request.client.PSObject.Properties) { "
        "Set-SmbClientConfiguration -Force -Confirm:$false }\n$s = Get-SmbServerConfiguration"
    ),
}


def protocol_script(op: str, request: Dict[str, Any], version: int = 2) -> str:
    literal = json.dumps(request, separators=(",", ":")).replace("'", "''")
    return (
        f"# winhardening.smb:{op}:{version}\n$ProgressPreference = 'SilentlyContinue'\n"
        f"$ErrorActionPreference = 'Stop'\n"
        f"$Request = ConvertFrom-Json -InputObject '{literal}'\n{BODIES[op]}{RC_SUFFIX}"
    )


def encode(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode()


def session(lab: LabClient, host: str, password: str = "", **kw: Any) -> winrm.Session:
    fleet = lab.fleet
    url = f"{fleet['scheme']}://{lab.address(host)}:{fleet['winrm_port']}/wsman"
    return winrm.Session(
        url,
        auth=(fleet["user"], password or fleet["password"]),
        transport="basic",
        server_cert_validation="ignore",
        **kw,
    )


def run_script(
    lab: LabClient, host: str, script: str, double_wrap: bool = False, **kw: Any
) -> Tuple[int, str, str]:
    """Send a script as ansible-core 2.19 does (PowerShell + Arguments), or double-wrapped as
    2.16-2.18 do."""
    b64 = encode(script)
    if double_wrap:
        b64 = encode("PowerShell " + " ".join([*PREFIX, b64]))
    r = session(lab, host, **kw).run_cmd("PowerShell", [*PREFIX, b64])
    return r.status_code, r.std_out.decode(), r.std_err.decode()


def read_state(lab: LabClient, host: str, **request: Any) -> Dict[str, Any]:
    req = {"events_since": None, "max_peers": 50, **request}
    rc, out, err = run_script(lab, host, protocol_script("read_state", req))
    assert rc == 0, err
    result: Dict[str, Any] = json.loads(out)
    return result


def apply(lab: LabClient, host: str, request: Dict[str, Any]) -> Dict[str, Any]:
    rc, out, err = run_script(lab, host, protocol_script("apply", request))
    assert rc == 0, err
    result: Dict[str, Any] = json.loads(out)
    return result


# The collection's bootstrap as docs/dev/target-protocol.md ("Transport") spells it.
BOOTSTRAP = (
    "if($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage'){throw "
    '"winhardening.smb needs FullLanguage mode, but this PowerShell session runs in '
    "$($ExecutionContext.SessionState.LanguageMode) mode (WDAC or AppLocker policy). "
    'Nothing was read or written."}\n'
    '&([ScriptBlock]::Create((@($input)-join"`n")))'
)


def run_stdin(
    lab: LabClient,
    host: str,
    stdin: bytes,
    *,
    command: str = BOOTSTRAP,
    chunks: int = 1,
    receive_first: bool = False,
) -> Tuple[int, str, str]:
    """Run ``command`` (encoded) with ``stdin`` sent in ``chunks`` WS-Man Sends, the last with
    End="true", as ansible-core's winrm plugin sends in_data; ``receive_first`` asks for output
    once before the input is complete."""
    s = session(lab, host)
    proto = s.protocol
    shell = proto.open_shell(codepage=65001)
    try:
        line = [*PREFIX, encode(command)]
        cid = proto.run_command(shell, "PowerShell", line, console_mode_stdin=False)
        step = max(1, -(-len(stdin) // chunks))
        parts = [stdin[i : i + step] for i in range(0, len(stdin), step)] or [b""]
        early = None
        for i, part in enumerate(parts):
            proto.send_command_input(shell, cid, part, end=i == len(parts) - 1)
            if receive_first and early is None:
                early = proto.get_command_output_raw(shell, cid)
                assert early[3] is False, "the bootstrap answered before its stdin was closed"
        out, err, rc = proto.get_command_output(shell, cid)
        proto.cleanup_command(shell, cid)
    finally:
        proto.close_shell(shell)
    return rc, out.decode(), err.decode()


def stdin_script(op: str, request: Dict[str, Any]) -> bytes:
    return (protocol_script(op, request) + "\n").encode()
