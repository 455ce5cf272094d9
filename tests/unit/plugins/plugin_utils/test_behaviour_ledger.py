"""The Windows behaviour ledger (docs/dev/windows-behaviour.md) covers the shipped PowerShell.

Every cmdlet (Verb-Noun token or command name, aliases included), every CIM class (Win32_*,
RSOP_*, MSFT_*), every registry path (string literals under HKLM:, SYSTEM\\ or SOFTWARE\\) and
every event id (integer literals of four or five digits) in the shipped scripts must be named in
the ``tokens`` cell of some ledger row. Every row must carry a status (``confirmed`` or
``UNCONFIRMED``, the latter saying how the collection tolerates either answer), evidence that
cites its source, and covering tests that exist in the test tree (or an honest ``none yet``).

What is scanned is exactly what goes over the wire: the bootstrap on the command line, and the
marker, prologue, request line, body and exit-code suffix of every script in ``_scripts.SCRIPTS``
on standard input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest
import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

from ansible_collections.winhardening.smb.plugins.plugin_utils import _scripts

ROOT = Path(__file__).resolve().parents[4]
LEDGER = ROOT / "docs" / "dev" / "windows-behaviour.md"
TESTS = ROOT / "tests"

COLUMNS = ("id", "tokens", "assumption", "evidence", "status", "covering test")
ID_RE = re.compile(r"^[A-Z]+-\d+$")
CODE_SPAN_RE = re.compile(r"`([^`]+)`")
TEST_REF_RE = re.compile(r"(tests/[\w./-]+\.py)::(\w+)")

# Verb-Noun not glued to a further "-Word" or "/": Microsoft-Windows-SMBServer/Audit is no cmdlet.
CMDLET_RE = re.compile(r"(?<![\w/$-])([A-Z][a-zA-Z]+-[A-Z][a-zA-Z0-9]+)(?![\w/-])")
CIM_RE = re.compile(r"\b((?:Win32|RSOP|MSFT)_\w+)\b")
STRING_RE = re.compile(r"'((?:[^']|'')*)'|\"([^\"]*)\"")
REGISTRY_RE = re.compile(r"^(?:HKLM:\\|SYSTEM\\|SOFTWARE\\)", re.IGNORECASE)
NUMBER_RE = re.compile(r"(?<![\w.$:-])(\d{4,5})(?![\w.:-])")

PARSER = Parser(Language(tree_sitter_powershell.language()))


@dataclass(frozen=True)
class Row:
    id: str
    area: str
    tokens: Tuple[str, ...]
    assumption: str
    evidence: str
    status: str
    covering: str


def _cells(line: str) -> List[str]:
    """A table line's cells; an escaped pipe (\\|) stays inside its cell, as in Markdown."""
    inner = line.strip()[1:]
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", inner)]


def ledger_rows(text: str) -> List[Row]:
    """Every row of every ledger table whose header is COLUMNS."""
    rows: List[Row] = []
    area = ""
    header = False
    for line in text.splitlines():
        if line.startswith("## "):
            area = line[3:].strip()
            header = False
            continue
        if not line.startswith("|"):
            header = False
            continue
        cells = _cells(line)
        if tuple(c.lower() for c in cells) == COLUMNS:
            header = True
            continue
        if not header or set(line.replace("|", "").strip()) <= {"-", ":", " "}:
            continue
        assert len(cells) == len(COLUMNS), f"ledger row has {len(cells)} cells: {line[:80]}"
        row_id, tokens, assumption, evidence, status, covering = cells
        rows.append(
            Row(
                id=row_id,
                area=area,
                tokens=tuple(CODE_SPAN_RE.findall(tokens)),
                assumption=assumption,
                evidence=evidence,
                status=status,
                covering=covering,
            )
        )
    return rows


ROWS = ledger_rows(LEDGER.read_text(encoding="utf-8"))


def _norm_registry(path: str) -> str:
    text = path.strip().lower()
    for prefix in ("hklm:\\", "hklm\\", "hkey_local_machine\\"):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def shipped_text(script: _scripts.Script) -> str:
    """What goes over the wire for a script: rendered for a request, plus the exit suffix."""
    return script.render({"events_since": None}) + _scripts.EXIT_SUFFIX


def shipped_body(script: _scripts.Script) -> str:
    """The shipped text with the request's JSON emptied: the request is data, not code."""
    lines = shipped_text(script).splitlines()
    return "\n".join(
        re.sub(r"'.*'$", "''", line) if line.startswith("$Request = ") else line for line in lines
    )


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def command_names(text: str) -> Set[str]:
    """Names of the commands the script runs (aliases such as % and ? included), minus the
    functions the script defines itself."""
    src = text.encode()
    root = PARSER.parse(src).root_node
    names: Set[str] = set()
    local: Set[str] = set()
    for node in _walk(root):
        if node.type == "function_name":
            local.add(src[node.start_byte : node.end_byte].decode())
        if node.type == "command":
            name = node.child_by_field_name("command_name")
            if name is not None:
                text = src[name.start_byte : name.end_byte].decode()
                # `&(expression)` invokes what the expression gives, which names no command.
                if not text.startswith(("(", "$")):
                    names.add(text)
    return names - local


def parameter_tokens(text: str) -> Set[str]:
    """The parameters the script passes to commands by name (``-ParameterName``, ``-EA``), as
    written; splatted keys are read through their splat's row (ERR-1, RSOP-1)."""
    src = text.encode()
    root = PARSER.parse(src).root_node
    return {
        src[node.start_byte : node.end_byte].decode().rstrip(":")
        for node in _walk(root)
        if node.type == "command_parameter"
    }


def cmdlet_tokens(text: str) -> Set[str]:
    return set(CMDLET_RE.findall(text)) | command_names(text)


def cim_tokens(text: str) -> Set[str]:
    return set(CIM_RE.findall(text))


def registry_tokens(text: str) -> Set[str]:
    found: Set[str] = set()
    for single, double in STRING_RE.findall(text):
        literal = (single or double).replace("''", "'")
        if not REGISTRY_RE.match(literal):
            continue
        # "HKLM:\$p" names a path built elsewhere; keep only the literal part before a variable.
        literal = literal.split("$", 1)[0].rstrip("\\")
        if literal.lower() not in ("hklm:", "hklm"):
            found.add(literal)
    return found


def number_tokens(text: str) -> Set[str]:
    return set(NUMBER_RE.findall(text))


def _ledger_has(kind: str, token: str) -> bool:
    for row in ROWS:
        for listed in row.tokens:
            if kind == "registry":
                if _norm_registry(listed) == _norm_registry(token):
                    return True
            elif listed == token:
                return True
    return False


EXTRACTORS = {
    "cmdlet": cmdlet_tokens,
    "parameter": parameter_tokens,
    "cim": cim_tokens,
    "registry": registry_tokens,
    "number": number_tokens,
}


def _script_tokens() -> List[Tuple[str, str, str]]:
    out = []
    texts = [("bootstrap", _scripts.BOOTSTRAP)]
    texts += [(script.op, shipped_body(script)) for script in _scripts.SCRIPTS]
    for op, text in texts:
        for kind, extract in EXTRACTORS.items():
            for token in sorted(extract(text)):
                out.append((op, kind, token))
    return out


SCRIPT_TOKENS = _script_tokens()


def test_ledger_parses_into_rows_with_unique_ids() -> None:
    assert len(ROWS) >= 40, "the ledger table header changed or the rows are gone"
    ids = [r.id for r in ROWS]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    bad = [r.id for r in ROWS if not ID_RE.match(r.id)]
    assert not bad, bad


def test_the_extractors_find_what_the_scripts_use() -> None:
    """Guard against an extractor that silently finds nothing."""
    kinds = {kind for _op, kind, _token in SCRIPT_TOKENS}
    assert kinds == set(EXTRACTORS), kinds
    cmdlets = {t for _op, kind, t in SCRIPT_TOKENS if kind == "cmdlet"}
    assert {"Get-SmbServerConfiguration", "Set-SmbClientConfiguration", "Get-WinEvent"} <= cmdlets
    assert "ConvertTo-Json" in cmdlets
    # Aliases count as commands: read_state calls Get-CimInstance only as gcim.
    assert {"gcim", "gi", "gp", "gcm", "%", "?"} <= cmdlets
    assert not any(t.startswith("Microsoft-") for t in cmdlets), cmdlets
    parameters = {t for _op, kind, t in SCRIPT_TOKENS if kind == "parameter"}
    assert {"-ListLog", "-LogName", "-FilterXPath", "-MaxEvents", "-ParameterName"} <= parameters


@pytest.mark.parametrize(("op", "kind", "token"), SCRIPT_TOKENS)
def test_every_script_token_has_a_ledger_row(op: str, kind: str, token: str) -> None:
    assert _ledger_has(kind, token), (
        f"{op} uses {kind} {token!r}, which no row of {LEDGER.name} lists in its tokens cell"
    )


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_every_row_has_status_evidence_and_assumption(row: Row) -> None:
    assert row.tokens, f"{row.id}: no token in the tokens cell"
    assert row.assumption, f"{row.id}: empty assumption"
    assert row.evidence, f"{row.id}: empty evidence"
    # Evidence cites something checkable: a documentation address or a repository file.
    assert "https://" in row.evidence or re.search(r"\w+/[\w.-]+@[0-9a-f]{7,}", row.evidence), (
        f"{row.id}: evidence names no address and no repository at a commit"
    )
    assert row.status.startswith(("confirmed", "UNCONFIRMED")), f"{row.id}: status {row.status!r}"
    if row.status.startswith("UNCONFIRMED"):
        # An unconfirmed row says how the collection tolerates either answer.
        assert len(row.status) > len("UNCONFIRMED") + 20, f"{row.id}: no tolerance given"


def _test_functions() -> Dict[str, Set[str]]:
    out: Dict[str, Set[str]] = {}
    for path in TESTS.rglob("*.py"):
        names = set(re.findall(r"^\s*(?:async\s+)?def (test_\w+)\(", path.read_text(), re.M))
        out[path.relative_to(ROOT).as_posix()] = names
    return out


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_every_named_covering_test_exists(row: Row) -> None:
    refs = TEST_REF_RE.findall(row.covering)
    if not refs:
        assert row.covering.lower().startswith("none yet"), (
            f"{row.id}: covering test {row.covering!r} is neither path::name nor 'none yet'"
        )
        return
    functions = _test_functions()
    for path, name in refs:
        assert path in functions, f"{row.id}: no test file {path}"
        assert name in functions[path], f"{row.id}: no test function {name} in {path}"


SOURCE_PATH_RE = re.compile(r"(?<![\w/.-])(plugins/[\w./-]+\.py)\b")


def test_every_named_source_file_exists() -> None:
    """A row or finding that names a file of the collection names one that is still there."""
    named = set(SOURCE_PATH_RE.findall(LEDGER.read_text(encoding="utf-8")))
    assert named, "the ledger names no source file: the pattern is broken"
    missing = sorted(path for path in named if not (ROOT / path).is_file())
    assert not missing, missing


def test_the_lint_catches_a_cmdlet_without_a_row() -> None:
    body = shipped_body(_scripts.READ_STATE) + "\n$null = Get-LocalUser -Name x\n"
    assert "Get-LocalUser" in cmdlet_tokens(body)
    assert not _ledger_has("cmdlet", "Get-LocalUser")


def test_the_lint_catches_a_class_a_key_and_an_event_without_a_row() -> None:
    body = (
        "Get-CimInstance Win32_BIOS\n"
        "$k=Get-Item 'HKLM:\\SOFTWARE\\Contoso\\Thing'\n"
        "Get-WinEvent -FilterHashtable @{LogName='System';Id=4625}\n"
    )
    assert "Win32_BIOS" in cim_tokens(body)
    assert not _ledger_has("cim", "Win32_BIOS")
    key = "HKLM:\\SOFTWARE\\Contoso\\Thing"
    assert key in registry_tokens(body)
    assert not _ledger_has("registry", key)
    assert "4625" in number_tokens(body)
    assert not _ledger_has("number", "4625")


def test_the_row_parser_reads_a_minimal_table() -> None:
    text = (
        "## Area\n\n| id | tokens | assumption | evidence | status | covering test |\n"
        "|---|---|---|---|---|---|\n"
        "| X-1 | `Get-Foo` `3021` | a | https://example.invalid | confirmed | none yet |\n"
    )
    (row,) = ledger_rows(text)
    assert row.id == "X-1"
    assert row.area == "Area"
    assert row.tokens == ("Get-Foo", "3021")
