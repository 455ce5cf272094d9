"""A PowerShell lint over the shipped scripts, whose rules come from the Windows behaviour ledger.

Pure functions over the tree-sitter-powershell tree: nothing here runs PowerShell. Each rule has
an id, a description and the ledger row (docs/dev/windows-behaviour.md) whose assumption it
enforces; the decisions a rule applies (which cmdlet must sit in a try, which may fail loudly,
which method needs a guard) are data too, each with the row that justifies it. A command or a
method that no decision names is a violation: adding one to a script means deciding, with a row,
how its errors are handled.

Why guarding matters at all (FRM-2): the prologue sets ``$ErrorActionPreference = 'Stop'``, so an
error that no ``try`` catches ends the whole script and the host answers nothing. That is right for
a read that must fail loudly (no host identity, no SMB configuration: nothing can be judged) and
wrong for a part of the answer that may be missing (RSoP, an audit log, the marker).

What the lint sees is lexical: "inside a try" means inside a try block of the same function, not a
catch or finally block; "behind a guard" means in the then-branch of an ``if``, or right of an
``-and``, whose condition tests the receiver (``$k``, ``$null -ne $k``, ``$k -is [T]``,
``$k=...``). It knows no types, so it decides by name.

Targets: ``bootstrap`` is the command-line bootstrap (``_scripts.BOOTSTRAP``), ``body`` a script
as it goes on standard input (marker, prologue, request line, body, exit suffix).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, Iterator, List, Optional, Set, Tuple

import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

PARSER = Parser(Language(tree_sitter_powershell.language()))

BOOTSTRAP = "bootstrap"
BODY = "body"

# How a decision lets a call's errors be handled.
LOUD = "loud"  # may stay unguarded: its failure must end the script (FRM-2)
TRY = "try"  # inside a try block
QUIET_OR_TRY = "quiet-or-try"  # -ErrorAction SilentlyContinue/Ignore (directly or splatted), or try
TRY_OR_GUARD = "try-or-guard"  # inside a try block, or behind a test of the receiver

# The built-in aliases the scripts use (about_Aliases; CMD-8 to CMD-12, CMD-16), canonical name
# by lower-cased alias. PowerShell resolves command names case-insensitively.
ALIASES: Dict[str, str] = {
    "%": "ForEach-Object",
    "?": "Where-Object",
    "gi": "Get-Item",
    "gp": "Get-ItemProperty",
    "gcm": "Get-Command",
    "select": "Select-Object",
    "group": "Group-Object",
    "sort": "Sort-Object",
    "gcim": "Get-CimInstance",
}

# -ErrorAction values that keep a non-terminating error from reaching the Stop preference (ERR-1,
# ERR-8): SilentlyContinue is 0, Ignore is 4 (ActionPreference).
QUIET_VALUES = frozenset({"silentlycontinue", "ignore", "0", "4"})
ERROR_ACTION_NAMES = frozenset({"erroraction", "ea"})


@dataclass(frozen=True)
class CmdletDecision:
    """How one cmdlet's errors are handled. ``when`` narrows the entry: ``-Name`` matches a call
    that passes that parameter, anything else is a glob (case-insensitive) on the first positional
    argument; the first entry that matches a call decides it. ``behind`` names a probe
    (cmdlet, parameter) that must run in the condition of an enclosing ``if``. ``example`` is an
    unguarded call, for the test that shows the decision is enforced."""

    cmdlet: str
    need: str
    row: str
    why: str
    when: Optional[str] = None
    behind: Optional[Tuple[str, str]] = None
    example: str = ""


CMDLET_DECISIONS: Tuple[CmdletDecision, ...] = (
    # Loud by design: without these there is no answer worth sending.
    CmdletDecision("ConvertFrom-Json", LOUD, "FRM-3", "the request must parse, or nothing is read"),
    CmdletDecision("ConvertTo-Json", LOUD, "FRM-4", "the answer itself"),
    CmdletDecision(
        "Get-CimInstance",
        LOUD,
        "CIM-1",
        "the host's identity (release, role): nothing can be judged without it",
        when="Win32_*",
    ),
    CmdletDecision(
        "Get-SmbServerConfiguration",
        LOUD,
        "CMD-1",
        "the supported reading of every server setting: nothing can be judged without it",
    ),
    CmdletDecision(
        "Get-SmbClientConfiguration",
        LOUD,
        "CMD-1",
        "the supported reading of every client setting: nothing can be judged without it",
    ),
    CmdletDecision(
        "Get-ItemProperty",
        LOUD,
        "REG-5",
        "the CurrentVersion key exists on every Windows; its absent values read as null",
        when="HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion",
    ),
    # Pipeline plumbing: their own errors come only from their script blocks, which are linted
    # where they stand.
    CmdletDecision("ForEach-Object", LOUD, "CMD-9", "runs its script block"),
    CmdletDecision("Where-Object", LOUD, "CMD-8", "filters by property or script block"),
    CmdletDecision("Select-Object", LOUD, "CMD-10", "cuts a list"),
    CmdletDecision("Group-Object", LOUD, "CMD-11", "groups a list"),
    CmdletDecision("Sort-Object", LOUD, "CMD-12", "orders a list"),
    # Parts of the answer that may be missing: their failure is reported, never the end.
    CmdletDecision(
        "Get-CimInstance",
        TRY,
        "RSOP-1",
        "RSoP may be unreadable; the failure becomes rsop.error",
        when="RSOP_*",
        example="gcim RSOP_GPO",
    ),
    CmdletDecision(
        "Get-WinEvent",
        TRY,
        "EVT-8",
        "a missing log is NoMatchingLogsFound ('not available'), but quiet would also hide "
        "LogInfoNoAccess, so the catch must tell them apart",
        when="-ListLog",
        example="Get-WinEvent -ListLog 'Microsoft-Windows-SMBServer/Audit'",
    ),
    CmdletDecision(
        "Get-WinEvent",
        TRY,
        "EVT-9",
        "a query may end in a terminating error; only a log -ListLog found is queried",
        when="-LogName",
        behind=("Get-WinEvent", "ListLog"),
        example="Get-WinEvent -LogName 'x' -FilterXPath '*'",
    ),
    CmdletDecision(
        "Set-SmbServerConfiguration",
        TRY,
        "ERR-6",
        "a refused write is reported and the others still run",
        example="Set-SmbServerConfiguration -Force",
    ),
    CmdletDecision(
        "Set-SmbClientConfiguration",
        TRY,
        "ERR-6",
        "a refused write is reported and the others still run",
        example="Set-SmbClientConfiguration -Force",
    ),
    CmdletDecision(
        "Get-Command",
        QUIET_OR_TRY,
        "CMD-3",
        "a missing parameter is CommandParameterNotFound, which means 'not writable'",
        example="gcm Set-SmbServerConfiguration -ParameterName x",
    ),
    CmdletDecision(
        "Get-Item",
        QUIET_OR_TRY,
        "CMD-4",
        "a missing key reads as null",
        example="gi 'HKLM:\\SOFTWARE\\winhardening.smb'",
    ),
    CmdletDecision(
        "Get-ItemProperty",
        QUIET_OR_TRY,
        "CMD-5",
        "a missing key or value reads as null",
        example="gp 'HKLM:\\SOFTWARE\\winhardening.smb'",
    ),
    CmdletDecision(
        "New-Object",
        TRY,
        "FRM-7",
        "a session without a console may refuse the encoding",
        example="New-Object Text.UTF8Encoding",
    ),
    CmdletDecision(
        "Test-Path",
        TRY,
        "MRK-2",
        "a marker error lands in marker_error and never stops the answer",
        example="Test-Path 'HKLM:\\SOFTWARE\\winhardening.smb'",
    ),
    CmdletDecision(
        "New-Item",
        TRY,
        "MRK-2",
        "a marker error lands in marker_error and never stops the answer",
        example="New-Item 'HKLM:\\SOFTWARE\\winhardening.smb'",
    ),
    CmdletDecision(
        "New-ItemProperty",
        TRY,
        "MRK-2",
        "a marker error lands in marker_error and never stops the answer",
        example="New-ItemProperty 'HKLM:\\SOFTWARE\\winhardening.smb' x -Value y",
    ),
    CmdletDecision(
        "Remove-ItemProperty",
        TRY,
        "MRK-2",
        "a marker error lands in marker_error and never stops the answer",
        example="Remove-ItemProperty 'HKLM:\\SOFTWARE\\winhardening.smb' x",
    ),
)


@dataclass(frozen=True)
class MethodDecision:
    """How calls of one .NET method are guarded; ``type`` narrows a static call (``[T]::M()``)."""

    method: str
    need: str
    row: str
    why: str
    type: Optional[str] = None


METHOD_DECISIONS: Tuple[MethodDecision, ...] = (
    MethodDecision(
        "Create",
        LOUD,
        "FRM-6",
        "the bootstrap's one call: a script that does not parse must end the run with its error",
        type="ScriptBlock",
    ),
    MethodDecision("GetValue", TRY_OR_GUARD, "REG-6", "Get-Item gives null for a missing key"),
    MethodDecision("GetValueKind", TRY_OR_GUARD, "REG-6", "Get-Item gives null for a missing key"),
    MethodDecision(
        "ToInt32", TRY, "RSOP-6", "throws on a null or short value", type="BitConverter"
    ),
    MethodDecision("ToLocalTime", TRY_OR_GUARD, "EVT-12", "a cast of the request's text"),
    MethodDecision("ToXml", TRY, "EVT-4", "an event whose XML cannot be rendered or parsed"),
    MethodDecision("ToString", TRY_OR_GUARD, "EVT-13", "a null receiver throws InvokeMethodOnNull"),
    MethodDecision(
        "ToUniversalTime", TRY_OR_GUARD, "EVT-15", "TimeCreated is nullable: a null receiver throws"
    ),
)

# Commands that write nothing to the output stream (their help's Outputs: None), so a bare call
# is not output.
SILENT_COMMANDS: Dict[str, str] = {"Remove-ItemProperty": "CMD-15", "Out-Null": "FRM-4"}
# Commands that write to the host, around any capture: never in a script whose stdout is JSON.
HOST_WRITERS = frozenset({"Write-Host", "Out-Host", "Out-Default", "Write-Information"})


@dataclass(frozen=True)
class Violation:
    rule: str
    row: str  # the ledger row of the decision broken (the rule's own, or its table entry's)
    line: int  # 1-based
    text: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule} ({self.row}) line {self.line}: {self.message}: {self.text[:80]!r}"


# --- the tree ------------------------------------------------------------------------------


@dataclass
class Source:
    """A parsed script and what the rules share about it."""

    text: str
    kind: str
    src: bytes = field(init=False)
    root: Node = field(init=False)

    def __post_init__(self) -> None:
        self.src = self.text.encode("utf-8")
        self.root = PARSER.parse(self.src).root_node
        if self.root.has_error:
            bad = next(n for n in walk(self.root) if n.type == "ERROR" or n.is_missing)
            raise ValueError(f"the script does not parse (line {bad.start_point[0] + 1})")

    def of(self, node: Node) -> str:
        return self.src[node.start_byte : node.end_byte].decode("utf-8")

    def violation(self, rule: str, row: str, node: Node, message: str) -> Violation:
        return Violation(rule, row, node.start_point[0] + 1, self.of(node), message)


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from walk(child)


def unwrap(node: Node) -> Node:
    """The innermost node of a chain of single-child wrappers (pipeline > ... > variable); a
    command stays a command even when it is only its name."""
    while node.type != "command" and len(node.children) == 1 and node.children[0].is_named:
        node = node.children[0]
    return node


_CONTAINERS = frozenset(
    {
        "program",
        "statement_list",
        "statement_block",
        "script_block",
        "script_block_body",
        "script_block_expression",
    }
)
_NOT_STATEMENTS = frozenset({"comment", "empty_statement"})


def statements(node: Node) -> Iterator[Node]:
    """The statements directly in a block, nested statement lists flattened."""
    for child in node.children:
        if not child.is_named or child.type in _NOT_STATEMENTS:
            continue
        if child.type in _CONTAINERS:
            yield from statements(child)
        else:
            yield child


def _norm(text: str) -> str:
    return "".join(text.split()).lower()


def canonical(name: str) -> str:
    return ALIASES.get(name.lower(), name)


@dataclass(frozen=True)
class Call:
    node: Node
    name: str  # canonical
    params: Tuple[Tuple[str, Optional[Node]], ...]  # (name without '-', value node or None)
    splats: Tuple[Node, ...]
    positionals: Tuple[Node, ...]


def commands(source: Source) -> Iterator[Call]:
    """Every command called by name (``&(expression)`` names none). Without the cmdlet's
    metadata a parameter is taken to own the argument after it, so a switch followed by a
    positional argument hides that argument: a ``when`` glob then does not match, and the
    cmdlet's general (stricter) decision applies."""
    for node in walk(source.root):
        if node.type != "command":
            continue
        name_node = node.child_by_field_name("command_name")
        if name_node is None or name_node.type != "command_name":
            continue
        params: List[Tuple[str, Optional[Node]]] = []
        splats: List[Node] = []
        positionals: List[Node] = []
        elements = [
            e
            for c in node.children
            if c.type == "command_elements"
            for e in c.children
            if e.type != "command_argument_sep" and e.is_named
        ]
        i = 0
        while i < len(elements):
            el = elements[i]
            if el.type == "command_parameter":
                name = source.of(el).lstrip("-").rstrip(":")
                value = None
                nxt = elements[i + 1] if i + 1 < len(elements) else None
                if nxt is not None and nxt.type != "command_parameter":
                    value = nxt
                    i += 1
                params.append((name, value))
            elif source.of(el).startswith("@") and unwrap(el).type == "variable":
                splats.append(el)
            else:
                positionals.append(el)
            i += 1
        yield Call(
            node, canonical(source.of(name_node)), tuple(params), tuple(splats), tuple(positionals)
        )


def local_functions(source: Source) -> Set[str]:
    return {source.of(n).lower() for n in walk(source.root) if n.type == "function_name"}


def _enclosing_function(node: Node) -> Optional[Node]:
    parent = node.parent
    while parent is not None:
        if parent.type == "function_statement":
            return parent
        parent = parent.parent
    return None


def in_try(node: Node) -> bool:
    """Inside the try block of a try statement (not its catch or finally), within the function."""
    child, parent = node, node.parent
    while parent is not None:
        if parent.type == "function_statement":
            return False
        if parent.type == "try_statement" and child.type == "statement_block":
            return True
        child, parent = parent, parent.parent
    return False


def _literal(source: Source, node: Node) -> str:
    text = source.of(unwrap(node))
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return text


@dataclass(frozen=True)
class SplatDefinition:
    node: Node  # the assignment
    entries: Optional[Dict[str, str]]  # lower-cased key -> value text; None when not a hashtable


def splat_definitions(source: Source) -> Dict[str, List[SplatDefinition]]:
    """``$name = <value>`` assignments, by lower-cased name, in source order."""
    out: Dict[str, List[SplatDefinition]] = {}
    for node in walk(source.root):
        if node.type != "assignment_expression":
            continue
        left = unwrap(node.children[0])
        if left.type != "variable":
            continue
        value = node.child_by_field_name("value")
        entries: Optional[Dict[str, str]] = None
        if value is not None and unwrap(value).type == "hash_literal_expression":
            entries = {}
            for entry in walk(unwrap(value)):
                if entry.type == "hash_entry":
                    key = entry.named_children[0]
                    val = entry.named_children[-1]
                    entries[source.of(key).lower()] = _literal(source, val).lower()
        out.setdefault(source.of(left)[1:].lower(), []).append(SplatDefinition(node, entries))
    return out


def visible_definition(
    source: Source, use: Node, definitions: Dict[str, List[SplatDefinition]]
) -> Optional[SplatDefinition]:
    """The last assignment of the splatted variable before its use, in the use's function or at
    the top level (a function's variables are not seen outside it)."""
    name = source.of(use)[1:].lower()
    use_function = _enclosing_function(use)
    found = None
    for definition in definitions.get(name, []):
        if definition.node.start_byte >= use.start_byte:
            break
        function = _enclosing_function(definition.node)
        if function is None or function == use_function:
            found = definition
    return found


# --- rule: guarded cmdlets -----------------------------------------------------------------


def cmdlet_decision(source: Source, call: Call) -> Optional[CmdletDecision]:
    names = {p.lower() for p, _v in call.params}
    first = _literal(source, call.positionals[0]).lower() if call.positionals else ""
    for decision in CMDLET_DECISIONS:
        if decision.cmdlet.lower() != call.name.lower():
            continue
        if decision.when is None:
            return decision
        if decision.when.startswith("-"):
            if decision.when[1:].lower() in names:
                return decision
        elif first and fnmatch.fnmatchcase(first, decision.when.lower()):
            return decision
    return None


def is_quiet(source: Source, call: Call, definitions: Dict[str, List[SplatDefinition]]) -> bool:
    for name, value in call.params:
        if (
            name.lower() in ERROR_ACTION_NAMES
            and value is not None
            and _literal(source, value).lower() in QUIET_VALUES
        ):
            return True
    for splat in call.splats:
        definition = visible_definition(source, unwrap(splat), definitions)
        if definition is not None and definition.entries is not None:
            for key, entry in definition.entries.items():
                if key in ERROR_ACTION_NAMES and entry in QUIET_VALUES:
                    return True
    return False


def _then_branches(node: Node) -> Iterator[Tuple[Node, Node]]:
    """(condition, block) of every if/elseif whose then-branch encloses the node, innermost first,
    within the function."""
    child, parent = node, node.parent
    while parent is not None and parent.type != "function_statement":
        if child.type == "statement_block" and parent.type in ("if_statement", "elseif_clause"):
            condition = parent.child_by_field_name("condition")
            if condition is not None:
                yield condition, child
        child, parent = parent, parent.parent


def behind_probe(source: Source, node: Node, probe: Tuple[str, str]) -> bool:
    cmdlet, param = probe
    for condition, _block in _then_branches(node):
        for inner in walk(condition):
            if inner.type != "command":
                continue
            name_node = inner.child_by_field_name("command_name")
            if name_node is None or canonical(source.of(name_node)).lower() != cmdlet.lower():
                continue
            if any(
                e.type == "command_parameter" and source.of(e).lstrip("-").lower() == param.lower()
                for c in inner.children
                if c.type == "command_elements"
                for e in c.children
            ):
                return True
    return False


def check_guarded_cmdlets(source: Source) -> Iterator[Violation]:
    rule = "guarded-cmdlets"
    local = local_functions(source)
    definitions = splat_definitions(source)
    for call in commands(source):
        if call.name.lower() in local:
            continue
        decision = cmdlet_decision(source, call)
        if decision is None:
            yield source.violation(
                rule, "FRM-2", call.node, f"{call.name}: no decision on how its errors are handled"
            )
            continue
        if decision.need == TRY and not in_try(call.node):
            yield source.violation(
                rule, decision.row, call.node, f"{call.name} outside a try ({decision.why})"
            )
        elif decision.need == QUIET_OR_TRY and not (
            in_try(call.node) or is_quiet(source, call, definitions)
        ):
            yield source.violation(
                rule,
                decision.row,
                call.node,
                f"{call.name} neither -ErrorAction SilentlyContinue nor in a try ({decision.why})",
            )
        if decision.behind is not None and not behind_probe(source, call.node, decision.behind):
            yield source.violation(
                rule,
                decision.row,
                call.node,
                f"{call.name} not behind {decision.behind[0]} -{decision.behind[1]} "
                f"({decision.why})",
            )


# --- rule: guarded method calls ------------------------------------------------------------


def _tested(source: Source, condition: Node) -> Set[str]:
    """What a condition tests for being there: operands of an -and chain that are a bare
    value, ``$null -ne X``, ``X -ne $null``, ``X -is [T]`` or ``X = ...``."""
    node = unwrap(condition)
    if node.type == "parenthesized_expression":
        inner = [c for c in node.children if c.is_named]
        return _tested(source, inner[0]) if inner else set()
    if node.type == "logical_expression":
        operators = {source.of(c).lower() for c in node.children if not c.is_named}
        if operators != {"-and"}:
            return set()
        out: Set[str] = set()
        for operand in node.named_children:
            out |= _tested(source, operand)
        return out
    if node.type == "comparison_expression":
        named = node.named_children
        if len(named) != 3:
            return set()
        left, operator, right = named
        op = source.of(operator).lower()
        if op == "-is":
            return {_norm(source.of(left))}
        if op == "-ne":
            if _norm(source.of(left)) == "$null":
                return {_norm(source.of(right))}
            if _norm(source.of(right)) == "$null":
                return {_norm(source.of(left))}
        return set()
    if node.type == "assignment_expression":
        return {_norm(source.of(node.children[0]))}
    if node.type in ("variable", "member_access", "element_access"):
        return {_norm(source.of(node))}
    return set()


def receiver_guarded(source: Source, call: Node, receiver: str) -> bool:
    child, parent = call, call.parent
    while parent is not None and parent.type != "function_statement":
        if parent.type == "logical_expression":
            # Operands left of the call's operand, joined to it by -and, run first and guard it.
            index = parent.children.index(child)
            j = index - 1
            while j >= 1 and source.of(parent.children[j]).lower() == "-and":
                if receiver in _tested(source, parent.children[j - 1]):
                    return True
                j -= 2
        child, parent = parent, parent.parent
    return any(receiver in _tested(source, cond) for cond, _b in _then_branches(call))


def check_guarded_methods(source: Source) -> Iterator[Violation]:
    rule = "guarded-methods"
    for node in walk(source.root):
        if node.type != "invokation_expression":
            continue
        receiver = node.children[0]
        member = next((c for c in node.children if c.type == "member_name"), None)
        if member is None:
            continue
        method = source.of(member)
        static = receiver.type == "type_literal"
        type_name = source.of(receiver).strip("[]") if static else None
        decision = next(
            (
                d
                for d in METHOD_DECISIONS
                if d.method.lower() == method.lower()
                and (d.type is None or (type_name or "").lower() == d.type.lower())
            ),
            None,
        )
        if decision is None:
            yield source.violation(
                rule, "FRM-2", node, f".{method}(): no decision on how its errors are handled"
            )
            continue
        if decision.need == LOUD or in_try(node):
            continue
        if decision.need == TRY_OR_GUARD and not static:
            if receiver_guarded(source, node, _norm(source.of(receiver))):
                continue
            yield source.violation(
                rule,
                decision.row,
                node,
                f".{method}() neither in a try nor behind a test of {source.of(receiver)} "
                f"({decision.why})",
            )
        else:
            yield source.violation(
                rule, decision.row, node, f".{method}() outside a try ({decision.why})"
            )


# --- rule: the language-mode check comes first ---------------------------------------------


def _is_language_mode_check(source: Source, node: Node) -> bool:
    if node.type != "if_statement":
        return False
    if any(c.type in ("elseif_clauses", "else_clause") for c in node.children):
        return False
    condition = node.child_by_field_name("condition")
    if condition is None:
        return False
    comparison = unwrap(condition)
    if comparison.type != "comparison_expression" or len(comparison.named_children) != 3:
        return False
    left, operator, right = comparison.named_children
    if _norm(source.of(left)) != "$executioncontext.sessionstate.languagemode":
        return False
    if _norm(source.of(operator)) != "-ne" or _literal(source, right).lower() != "fulllanguage":
        return False
    block = next(c for c in node.children if c.type == "statement_block")
    body = list(statements(block))
    return (
        len(body) == 1
        and body[0].type == "flow_control_statement"
        and source.of(body[0]).startswith("throw")
    )


def check_language_mode_first(source: Source) -> Iterator[Violation]:
    rule, row = "language-mode-first", "FRM-8"
    top = list(statements(source.root))
    if not top or not _is_language_mode_check(source, top[0]):
        node = top[0] if top else source.root
        later = [i for i, s in enumerate(top) if _is_language_mode_check(source, s)]
        yield source.violation(
            rule,
            row,
            node,
            f"{later[0]} statement(s) run before the language-mode check"
            if later
            else "the first statement is not `if($ExecutionContext.SessionState.LanguageMode "
            "-ne 'FullLanguage'){throw ...}`",
        )
        return
    # The check itself only reads properties and throws: no method call, no type, no command,
    # none of which Constrained Language Mode is sure to allow.
    for node in walk(top[0]):
        if node.type in ("invokation_expression", "type_literal", "command"):
            yield source.violation(
                rule, row, node, "the language-mode check calls a method, a type or a command"
            )


# --- rule: the answer is the only output ---------------------------------------------------


def _pipeline_tail(node: Node) -> Node:
    """The last element of a pipeline statement (the one whose output is the statement's)."""
    if node.type == "pipeline_chain":
        elements = [c for c in node.children if c.is_named]
        return unwrap(elements[-1]) if elements else node
    return node


def _outputs(source: Source, block: Node) -> Iterator[Node]:
    """Statements of a block (and of the blocks it runs in line) that write to the output."""
    for statement in statements(block):
        node = unwrap(statement)
        kind = node.type
        if kind in ("assignment_expression", "function_statement"):
            continue
        if kind == "flow_control_statement":
            if source.of(node).lower().startswith("return") and node.named_children:
                yield statement
            continue
        if kind == "if_statement" or kind.endswith("_statement"):
            for part in walk(node):
                if part.type == "statement_block" and _owner(part) == node:
                    yield from _outputs(source, part)
            continue
        tail = _pipeline_tail(node)
        if tail.type == "command":
            name_node = tail.child_by_field_name("command_name")
            name = canonical(source.of(name_node)) if name_node is not None else ""
            if name in SILENT_COMMANDS:
                continue
            blocks = [
                e
                for c in tail.children
                if c.type == "command_elements"
                for e in walk(c)
                if e.type == "script_block_expression"
            ]
            if name == "ForEach-Object" and len(blocks) == 1:
                # %{...} writes what its block writes.
                yield from _outputs(source, blocks[0])
                continue
        if tail.type == "cast_expression" and _norm(source.of(tail)).startswith("[void]"):
            continue
        yield statement


def _owner(block: Node) -> Optional[Node]:
    """The compound statement a statement block belongs to (through its clauses: elseif, else,
    catch, finally, switch)."""
    parent = block.parent
    while parent is not None and not parent.type.endswith("_statement"):
        parent = parent.parent
    return parent


def check_single_output(source: Source) -> Iterator[Violation]:
    rule, row = "single-output", "FRM-4"
    host_writers = {name.lower() for name in HOST_WRITERS}
    for call in commands(source):
        if call.name.lower() in host_writers:
            yield source.violation(rule, row, call.node, f"{call.name} writes around the answer")
    outputs = list(_outputs(source, source.root))
    top = set(statements(source.root))
    answer = None
    if outputs and outputs[-1] in top:
        tail = _pipeline_tail(unwrap(outputs[-1]))
        name_node = tail.child_by_field_name("command_name") if tail.type == "command" else None
        if name_node is not None and canonical(source.of(name_node)).lower() == "convertto-json":
            answer = outputs[-1]
    if answer is None:
        yield source.violation(
            rule, row, source.root, "the last output is not a top-level `...|ConvertTo-Json`"
        )
    for node in outputs:
        if node != answer:
            yield source.violation(rule, row, node, "writes to the output besides the answer")


# --- rule: splats are defined --------------------------------------------------------------


def check_defined_splats(source: Source) -> Iterator[Violation]:
    rule, row = "defined-splats", "ERR-8"
    definitions = splat_definitions(source)
    for call in commands(source):
        for splat in call.splats:
            use = unwrap(splat)
            definition = visible_definition(source, use, definitions)
            if definition is None:
                yield source.violation(
                    rule, row, use, f"{source.of(use)} is not assigned before its use"
                )
            elif definition.entries is None:
                yield source.violation(
                    rule, row, use, f"{source.of(use)} is not assigned a hashtable literal"
                )


# --- the rules -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    id: str
    row: str
    description: str
    targets: FrozenSet[str]
    check: Callable[[Source], Iterator[Violation]]


BOTH = frozenset({BOOTSTRAP, BODY})

RULES: Tuple[Rule, ...] = (
    Rule(
        "guarded-cmdlets",
        "FRM-2",
        "Every cmdlet call has a decision (CMDLET_DECISIONS, each with its row): loud reads may "
        "stay unguarded, the rest sit in a try, pass -ErrorAction SilentlyContinue, or run behind "
        "their probe.",
        BOTH,
        check_guarded_cmdlets,
    ),
    Rule(
        "guarded-methods",
        "FRM-2",
        "Every .NET method call has a decision (METHOD_DECISIONS, each with its row): it sits in a "
        "try, or behind a test of its receiver, unless its failure must end the run.",
        BOTH,
        check_guarded_methods,
    ),
    Rule(
        "language-mode-first",
        "FRM-8",
        "The bootstrap's first statement refuses any language mode but FullLanguage with a throw, "
        "and calls no method, type or command itself, so no method call on a non-core type runs "
        "before it.",
        frozenset({BOOTSTRAP}),
        check_language_mode_first,
    ),
    Rule(
        "single-output",
        "FRM-4",
        "Nothing writes to the output stream but the final top-level `...|ConvertTo-Json`, and "
        "nothing writes to the host.",
        frozenset({BODY}),
        check_single_output,
    ),
    Rule(
        "defined-splats",
        "ERR-8",
        "Every splatted variable (@q, @r, @a) is assigned a hashtable literal before its use, in "
        "the same function or at the top level.",
        BOTH,
        check_defined_splats,
    ),
)


def lint(text: str, kind: str, rules: Tuple[Rule, ...] = RULES) -> List[Violation]:
    """Every violation of the rules that apply to this kind of script, in source order."""
    source = Source(text, kind)
    found: List[Violation] = []
    for rule in rules:
        if kind in rule.targets:
            found.extend(rule.check(source))
    return sorted(found, key=lambda v: (v.line, v.rule))
