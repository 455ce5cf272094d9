"""Turn a WinRS command line (and what it gets on stdin) into what the lab should do with it.

The lab runs no PowerShell: it recognises the few scripts it knows (the collection's protocol,
on the command line or on stdin behind the collection's bootstrap; trivial raw commands;
Ansible's module wrapper) and rejects everything else loudly.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

MAX_LAYERS = 4
_ENCODED = re.compile(r"-(?:EncodedCommand|enc|e|ec)\s+([A-Za-z0-9+/=]+)", re.IGNORECASE)
# ansible.windows' _reboot.py appends the long form to the scripts it runs; the collection's
# scripts end in the short one (docs/dev/target-protocol.md).
_RC_SUFFIX = re.compile(
    r"(?:;?\s*If \(-not \$\?\) \{ If \(Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue\) "
    r"\{ exit \$LASTEXITCODE \} Else \{ exit 1 \} \}|;if\(!\$\?\)\{exit 1\})\s*$",
    re.IGNORECASE,
)
_MARKER = re.compile(r"^# winhardening\.smb:([A-Za-z_]+):([0-9]+)\s*$")
# PowerShell treats the four typographic single quotes like ' (about_Quoting_Rules), so the
# collection doubles all five inside the literal.
_QUOTES = "'\u2018\u2019\u201a\u201b"
_REQUEST = re.compile(
    r"^\$Request = ConvertFrom-Json -InputObject "
    r"'((?:[^" + _QUOTES + r"]|[" + _QUOTES + r"]{2})*)'\s*$"
)
# The collection's bootstrap (docs/dev/target-protocol.md, "Transport"), written here from the
# protocol document, not imported: the only command line whose stdin the lab reads as a script.
# It must match exactly, after the line stripping ansible-core 2.16-2.18's winrm plugin applies.
BOOTSTRAP = (
    "if($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage'){throw "
    '"winhardening.smb needs FullLanguage mode, but this PowerShell session runs in '
    "$($ExecutionContext.SessionState.LanguageMode) mode (WDAC or AppLocker policy). "
    'Nothing was read or written."}\n'
    '&([ScriptBlock]::Create((@($input)-join"`n")))'
)
# What the bootstrap's first line throws outside FullLanguage (docs/dev/target-protocol.md).
BOOTSTRAP_CLM_ERROR = (
    "winhardening.smb needs FullLanguage mode, but this PowerShell session runs in {mode} mode "
    "(WDAC or AppLocker policy). Nothing was read or written."
)
_EXEC_WRAPPER_TOKENS = (
    "Ansible requires PowerShell",
    "$exec_wrapper_str",
    "exec_wrapper",
    "#AnsibleRequires",
)
# What each op's body must call (docs/dev/target-protocol.md); a body without them is not the
# script the lab models, so it must not be answered as if it were. Version 1 is gone (the
# collection never released it): it is refused like any unknown version.
REQUIRED_CALLS: Dict[Tuple[str, int], Tuple[str, ...]] = {
    ("read_state", 2): ("Get-SmbServerConfiguration", "Get-SmbClientConfiguration", "Get-WinEvent"),
    ("apply", 2): (
        "Set-SmbServerConfiguration",
        "Set-SmbClientConfiguration",
        "Get-SmbServerConfiguration",
    ),
}


@dataclass
class ProtocolScript:
    op: str
    version: int
    request: Dict[str, Any]
    layers: int
    # True when it came on the bootstrap's stdin (whose language-mode check ran first).
    via_bootstrap: bool = False


@dataclass
class RawCommand:
    statements: List[Tuple[str, List[str]]]
    text: str
    layers: int


@dataclass
class ModuleWrapper:
    layers: int


@dataclass
class Bootstrap:
    """The collection's bootstrap: the script comes on stdin (read_stdin)."""

    layers: int


@dataclass
class Unknown:
    reason: str
    text: str = ""
    layers: int = 0
    extra: Dict[str, Any] = field(default_factory=dict)


Script = Union[ProtocolScript, RawCommand, ModuleWrapper, Bootstrap, Unknown]


def decode_layers(command_line: str) -> Tuple[str, int]:
    """Decode ``-EncodedCommand`` until none is left (ansible-core 2.16-2.18 wrap twice).

    Returns the innermost text and how many layers were decoded. A line without any layer is
    returned as is (cmd.exe text such as ``hostname``).
    """
    text = command_line
    for layer in range(MAX_LAYERS + 1):
        match = _ENCODED.search(text)
        if match is None or not _looks_like_powershell_call(text, match.start()):
            return text, layer
        if layer == MAX_LAYERS:
            break
        try:
            text = base64.b64decode(match.group(1), validate=True).decode("utf-16-le")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError(f"-EncodedCommand is not base64 of UTF-16-LE: {exc}") from None
    raise ValueError(f"more than {MAX_LAYERS} -EncodedCommand layers")


def _looks_like_powershell_call(text: str, pos: int) -> bool:
    head = text[:pos].strip().lower()
    return head.startswith("powershell") or head.startswith("pwsh") or "powershell" in head[-200:]


def read_script(command: str, arguments: List[str]) -> Script:
    """Classify one WinRS command (rsp:Command plus rsp:Arguments)."""
    line = " ".join([command, *arguments]).strip()
    try:
        text, layers = decode_layers(line)
    except ValueError as exc:
        return Unknown(str(exc), line)
    stripped = text.lstrip("\ufeff").strip()
    first = stripped.splitlines()[0] if stripped else ""
    if stripped == BOOTSTRAP:
        return Bootstrap(layers)
    if first.startswith("# winhardening.smb:"):
        return _read_protocol(stripped, layers)
    if any(token in stripped for token in _EXEC_WRAPPER_TOKENS):
        return ModuleWrapper(layers)
    statements = _read_raw(stripped)
    if statements is None:
        return Unknown("not a script the lab knows", stripped, layers)
    return RawCommand(statements, stripped, layers)


def read_stdin(data: bytes, layers: int = 0) -> Script:
    """Classify what the bootstrap got on stdin: only one of the collection's protocol scripts.

    PowerShell hands the bootstrap the stdin lines (winrm, ssh) or the psrp plugin's input
    objects, and the bootstrap joins them with newlines, so line endings do not matter; the text
    must be UTF-8 (the collection sends ASCII). Anything else is refused, raw commands included:
    the bootstrap exists only to carry the protocol.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Unknown(f"the bootstrap's stdin is not UTF-8: {exc}", repr(data[:200]), layers)
    # Line readers disagree on the rarer breaks (Python's splitlines also splits on \v, \f,
    # \x1c-\x1e, \x85, U+2028, U+2029; .NET's ReadLine does not): the protocol has none.
    odd = sorted({c for c in text if (c < " " and c not in "\t\r\n") or c in "\x85\u2028\u2029"})
    if odd:
        return Unknown(f"the bootstrap's stdin holds control characters {odd!r}", text, layers)
    joined = "\n".join(text.splitlines()).lstrip("\ufeff").strip()
    if not joined:
        return Unknown("the bootstrap got no script on stdin", "", layers)
    if not joined.startswith("# winhardening.smb:"):
        return Unknown("the bootstrap's stdin is not a protocol script", joined, layers)
    script = _read_protocol(joined, layers)
    if isinstance(script, ProtocolScript):
        script.via_bootstrap = True
    return script


def _read_protocol(text: str, layers: int) -> Script:
    lines = [ln.rstrip("\r") for ln in text.splitlines()]
    marker = _MARKER.match(lines[0])
    if marker is None:
        return Unknown(f"malformed marker line {lines[0]!r}", text, layers)
    op, version = marker.group(1), int(marker.group(2))
    if (op, version) not in REQUIRED_CALLS:
        return Unknown(f"unknown op or version {op}:{version}", text, layers)
    request_lines = [ln for ln in lines if ln.startswith("$Request = ")]
    if len(request_lines) != 1:
        found = len(request_lines)
        return Unknown(f"expected exactly one $Request line, found {found}", text, layers)
    match = _REQUEST.match(request_lines[0])
    if match is None:
        reason = "the $Request line is not ConvertFrom-Json of one quoted literal"
        return Unknown(reason, text, layers)
    literal = re.sub("([" + _QUOTES + "])[" + _QUOTES + "]", r"\1", match.group(1))
    try:
        request = json.loads(literal)
    except json.JSONDecodeError as exc:
        return Unknown(f"the $Request literal is not JSON: {exc}", text, layers)
    if not isinstance(request, dict):
        return Unknown("the $Request literal is not a JSON object", text, layers)
    body = "\n".join(ln for ln in lines if not ln.startswith("$Request = "))
    missing = [c for c in REQUIRED_CALLS[(op, version)] if c.lower() not in body.lower()]
    if missing:
        return Unknown(f"{op} body does not call {', '.join(missing)}", text, layers)
    return ProtocolScript(op, version, request, layers)


_SIMPLE_WORD = re.compile(r"""'((?:[^']|'')*)'|"([^"`$]*)"|([^\s'";]+)""")


def _read_raw(text: str) -> Optional[List[Tuple[str, List[str]]]]:
    """Parse trivial raw commands: Write-Output/echo, hostname, exit N, separated by ; or lines.

    Hand-written on purpose: a real PowerShell parser (tree-sitter-powershell) would accept
    far more than the lab can answer, and the point is to refuse everything else.
    """
    body = _RC_SUFFIX.sub("", text).strip()
    if body.lower().startswith("$progresspreference"):
        body = body.split("\n", 1)[1].strip() if "\n" in body else ""
    statements: List[Tuple[str, List[str]]] = []
    for raw in re.split(r"[;\n]", body):
        stmt = raw.strip()
        if not stmt:
            continue
        words: List[str] = []
        pos = 0
        while pos < len(stmt):
            if stmt[pos].isspace():
                pos += 1
                continue
            m = _SIMPLE_WORD.match(stmt, pos)
            if m is None:
                return None
            if m.group(1) is not None:
                words.append(m.group(1).replace("''", "'"))
            elif m.group(2) is not None:
                words.append(m.group(2))
            else:
                words.append(m.group(3))
            pos = m.end()
        verb = words[0].lower()
        if verb in ("write-output", "echo") or (verb == "exit" and len(words) <= 2):
            statements.append((verb, words[1:]))
        elif verb == "hostname" and len(words) == 1:
            statements.append((verb, []))
        else:
            return None
    return statements or None
