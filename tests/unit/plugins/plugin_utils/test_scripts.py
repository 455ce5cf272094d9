"""The shipped PowerShell: parses cleanly, stays within the command-line budget, and calls only
cmdlets, parameters, CIM classes, .NET types and methods that Microsoft documents.

Every allow-list entry cites the Microsoft page that documents it. The parameters of the Set-*
cmdlets that the apply script splats (@a) come from the request, so they are checked against the
catalog and the apply body is checked to ask Get-Command -ParameterName before each write.
"""

from __future__ import annotations

import re
from typing import Dict, Iterator, List, Set, Tuple

import pytest
import tree_sitter_powershell
from tree_sitter import Language, Node, Parser
from unit.plugins.plugin_utils.ps_lint import ALIASES

from ansible_collections.winhardening.smb.plugins.module_utils.catalog import SETTINGS
from ansible_collections.winhardening.smb.plugins.plugin_utils import _pwsh, _scripts

MS = "https://learn.microsoft.com/powershell/module/"
SMB = MS + "smbshare/"
UTIL = MS + "microsoft.powershell.utility/"
CORE = MS + "microsoft.powershell.core/"
MGMT = MS + "microsoft.powershell.management/"
DIAG = MS + "microsoft.powershell.diagnostics/"
CIM = MS + "cimcmdlets/"
COMMON = CORE + "about/about_commonparameters"

# cmdlet -> (documentation page, parameters the scripts may pass, by name or by splat)
ALLOWED_CMDLETS: Dict[str, Tuple[str, Set[str]]] = {
    "ConvertFrom-Json": (UTIL + "convertfrom-json", {"InputObject"}),
    "ConvertTo-Json": (UTIL + "convertto-json", {"InputObject", "Compress", "Depth"}),
    "Get-CimInstance": (CIM + "get-ciminstance", {"ClassName", "Namespace", "Filter"}),
    "Get-Item": (MGMT + "get-item", {"Path", "LiteralPath", "ErrorAction"}),
    "Get-ItemProperty": (MGMT + "get-itemproperty", {"Path", "LiteralPath", "ErrorAction"}),
    # OutVariable is a common parameter (COMMON).
    "Get-WinEvent": (
        DIAG + "get-winevent",
        {"ListLog", "LogName", "FilterXPath", "MaxEvents", "OutVariable"},
    ),
    "Get-Command": (CORE + "get-command", {"Name", "ParameterName", "ErrorAction"}),
    "Select-Object": (UTIL + "select-object", {"First"}),
    "Group-Object": (UTIL + "group-object", {"Property"}),
    "Sort-Object": (UTIL + "sort-object", {"Property"}),
    # The marker the collection owns (apply with sync_marker).
    "Test-Path": (MGMT + "test-path", {"Path"}),
    "New-Item": (MGMT + "new-item", {"Path"}),
    "New-ItemProperty": (MGMT + "new-itemproperty", {"Path", "Name", "Value", "PropertyType"}),
    "Remove-ItemProperty": (MGMT + "remove-itemproperty", {"Path", "Name"}),
    "ForEach-Object": (CORE + "foreach-object", {"Process"}),
    # The console's output encoding: New-Object Text.UTF8Encoding (TypeName, by position).
    "New-Object": (UTIL + "new-object", {"TypeName"}),
    "Where-Object": (CORE + "where-object", {"Property", "Like", "In", "FilterScript"}),
    "Get-SmbServerConfiguration": (SMB + "get-smbserverconfiguration", set()),
    "Get-SmbClientConfiguration": (SMB + "get-smbclientconfiguration", set()),
    # The property parameters come through the @a splat; see test_apply_writes_only_catalog_*.
    "Set-SmbServerConfiguration": (SMB + "set-smbserverconfiguration", {"Force", "Confirm"}),
    "Set-SmbClientConfiguration": (SMB + "set-smbclientconfiguration", {"Force", "Confirm"}),
}
# What each splatted variable holds (@q, @r); ErrorAction is a common parameter (COMMON).
SPLATS = {"q": {"ErrorAction"}, "r": {"Namespace", "Filter"}}
# A splatted key may be a parameter's alias (about_Splatting binds it as if typed).
PARAMETER_ALIASES = {"EA": "ErrorAction"}

# CIM classes passed to Get-CimInstance, with their documentation.
ALLOWED_CIM_CLASSES = {
    "Win32_OperatingSystem": "https://learn.microsoft.com/windows/win32/cimwin32prov/win32-operatingsystem",
    "Win32_ComputerSystem": "https://learn.microsoft.com/windows/win32/cimwin32prov/win32-computersystem",
    "RSOP_GPO": "https://learn.microsoft.com/previous-versions/windows/desktop/policy/rsop-gpo",
    "RSOP_RegistryValue": "https://learn.microsoft.com/previous-versions/windows/desktop/secrsop/rsop-registryvalue",
    "RSOP_RegistryPolicySetting": "https://learn.microsoft.com/previous-versions/windows/desktop/policy/rsop-registrypolicysetting",
}
# .NET types in [type] literals (learn.microsoft.com/dotnet/api/...), all in .NET Framework 2.0+.
ALLOWED_TYPES = {
    "bool": "https://learn.microsoft.com/dotnet/api/system.boolean",
    "datetime": "https://learn.microsoft.com/dotnet/api/system.datetime",
    "int": "https://learn.microsoft.com/dotnet/api/system.int32",
    "BitConverter": "https://learn.microsoft.com/dotnet/api/system.bitconverter",
    "DateTime": "https://learn.microsoft.com/dotnet/api/system.datetime.utcnow",
    "Console": "https://learn.microsoft.com/dotnet/api/system.console.outputencoding",
    # [xml] is PowerShell's accelerator for System.Xml.XmlDocument (about_Type_Accelerators);
    # [pscustomobject] builds one object from a hash table (about_PSCustomObject).
    "xml": "https://learn.microsoft.com/dotnet/api/system.xml.xmldocument",
    "pscustomobject": CORE + "about/about_pscustomobject",
}
# Methods invoked on objects: RegistryKey (what Get-Item returns for a registry key), DateTime,
# BitConverter.
ALLOWED_METHODS = {
    "GetValue": "https://learn.microsoft.com/dotnet/api/microsoft.win32.registrykey.getvalue",
    "GetValueKind": "https://learn.microsoft.com/dotnet/api/microsoft.win32.registrykey.getvaluekind",
    "ToString": "https://learn.microsoft.com/dotnet/api/system.datetime.tostring",
    "ToUniversalTime": "https://learn.microsoft.com/dotnet/api/system.datetime.touniversaltime",
    "ToLocalTime": "https://learn.microsoft.com/dotnet/api/system.datetime.tolocaltime",
    "ToInt32": "https://learn.microsoft.com/dotnet/api/system.bitconverter.toint32",
    "ToXml": "https://learn.microsoft.com/dotnet/api/system.diagnostics.eventing.reader.eventrecord.toxml",
}

READ_REQUEST = {"events_since": "2026-11-20T00:00:00Z", "max_peers": 1000, "max_events": 10000}
APPLY_REQUEST: Dict[str, object] = {
    side: {s.cmdlet_property: True for s in SETTINGS if s.side == side}
    for side in ("server", "client")
}
APPLY_REQUEST["sync_marker"] = "clear"
# The largest request each script can get: every setting, the longest event request.
RENDERED = {
    "read_state": _scripts.READ_STATE.render(READ_REQUEST),
    "apply": _scripts.APPLY.render(APPLY_REQUEST),
}
# The scripts go on stdin, which has no length limit; the command line carries only the bootstrap
# (test_pwsh.py bounds it). Every byte is still sent on every read, so the size stays bounded:
# growth past this is a decision to make, not an accident.
SCRIPT_BYTES_MAX = 8000

PARSER = Parser(Language(tree_sitter_powershell.language()))


def _walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _text(src: bytes, node: Node) -> str:
    return src[node.start_byte : node.end_byte].decode()


def _parse(op: str) -> Tuple[bytes, Node]:
    src = RENDERED[op].encode()
    return src, PARSER.parse(src).root_node


def _functions(src: bytes, root: Node) -> Set[str]:
    return {_text(src, n) for n in _walk(root) if n.type == "function_name"}


def _commands(src: bytes, root: Node) -> Iterator[Tuple[str, List[str], List[str], List[str]]]:
    """(name, -parameters, @splats, bare tokens) of every command in the script."""
    for node in _walk(root):
        if node.type != "command":
            continue
        name_node = node.child_by_field_name("command_name")
        if name_node is None:
            continue
        params: List[str] = []
        splats: List[str] = []
        tokens: List[str] = []
        for elements in node.children:
            if elements.type != "command_elements":
                continue
            for el in elements.children:
                if el.type == "command_parameter":
                    params.append(_text(src, el).lstrip("-").rstrip(":"))
                elif el.type == "generic_token":
                    tokens.append(_text(src, el))
                elif _text(src, el).startswith("@") and re.fullmatch(r"@\w+", _text(src, el)):
                    splats.append(_text(src, el)[1:])
        yield _text(src, name_node), params, splats, tokens


@pytest.mark.parametrize("op", sorted(RENDERED))
def test_script_parses_without_error_nodes(op: str) -> None:
    src, root = _parse(op)
    bad = [n for n in _walk(root) if n.type == "ERROR" or n.is_missing]
    assert not root.has_error, [(_text(src, n)[:60], n.start_point) for n in bad]


@pytest.mark.parametrize("op", sorted(RENDERED))
def test_script_follows_the_protocol_shape(op: str) -> None:
    lines = RENDERED[op].splitlines()
    assert lines[0] == f"# winhardening.smb:{op}:2"
    assert lines[1] == "$ProgressPreference = 'SilentlyContinue'"
    assert lines[2] == "$ErrorActionPreference = 'Stop'"
    assert re.fullmatch(r"\$Request = ConvertFrom-Json -InputObject '.*'", lines[3])
    # The only output is one compressed JSON object, deep enough for registry values and events.
    assert RENDERED[op].count("ConvertTo-Json") == 1
    assert f"@{{op='{op}';v=2" in RENDERED[op]
    assert RENDERED[op].rstrip().endswith("|ConvertTo-Json -Compress -Depth 6")
    # Nothing else writes to the output stream.
    assert not re.search(r"Write-(Host|Output)|Out-Host|Out-Default", RENDERED[op])


@pytest.mark.parametrize("op", sorted(RENDERED))
def test_script_goes_on_stdin_within_its_budget(op: str) -> None:
    script = {"read_state": _scripts.READ_STATE, "apply": _scripts.APPLY}[op]
    request = READ_REQUEST if op == "read_state" else APPLY_REQUEST
    stdin = script.stdin(request)
    assert len(stdin) <= SCRIPT_BYTES_MAX, len(stdin)
    # What goes over the wire is the script, the exit-code suffix and a final newline; the
    # command line is the fixed bootstrap, whatever the script.
    assert stdin.decode("ascii") == RENDERED[op] + _scripts.EXIT_SUFFIX + "\n"
    assert _pwsh.command_for(object()) == _pwsh.BOOTSTRAP_COMMAND


@pytest.mark.parametrize("op", sorted(RENDERED))
def test_cmdlets_and_parameters_are_documented(op: str) -> None:
    src, root = _parse(op)
    local = _functions(src, root)
    seen = set()
    seen_splats: Set[str] = set()
    for name, params, splats, _tokens in _commands(src, root):
        seen_splats.update(splats)
        if name in local:
            continue
        cmdlet = ALIASES.get(name, name)
        assert cmdlet in ALLOWED_CMDLETS, f"{op}: {name} is not on the allow-list"
        seen.add(cmdlet)
        allowed = ALLOWED_CMDLETS[cmdlet][1]
        for param in params:
            assert param.lower() in {p.lower() for p in allowed}, f"{op}: {cmdlet} -{param}"
        for splat in splats:
            if splat == "a":  # the apply request's properties: checked below
                assert cmdlet.startswith("Set-Smb"), f"{op}: @a splatted into {cmdlet}"
                continue
            assert splat in SPLATS, f"{op}: unknown splat @{splat} into {cmdlet}"
            for param in SPLATS[splat]:
                assert param in allowed, f"{op}: {cmdlet} @{splat} passes -{param}"
    assert seen, "no command found: the walker is broken"
    # The walker finds the splats too (else the splat checks above would pass vacuously).
    assert seen_splats == ({"q", "r"} if op == "read_state" else {"q", "a"})


@pytest.mark.parametrize("op", sorted(RENDERED))
def test_cim_classes_types_and_methods_are_documented(op: str) -> None:
    src, root = _parse(op)
    for name, _params, _splats, tokens in _commands(src, root):
        if ALIASES.get(name, name) == "Get-CimInstance":
            assert tokens, "Get-CimInstance without a class"
            assert tokens[0] in ALLOWED_CIM_CLASSES, tokens[0]
    for node in _walk(root):
        if node.type == "type_name":
            assert _text(src, node) in ALLOWED_TYPES, _text(src, node)
        if node.type == "invokation_expression":
            member = node.child_by_field_name("member_name") or next(
                (c for c in node.children if c.type == "member_name"), None
            )
            assert member is not None
            assert _text(src, member) in ALLOWED_METHODS, _text(src, member)


def test_every_catalog_property_is_read_and_writable() -> None:
    """read_state and the apply read-back report each catalog property; the apply body writes
    the request's properties only after Get-Command shows the cmdlet has them."""
    for s in SETTINGS:
        assert s.cmdlet_property in _scripts._COMMON or s.cmdlet_property in RENDERED["read_state"]
        assert s.cmdlet in ALLOWED_CMDLETS
    assert "'EnableSMB1Protocol'" in RENDERED["read_state"]
    apply_body = _scripts.APPLY.body
    guard = apply_body.index("gcm $cmd -ParameterName $p.Name @q")
    assert guard < apply_body.index("Set-SmbServerConfiguration @a")
    assert guard < apply_body.index("Set-SmbClientConfiguration @a")


def test_audit_parameters_are_feature_detected_in_read_state() -> None:
    body = _scripts.READ_STATE.body
    assert "gcm Set-SmbServerConfiguration -ParameterName $_ @q" in body
    assert "gcm Set-SmbClientConfiguration -ParameterName $_ @q" in body
    # Properties are copied only where the object has them (PSObject.Properties lookup).
    assert "$n|?{$o.PSObject.Properties[$_]}|%{$h[$_]=$o.$_}" in _scripts._COMMON


def test_request_line_quotes_user_text() -> None:
    script = _scripts.READ_STATE.render({"events_since": "it's \u2019now\u2019", "max_peers": 1})
    request_line = script.splitlines()[3]
    # json.dumps escapes non-ASCII; the ASCII quote is doubled inside the single-quoted literal.
    assert request_line.endswith("""'{"events_since":"it''s \\u2019now\\u2019","max_peers":1}'""")
    src = script.encode()
    assert not PARSER.parse(src).root_node.has_error


def test_body_never_changes_with_the_request() -> None:
    one = _scripts.READ_STATE.render({"events_since": None, "max_peers": 1}).splitlines()
    two = _scripts.READ_STATE.render(READ_REQUEST).splitlines()
    assert one[:3] == two[:3]
    assert one[4:] == two[4:]
    assert one[3] != two[3]


def _read_events_part() -> str:
    body = _scripts.READ_STATE.body
    return body[body.index("function Peer(") : body.index("@{op='read_state'")]


def test_read_state_lists_each_log_in_the_try_and_tells_missing_from_unreadable() -> None:
    """F-7: -ListLog runs under the Stop preference inside the query's try, so only
    NoMatchingLogsFound means "missing"; access denied (LogInfoNoAccess) is the log's error."""
    events = _read_events_part()
    assert "$ErrorActionPreference = 'Stop'" in RENDERED["read_state"].splitlines()[2]
    listlog = events.index("try{if(Get-WinEvent -ListLog $n){")
    query = events.index("Get-WinEvent -LogName $n -FilterXPath $f")
    catch = events.index("catch{if($_.FullyQualifiedErrorId -like 'NoMatchingLogsFound*')")
    assert listlog < query < catch
    assert "Get-WinEvent -ListLog $n @q" not in events
    caught = "catch{if($_.FullyQualifiedErrorId -like 'NoMatchingLogsFound*'){$r.available=$false}"
    assert caught + "\nelseif(" in events
    # Both logs, with their documented ids (EVT-1, EVT-2).
    assert "server=ReadLog 'Microsoft-Windows-SMBServer/Audit' 3021,3022" in events
    assert "client=ReadLog 'Microsoft-Windows-SMBClient/Audit' 31998,31999" in events


def test_read_state_bounds_the_query_and_keeps_the_count_past_a_bad_record() -> None:
    """F-8: -MaxEvents bounds the read (truncated says it was reached). The query runs under the
    Stop preference, so the first record it cannot read or format ends it (a read error would
    otherwise be retried without end), and -OutVariable keeps the events written before: the log
    reports where the read stopped as its error and still counts them. No events is no error."""
    events = _read_events_part()
    read_log = events[events.index("function ReadLog(") :]
    query = "$null=Get-WinEvent -LogName $n -FilterXPath $f -MaxEvents $Request.max_events"
    assert query + " -OutVariable ov}}" in read_log
    assert "ErrorAction" not in read_log
    assert "$ov=@()" in read_log
    assert "elseif($_.FullyQualifiedErrorId -notlike 'NoMatchingEventsFound*'){" in read_log
    assert (
        '$r.error=if($ov.Count){"the read stopped after $($ov.Count) event(s): $_"}else{"$_"}'
        in read_log
    )
    assert "$x=@($ov|%{$k=Peer $_;" in read_log
    assert "$r.truncated=$x.Count -ge $Request.max_events" in read_log
    assert '$x|group I|%{$r.ids["$($_.Name)"]=$_.Count}' in read_log


def test_read_state_groups_every_event_by_peer_on_the_host() -> None:
    events = _read_events_part()
    # Every event read is grouped, and only the sorted groups are cut to max_peers.
    assert "$g=@($x|group P|sort ({-$_.Count},'Name'))" in events
    assert "$r.peers=@($g|select -First $Request.max_peers|%{$l=$_.Group[0]" in events
    # Get-WinEvent returns the newest event first, so a group's first event is its last.
    # In UTC ('o' of a UTC time ends in Z), and only when the event has a time (F-12).
    assert "last=if($l.T){'{0:o}' -f $l.T.ToUniversalTime()}" in events
    assert "T=$_.TimeCreated" in events


def test_the_peer_comes_from_named_event_data_then_the_first_property() -> None:
    """F-2: the label is a named EventData field when the event has one, else Properties[0];
    peer_field says which, and a failure of either read leaves the other (both in a try)."""
    events = _read_events_part()
    peer = events[: events.index("function ReadLog(")]
    assert "try{$d=([xml]$e.ToXml()).Event.EventData.Data" in peer
    assert "foreach($f in 'ClientName','ClientAddress','ServerName')" in peer
    assert "$v=\"$(@($d|?{$_.Name -eq $f})[0].'#text')\"" in peer
    assert "if($v){return $f,$v}}}catch{}" in peer
    assert 'try{$p="$($e.Properties[0].Value)"}catch{}' in peer
    assert peer.rstrip().endswith("'#0',$p}")
    assert "$k=Peer $_;[pscustomobject]@{P=$k[1];F=$k[0];I=$_.Id;T=$_.TimeCreated}" in events
    assert "peer_field=$l.F" in events


def test_both_scripts_report_the_registry_groups_and_the_marker() -> None:
    assert "function Reg(" in _scripts._COMMON
    assert "function Regs{" in _scripts._COMMON
    for body in (_scripts.READ_STATE.body, _scripts.APPLY.body):
        assert "registry=Regs" in body
        assert "markers=@{audit_unsigned_clients_since=(gp $mk @q).$mn}" in body
    assert "$mk='HKLM:\\SOFTWARE\\winhardening.smb';$mn='AuditUnsignedClientsSince'" in (
        _scripts._COMMON
    )
    # KB5066913's registry row (REG-8): read under both server keys, never counted by the script.
    assert "$sp='AuditClientSpnSupport'" in _scripts._COMMON
    assert "('server','Server',@($as,$sp)),('client','Workstation',@($ac))" in _scripts._COMMON


def test_apply_syncs_the_marker_after_the_writes_and_reports_its_error() -> None:
    body = _scripts.APPLY.body
    last_write = body.index("Set-SmbClientConfiguration @a")
    read_back = body.index("$sc=Get-SmbServerConfiguration")
    sync = body.index("if($s=$Request.sync_marker){try{")
    answer = body.index("ConvertTo-Json")
    assert last_write < read_back < sync < answer
    part = body[sync:answer]
    # 'set' and no marker: create the key if needed, write UtcNow as 'o' text (REG_SZ), unless
    # the read-back shows auditing off (a write that did not take).
    assert (
        "if($s -eq 'set'){if($null -eq $m -and $sc.$as -ne $false){if(!(Test-Path $mk))"
        "{$null=New-Item $mk}" in part
    )
    assert "-Value ([DateTime]::UtcNow.ToString('o')) -PropertyType String" in part
    # 'clear' and a marker: remove it. Any error lands in marker_error.
    assert 'elseif($null -ne $m){Remove-ItemProperty $mk $mn}}catch{$me="$_"}}' in part
    assert "marker_error=$me}" in body
    # The read-back uses the same configuration object the marker followed.
    assert "server_config=Pr $sc (" in body


def test_the_q_splat_is_error_action_silently_continue() -> None:
    # EA is -ErrorAction's alias and 0 is ActionPreference.SilentlyContinue; the splat checks
    # above take @q as ErrorAction, so the definition must say exactly that.
    definition = next(ln for ln in _scripts._COMMON.splitlines() if ln.startswith("$q="))
    assert definition == "$q=@{EA=0}"
    assert PARAMETER_ALIASES["EA"] in SPLATS["q"]


def _rsop_part() -> str:
    body = _scripts.READ_STATE.body
    return body[body.index("try{$r=@{Namespace='root\\rsop\\computer'}") : body.index("$ev=$null")]


def test_read_state_asks_both_rsop_channels_for_all_six_values() -> None:
    """F-3: Security Options (RSOP_RegistryValue) and Administrative Templates
    (RSOP_RegistryPolicySetting) for every catalog value, whatever key Registry.pol names."""
    rsop = _rsop_part()
    assert "$all=$sig+$as+$ac" in rsop
    names = {s.registry_value for s in SETTINGS}
    assert len(names) == 4  # the two signing values on both sides, the two audit values
    for name in names:
        assert name in _scripts._COMMON
    assert (
        "?{$_.path -like '*\\Lanman*\\Parameters\\*' -and ($_.path -split '\\\\')[-1] -in $all}"
        in rsop
    )
    assert "gcim RSOP_RegistryPolicySetting @r|? valueName -In $all|" in rsop
    assert "-In $as,$ac" not in rsop


def test_a_null_or_short_rsop_value_leaves_data_null() -> None:
    """RSOP-6: ToInt32 runs only on four bytes or more, so a null value no longer ends the read."""
    rsop = _rsop_part()
    assert (
        "data=if($_.valueType -eq 4 -and $_.value.Count -ge 4){[BitConverter]::ToInt32($_.value,0)}"
        in rsop
    )
    assert rsop.count("ToInt32") == 1


def test_the_event_window_is_one_log_queried_by_get_winevents_own_xpath() -> None:
    """F-6 and F-13: the window start goes into the XPath in UTC, formatted as Get-WinEvent's
    -FilterHashtable formats StartTime ('s', '.', milliseconds, 'Z'), with the same EventID and
    TimeCreated predicates; the query names one log, which Get-WinEvent opens without
    TolerateQueryErrors, so a log it cannot open is an error, not an empty log."""
    events = _read_events_part()
    assert "$u=([datetime]$t).ToUniversalTime()" in events
    assert "$w=\"$($u.ToString('s')).$($u.Millisecond.ToString('d3'))Z\"" in events
    assert '$ix="(System/EventID=$($i[0])) or (System/EventID=$($i[1]))"' in events
    assert "$f=\"*[($ix) and (System/TimeCreated[@SystemTime>='$w'])]\"" in events
    assert "Get-WinEvent -LogName $n -FilterXPath $f" in events
    assert "FilterHashtable" not in events
    assert "ToLocalTime" not in events


def test_console_output_is_utf8_first() -> None:
    first = _scripts._COMMON.splitlines()[0]
    assert first == "try{[Console]::OutputEncoding=New-Object Text.UTF8Encoding}catch{}"
    for op in RENDERED:
        assert RENDERED[op].splitlines()[4] == first


def test_the_bootstrap_checks_the_language_mode_before_any_method_call() -> None:
    """FRM-8: in Constrained Language Mode [ScriptBlock]::Create (a non-core type) would fail
    with a generic error; the bootstrap's first statement refuses with a clear message instead."""
    src = _scripts.BOOTSTRAP.encode()
    root = PARSER.parse(src).root_node
    assert not root.has_error
    first, rest = _scripts.BOOTSTRAP.split("\n", 1)
    assert first.startswith(
        "if($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage'){throw \""
    )
    # No static call on the first line: the check itself only reads properties.
    assert "::" not in first
    assert "Nothing was read or written." in first
    calls = [n for n in _walk(root) if n.type == "invokation_expression"]
    assert calls
    assert all(n.start_byte > len(first.encode()) for n in calls)
    assert rest == '&([ScriptBlock]::Create((@($input)-join"`n")))'
