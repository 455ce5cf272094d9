"""The PowerShell lint (ps_lint.py) passes the shipped bootstrap and scripts, and each of its rules
fails a script broken the way the rule's ledger row forbids.

What is linted is exactly what is sent: the bootstrap on the command line, and each script as it
goes on standard input (marker, prologue, request line, body, exit suffix).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from unit.plugins.plugin_utils import ps_lint
from unit.plugins.plugin_utils.ps_lint import BODY, BOOTSTRAP

from ansible_collections.winhardening.smb.plugins.plugin_utils import _scripts

LEDGER = Path(__file__).resolve().parents[4] / "docs" / "dev" / "windows-behaviour.md"
THIS = "tests/unit/plugins/plugin_utils/test_ps_lint.py::"

REQUESTS: Dict[str, Dict[str, object]] = {
    "read_state": {
        "events_since": "2026-11-20T00:00:00Z",
        "max_peers": 1000,
        "max_events": 10000,
    },
    "apply": {"server": {"RequireSecuritySignature": True}, "sync_marker": "set"},
}
SHIPPED: Dict[str, Tuple[str, str]] = {"bootstrap": (_scripts.BOOTSTRAP, BOOTSTRAP)}
SHIPPED.update({s.op: (s.stdin(REQUESTS[s.op]).decode("utf-8"), BODY) for s in _scripts.SCRIPTS})

# Real violations in the shipped scripts, which this change does not fix (plugins/ has its own
# owner): (target, rule) -> [(row, offending text)]. The ledger's finding F-12 describes each.
# Findings the shipped scripts still have, each xfail with its finding (none today: F-12, a
# TimeCreated of null ending read_state, is guarded since the lint found it).
KNOWN_FINDINGS: Dict[Tuple[str, str], List[Tuple[str, str]]] = {}


def _ledger_rows() -> Dict[str, str]:
    """Row id -> the row's whole table line."""
    rows = {}
    for line in LEDGER.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| ([A-Z]+-\d+) \|", line)
        if match:
            rows[match.group(1)] = line
    return rows


def _shipped_cases() -> List[object]:
    cases: List[object] = []
    for target, (_text, kind) in SHIPPED.items():
        for rule in ps_lint.RULES:
            if kind not in rule.targets:
                continue
            marks = []
            if (target, rule.id) in KNOWN_FINDINGS:
                rows = sorted({row for row, _t in KNOWN_FINDINGS[(target, rule.id)]})
                marks.append(
                    pytest.mark.xfail(
                        strict=True,
                        reason=f"real finding F-12 (EVT-15; decision row {', '.join(rows)}): "
                        "left for the scripts' owner to fix",
                    )
                )
            cases.append(pytest.param(target, rule, marks=marks, id=f"{target}-{rule.id}"))
    return cases


@pytest.mark.parametrize(("target", "rule"), _shipped_cases())
def test_the_shipped_scripts_pass_every_rule(target: str, rule: ps_lint.Rule) -> None:
    text, kind = SHIPPED[target]
    found = ps_lint.lint(text, kind, rules=(rule,))
    assert not found, [str(v) for v in found]


def test_the_known_findings_are_the_only_ones() -> None:
    """The xfail above hides no second violation: each target's findings are exactly these."""
    for target, (text, kind) in SHIPPED.items():
        found = {(v.rule, v.row, v.text) for v in ps_lint.lint(text, kind)}
        known = {
            (rule, row, snippet)
            for (where, rule), items in KNOWN_FINDINGS.items()
            if where == target
            for row, snippet in items
        }
        assert found == known, target


def test_the_lint_sees_what_the_scripts_do() -> None:
    """Guard against a walker that finds nothing and so passes everything."""
    text, kind = SHIPPED["read_state"]
    source = ps_lint.Source(text, kind)
    names = {call.name for call in ps_lint.commands(source)}
    assert {"Get-WinEvent", "Get-CimInstance", "Get-Item", "ConvertTo-Json"} <= names
    decided = {
        ps_lint.cmdlet_decision(source, call)
        for call in ps_lint.commands(source)
        if call.name.lower() not in ps_lint.local_functions(source)
    }
    rows = {d.row for d in decided if d is not None}
    assert {"EVT-8", "EVT-9", "RSOP-1", "CIM-1", "CMD-1", "REG-5", "CMD-4", "CMD-5"} <= rows
    methods = [n for n in ps_lint.walk(source.root) if n.type == "invokation_expression"]
    assert len(methods) >= 5
    assert ps_lint.splat_definitions(source).keys() >= {"q", "r"}


ANSWER = "\n@{}|ConvertTo-Json -Compress"
LANGUAGE_CHECK = (
    "if($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage'){throw 'FullLanguage only'}"
)
RUN = '&([ScriptBlock]::Create((@($input)-join"`n")))'

# (rule, kind, script) broken the way the rule forbids; each must fire that rule and no other.
BROKEN: Dict[str, Tuple[str, str, str]] = {
    "event-query-outside-try": (
        "guarded-cmdlets",
        BODY,
        "try{if(Get-WinEvent -ListLog x){$a=1}}catch{}\n"
        "if($a){$x=@(Get-WinEvent -LogName 'x' -FilterXPath '*')}" + ANSWER,
    ),
    "log-listing-made-quiet": (
        "guarded-cmdlets",
        BODY,
        "if(Get-WinEvent -ListLog x -EA 0){try{$x=@(Get-WinEvent -LogName 'x' -FilterXPath '*')"
        "}catch{}}" + ANSWER,
    ),
    "event-xml-outside-try": (
        "guarded-methods",
        BODY,
        "function Peer($e){([xml]$e.ToXml()).Event.EventData.Data}" + ANSWER,
    ),
    "event-query-not-behind-listlog": (
        "guarded-cmdlets",
        BODY,
        "try{$x=@(Get-WinEvent -LogName 'x' -FilterXPath '*')}catch{}" + ANSWER,
    ),
    "rsop-outside-try": (
        "guarded-cmdlets",
        BODY,
        "$r=@{Namespace='root\\rsop\\computer'}\n$g=gcim RSOP_GPO @r" + ANSWER,
    ),
    "key-read-not-quiet": ("guarded-cmdlets", BODY, "$k=gi 'HKLM:\\SOFTWARE\\x'" + ANSWER),
    "quiet-splat-that-stops": (
        "guarded-cmdlets",
        BODY,
        "$q=@{EA='Stop'}\n$k=gi 'HKLM:\\SOFTWARE\\x' @q" + ANSWER,
    ),
    "write-in-catch": (
        "guarded-cmdlets",
        BODY,
        "try{$a=1}catch{$null=Set-SmbServerConfiguration -Force}" + ANSWER,
    ),
    "try-around-the-caller-only": (
        "guarded-cmdlets",
        BODY,
        "function W{$null=Set-SmbClientConfiguration -Force}\ntry{$null=W}catch{}" + ANSWER,
    ),
    "cmdlet-without-decision": (
        "guarded-cmdlets",
        BODY,
        "$u=Invoke-WebRequest 'https://example.invalid'" + ANSWER,
    ),
    "method-unguarded": ("guarded-methods", BODY, "$v=$k.GetValue('x')" + ANSWER),
    "method-guarded-by-another-variable": (
        "guarded-methods",
        BODY,
        "if($j){$v=$k.GetValue('x')}" + ANSWER,
    ),
    "method-in-the-else-branch": (
        "guarded-methods",
        BODY,
        "if($k){$a=1}else{$v=$k.GetValueKind('x')}" + ANSWER,
    ),
    "method-right-of-or": ("guarded-methods", BODY, "$b=$k -or $k.GetValue('x')" + ANSWER),
    "static-call-guarded-but-not-in-try": (
        "guarded-methods",
        BODY,
        "if($v.Count -ge 4){$d=[BitConverter]::ToInt32($v,0)}" + ANSWER,
    ),
    "method-on-a-nullable-time": (
        "guarded-methods",
        BODY,
        "$l=$e.TimeCreated.ToString('o')" + ANSWER,
    ),
    "method-without-decision": ("guarded-methods", BODY, "$s=$t.Substring(1)" + ANSWER),
    "no-language-check": ("language-mode-first", BOOTSTRAP, RUN),
    "method-before-the-check": (
        "language-mode-first",
        BOOTSTRAP,
        '$s=[ScriptBlock]::Create((@($input)-join"`n"))\n' + LANGUAGE_CHECK + "\n&$s",
    ),
    "check-that-does-not-throw": (
        "language-mode-first",
        BOOTSTRAP,
        "if($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage'){exit 1}\n" + RUN,
    ),
    "check-of-something-else": (
        "language-mode-first",
        BOOTSTRAP,
        "if($Host.Name -ne 'FullLanguage'){throw 'x'}\n" + RUN,
    ),
    "check-that-uses-a-type": (
        "language-mode-first",
        BOOTSTRAP,
        "if($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage'){throw [string]'x'}\n"
        + RUN,
    ),
    "bare-cmdlet-output": ("single-output", BODY, "Get-SmbServerConfiguration" + ANSWER),
    "bare-variable-output": ("single-output", BODY, "$x=1\n$x" + ANSWER),
    "output-inside-try": (
        "single-output",
        BODY,
        "try{Get-SmbClientConfiguration}catch{}" + ANSWER,
    ),
    "output-from-a-foreach-block": ("single-output", BODY, "@(1)|%{$_}" + ANSWER),
    "output-in-a-catch-block": (
        "single-output",
        BODY,
        "try{$a=1}catch{Get-SmbServerConfiguration}" + ANSWER,
    ),
    "output-in-a-switch-clause": (
        "single-output",
        BODY,
        "switch($x){1{Get-SmbServerConfiguration}}" + ANSWER,
    ),
    "output-in-an-else-branch": ("single-output", BODY, "if($a){$b=1}else{$f}" + ANSWER),
    "output-from-a-function-call": ("single-output", BODY, "function F{1}\nF" + ANSWER),
    "two-answers": ("single-output", BODY, "@{a=1}|ConvertTo-Json" + ANSWER),
    "answer-not-last": ("single-output", BODY, ANSWER.strip() + "\n$x=1\n$x"),
    "answer-inside-if": ("single-output", BODY, "if($true){@{}|ConvertTo-Json}"),
    "no-answer": ("single-output", BODY, "$x=1"),
    "splat-undefined": ("defined-splats", BODY, "$c=Get-SmbServerConfiguration @p" + ANSWER),
    "splat-defined-after-use": (
        "defined-splats",
        BODY,
        "$c=Get-SmbServerConfiguration @p\n$p=@{}" + ANSWER,
    ),
    "splat-defined-in-another-function": (
        "defined-splats",
        BODY,
        "function F{$p=@{}}\n$c=Get-SmbServerConfiguration @p" + ANSWER,
    ),
    "splat-not-a-hashtable": (
        "defined-splats",
        BODY,
        "$p='x'\n$c=Get-SmbServerConfiguration @p" + ANSWER,
    ),
}

# Scripts written the right way, close to the broken ones: the lint must not fire on them.
CLEAN: Dict[str, Tuple[str, str]] = {
    "quiet-splat": (BODY, "$q=@{EA=0}\n$k=gi 'HKLM:\\SOFTWARE\\x' @q" + ANSWER),
    "quiet-parameter": (BODY, "$k=gi 'HKLM:\\SOFTWARE\\x' -ErrorAction SilentlyContinue" + ANSWER),
    "event-query-in-try-behind-listlog": (
        BODY,
        "try{if(Get-WinEvent -ListLog x){$x=@(Get-WinEvent -LogName 'x' -FilterXPath '*' "
        '-ErrorAction SilentlyContinue -ErrorVariable re)}}catch{$e="$_"}' + ANSWER,
    ),
    "method-behind-its-receiver": (BODY, "if($null -ne $k){$v=$k.GetValueKind('x')}" + ANSWER),
    "method-right-of-and": (BODY, "$b=$k -and $null -ne ($v=$k.GetValue('x'))" + ANSWER),
    "nullable-time-tested-first": (
        BODY,
        "if($e.TimeCreated){$l=$e.TimeCreated.ToString('o')}" + ANSWER,
    ),
    "static-call-in-try": (BODY, "try{$d=[BitConverter]::ToInt32($v,0)}catch{}" + ANSWER),
    "silent-marker-removal-in-try": (
        BODY,
        "try{Remove-ItemProperty 'HKLM:\\SOFTWARE\\winhardening.smb' x}catch{$me=\"$_\"}" + ANSWER,
    ),
    "foreach-that-assigns": (BODY, "$h=@{}\n@(1)|%{$h[$_]=1}" + ANSWER),
    "function-result-captured": (BODY, "function F{1}\n$x=F" + ANSWER),
    "splat-defined-in-the-function": (
        BODY,
        "function F{$p=@{}\nGet-SmbServerConfiguration @p}\n$x=F" + ANSWER,
    ),
    "answer-then-exit-suffix": (BODY, ANSWER.strip() + ";if(!$?){exit 1}"),
    "answer-without-arguments": (BODY, "if($a){$b=1}else{$c=2}\n@{}|ConvertTo-Json"),
    "bootstrap": (BOOTSTRAP, LANGUAGE_CHECK + "\n" + RUN),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_script_fails_exactly_its_rule(name: str) -> None:
    rule_id, kind, text = BROKEN[name]
    found = ps_lint.lint(text, kind)
    assert found, f"{name}: no violation"
    assert {v.rule for v in found} == {rule_id}, [str(v) for v in found]


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_a_script_written_the_right_way_passes(name: str) -> None:
    kind, text = CLEAN[name]
    found = ps_lint.lint(text, kind)
    assert not found, [str(v) for v in found]


def test_every_rule_has_a_broken_example() -> None:
    assert {rule for rule, _kind, _text in BROKEN.values()} == {r.id for r in ps_lint.RULES}


ENFORCED = [d for d in ps_lint.CMDLET_DECISIONS if d.need != ps_lint.LOUD]


@pytest.mark.parametrize("decision", ENFORCED, ids=lambda d: f"{d.cmdlet}{d.when or ''}")
def test_each_cmdlet_decision_is_enforced(decision: ps_lint.CmdletDecision) -> None:
    """Unguarded, the decision's example fails naming the decision's row; guarded as the decision
    says (in a try, behind its probe), it passes."""
    assert decision.example, f"{decision.cmdlet}: no example"
    found = ps_lint.lint(f"$x={decision.example}" + ANSWER, BODY)
    assert found
    assert {(v.rule, v.row) for v in found} == {("guarded-cmdlets", decision.row)}
    guarded = f"try{{$x={decision.example}}}catch{{}}"
    if decision.behind is not None:
        cmdlet, param = decision.behind
        guarded = f"try{{if({cmdlet} -{param} x){{$x={decision.example}}}}}catch{{}}"
    assert not ps_lint.lint(guarded + ANSWER, BODY)


def test_host_writers_are_output_too() -> None:
    found = ps_lint.lint("$null=Write-Host 'hi'" + ANSWER, BODY)
    # Write-Host has no decision either: it has no place in these scripts at all.
    assert {v.rule for v in found} == {"single-output", "guarded-cmdlets"}


def test_a_script_that_does_not_parse_is_refused() -> None:
    with pytest.raises(ValueError, match="does not parse"):
        ps_lint.lint("if(", BODY)


def test_rules_and_decisions_name_ledger_rows() -> None:
    rows = _ledger_rows()
    assert len(rows) >= 40, "the ledger's table rows were not found"
    ids = [r.id for r in ps_lint.RULES]
    assert len(ids) == len(set(ids))
    for rule in ps_lint.RULES:
        assert rule.description
        assert rule.row in rows, rule.id
    named = [d.row for d in ps_lint.CMDLET_DECISIONS] + [d.row for d in ps_lint.METHOD_DECISIONS]
    named += list(ps_lint.SILENT_COMMANDS.values())
    missing = sorted({row for row in named if row not in rows})
    assert not missing, missing


def test_the_rows_the_lint_enforces_name_its_tests() -> None:
    """Each row a rule or an enforced decision stands on names this file as a covering test, so
    the ledger says where its assumption is checked."""
    rows = _ledger_rows()
    enforcing = {r.row for r in ps_lint.RULES} | {d.row for d in ENFORCED}
    enforcing |= {d.row for d in ps_lint.METHOD_DECISIONS if d.need != ps_lint.LOUD}
    missing = sorted(row for row in enforcing if THIS not in rows[row].rsplit("|", 2)[-2])
    assert not missing, missing
