# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two PowerShell scripts the collection runs on Windows (docs/dev/target-protocol.md).

FOR INTERNAL COLLECTION USE ONLY.

Each script is a fixed body; the only input is the one ``$Request`` line, so the body can be
reviewed, parsed (tests/unit/plugins/plugin_utils/test_scripts.py) and size-checked once.
Microsoft documentation behind what the bodies call:
- Get-/Set-SmbServerConfiguration and Get-/Set-SmbClientConfiguration (module SmbShare,
  learn.microsoft.com/powershell/module/smbshare/): the signing properties, EnableSMB1Protocol,
  and the audit parameters that only some builds have (Windows Server 2025 / Windows 11 24H2;
  KB5066913 back-ports server-side signing audit to Windows Server 2012 and later). Because of
  that the bodies ask ``Get-Command <cmdlet> -ParameterName <name>`` (about Get-Command,
  -ParameterName: "Gets commands in the session that have the specified parameters") before
  reporting or using an audit parameter, and read properties only where the object has them.
- Win32_OperatingSystem (Caption, Version, BuildNumber, ProductType) and Win32_ComputerSystem
  (Name, DomainRole) through Get-CimInstance; EditionID / DisplayVersion from
  HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion (absent keys read as null).
- RSoP: root\\rsop\\computer RSOP_RegistryValue (security-settings Registry Values, winning
  instance precedence=1), RSOP_RegistryPolicySetting (Administrative Templates values) and RSOP_GPO
  (id -> name, guidName) (learn.microsoft.com/previous-versions/windows/desktop/policy/).
  RSOP_PolicySetting.GPOID is the GPO's directory path, which RSOP_GPO.id matches; guidName is the
  {GUID} the protocol reports.
- Get-WinEvent -ListLog, then -LogName with -FilterXPath (ids, window start) -MaxEvents on
  Microsoft-Windows-SMBServer/Audit (3021, 3022) and Microsoft-Windows-SMBClient/Audit (31998,
  31999) ("SMB signing overview", auditing section). PowerShell's GetEventCommand.cs: "no events"
  is the non-terminating error NoMatchingEventsFound (FullyQualifiedErrorId
  "NoMatchingEventsFound,Microsoft.PowerShell.Commands.GetWinEventCommand"); a LogName that does
  not exist is NoMatchingLogsFound, one the caller may not read LogInfoNoAccess. Which EventData
  field names the peer is UNCONFIRMED: named fields are tried, then the first property.
  Group-Object (by that label), Sort-Object and Select-Object -First group, order and cut the
  peers; Get-WinEvent returns the newest event first, so a group's first event is its last, and
  DateTime ToString('o') formats it with its offset.
- Registry values through Get-Item (a Microsoft.Win32.RegistryKey: GetValueKind, GetValue),
  because Get-ItemProperty cannot tell a value's type; the marker (a REG_SZ the collection owns)
  through Get-ItemProperty, and in apply Test-Path, New-Item, New-ItemProperty -PropertyType
  String and Remove-ItemProperty, with [DateTime]::UtcNow.ToString('o').
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from ._quote import quote_pwsh

PROTOCOL_VERSION = 2

# Appended to every script so the psrp connection plugin reports a failure's exit code
# (target-protocol.md). ansible.windows' plugin_utils/_reboot.py appends a longer form that
# passes on $LASTEXITCODE; these scripts run no native command, so there is none to pass on.
EXIT_SUFFIX = ";if(!$?){exit 1}"

# The only code on the command line (target-protocol.md, "Transport"): it reads the script from
# standard input and runs it, as ansible-core's own bootstrap_wrapper.ps1 does for modules. The
# script text arrives as pipeline input, $input: over winrm and ssh PowerShell reads the process's
# stdin line by line; over psrp the connection plugin hands in_data to the pipeline, split into
# lines from ansible-core 2.19 on and as one string before, so the bootstrap joins whatever
# comes with newlines and either way gets the script back. Its lines are already stripped and
# none is blank, so the winrm plugin of ansible-core 2.16 to 2.18, which encodes what it is given
# and strips each line first, sends exactly this text too.
# Its first line refuses any language mode but FullLanguage with a message that says so: under
# Constrained Language Mode (WDAC or AppLocker) method calls work only on core types, which
# [ScriptBlock], RegistryKey and BitConverter are not (PowerShell's TypeResolver.cs CoreTypes),
# so the scripts would otherwise fail with a generic error. Reading a property of
# $ExecutionContext and throw both work in every mode that runs scripts.
BOOTSTRAP = (
    "if($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage'){throw "
    '"winhardening.smb needs FullLanguage mode, but this PowerShell session runs in '
    "$($ExecutionContext.SessionState.LanguageMode) mode (WDAC or AppLocker policy). "
    'Nothing was read or written."}\n'
    '&([ScriptBlock]::Create((@($input)-join"`n")))'
)

_PROLOGUE = "$ProgressPreference = 'SilentlyContinue'\n$ErrorActionPreference = 'Stop'\n"

# The bodies were written tersely when they went on the command line (cmd.exe's 8191 characters,
# about 2.7 command-line characters per script character); they now travel on standard input,
# which has no such limit, and stay terse only because every byte is still sent on every read.
# What each part does:
# - $q is splatted where a missing log, key or parameter is an answer, not an error: EA is
#   -ErrorAction's alias and 0 is ActionPreference.SilentlyContinue.
# - Pr copies only the properties an object has: older builds lack the audit properties, and
#   the protocol leaves a missing property out rather than sending null.
# - Reg reads registry values with their kind ({type, data}) or null when absent; Regs reads the
#   four groups (LanmanServer/LanmanWorkstation Parameters and their Policies twins) that both
#   read_state and the apply read-back report. The server groups also carry AuditClientSpnSupport,
#   which KB5066913 lists beside the signing audit policy: reported, never counted as signing
#   audit (windows-behaviour.md, REG-8).
# - markers: the collection's own REG_SZ HKLM:\SOFTWARE\winhardening.smb AuditUnsignedClientsSince
#   through Get-ItemProperty (gp), null when the key or value is absent.
# - gi, gp, gcm, select, group, sort are the built-in aliases of Get-Item, Get-ItemProperty,
#   Get-Command, Select-Object, Group-Object and Sort-Object (about_Aliases), for length alone.
# - $gpo maps RSOP_GPO.id (which an entry's GPOID names) to {gpo_id: guidName, gpo_name: name};
#   adding it to an entry ($null + @{...} is the entry itself) names the entry's GPO.
# - Events (ReadLog, one audit log): -ListLog runs inside the try under the prologue's
#   $ErrorActionPreference = 'Stop', which makes its errors terminating with the error record as
#   $_ (about_Preference_Variables): NoMatchingLogsFound means the log is missing (available
#   false); anything else is the log's error, never "missing": access denied to the log is
#   LogInfoNoAccess on current PowerShell 7, and LogInfoUnavailable on Windows PowerShell 5.1,
#   which writes it before its NoMatchingLogsFound, so under Stop it is the one caught. Only a
#   log -ListLog found is queried (a query of a missing log raises NoMatchingLogsFound). The
#   query names its one log (-LogName) with the XPath Get-WinEvent's own -FilterHashtable would
#   build for the ids and the window start (GetEventCommand.cs HandleEventIdHashValue,
#   SystemTimeStartTemplate: the start in UTC as 's' format, '.', the milliseconds, 'Z'): for
#   one log Get-WinEvent opens the query without TolerateQueryErrors, so a log it cannot open is
#   an error here, where the hash-table query (with TolerateQueryErrors) would read it as having
#   no events. The query is bounded by -MaxEvents (the request's max_events,
#   newest first; truncated says the cap was reached, so count and peers_total are lower bounds)
#   and runs under Stop too, so the first error ends it: a record Get-WinEvent cannot read would
#   otherwise be retried without end (GetEventCommand.cs ReadEvents), and one it cannot format
#   leaves a hole. -OutVariable keeps the events written before the error (the variable is set
#   when the pipeline starts and grows as each object is written), so the log reports "the read
#   stopped after N event(s)" as its error and still counts those N. NoMatchingEventsFound
#   ("no events") is count 0, not an error.
#   Peer: the label comes from the first named EventData field present of ClientName,
#   ClientAddress, ServerName (the event XML, $e.ToXml()), else the first property; peer_field says
#   which (#0 for the position), because Microsoft documents neither for these events. ids counts
#   the events per event id, so a real host shows which id fired.
#   Every event read is grouped by peer label on the host (Group-Object, case-insensitive),
#   sorted by count descending then label ({-$_.Count},'Name'; the label order among equal counts
#   is the host culture's), and cut to max_peers; last is the newest TimeCreated (the group's
#   first) in UTC, formatted 'o' (ending in Z) by the -f operator, which calls no method on a
#   value that could be null.
# - % and ? are ForEach-Object and Where-Object (their documented aliases), for length alone.
# - The first line makes the console write UTF-8 (without a byte-order mark), as ansible-core's
#   exec wrapper does, so a non-ASCII GPO name or peer label is not mangled over SSH, where the
#   OEM code page applies; inside try because a session without a console (psrp) may refuse.
# - RSoP: both Group Policy channels for all six values ($all): Security Options
#   (RSOP_RegistryValue, path under a Lanman*\Parameters key ending in the value name) and
#   Administrative Templates / Registry.pol (RSOP_RegistryPolicySetting by value name; the caller
#   matches the key). A DWORD's data is decoded only when value holds 4 bytes, so a null value
#   leaves data null instead of ending the whole RSoP read.
# - The event window: the request's start, cast to [datetime], then ToUniversalTime(): on 5.1
#   the cast of the ISO text gives a local-kind time, on 7 ConvertFrom-Json already gives a
#   UTC-kind one; either way the XPath gets the same UTC instant (no local-time round trip).
_COMMON = r"""try{[Console]::OutputEncoding=New-Object Text.UTF8Encoding}catch{}
$q=@{EA=0}
$sig='RequireSecuritySignature','EnableSecuritySignature'
$as='AuditClientDoesNotSupportSigning'
$ac='AuditServerDoesNotSupportSigning'
$sp='AuditClientSpnSupport'
$mk='HKLM:\SOFTWARE\winhardening.smb';$mn='AuditUnsignedClientsSince'
function Pr($o,$n){$h=@{};$n|?{$o.PSObject.Properties[$_]}|%{$h[$_]=$o.$_};$h}
function Reg($p,$n){$k=gi "HKLM:\$p" @q;$h=@{}
foreach($i in $n){$h[$i]=if($k -and $null -ne($v=$k.GetValue($i))){
@{type="$($k.GetValueKind($i))";data=$v}}};$h}
function Regs{$h=@{};foreach($x in ('server','Server',@($as,$sp)),('client','Workstation',@($ac))){
$h[$x[0]]=Reg "SYSTEM\CurrentControlSet\Services\Lanman$($x[1])\Parameters" ($sig+$x[2])
$h[$x[0]+'_policy']=Reg "SOFTWARE\Policies\Microsoft\Windows\Lanman$($x[1])" $x[2]};$h}
"""

_READ_STATE_BODY = (
    _COMMON
    + r"""$os=gcim Win32_OperatingSystem
$cs=gcim Win32_ComputerSystem
$cv=gp 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
$gpo=@{}
$rsop=@{available=$false;error=$null;entries=@()}
try{$r=@{Namespace='root\rsop\computer'}
gcim RSOP_GPO @r|%{$gpo[$_.id]=@{gpo_id=$_.guidName;gpo_name=$_.name}}
$r.Filter='precedence=1'
$all=$sig+$as+$ac
$rsop.entries=@(gcim RSOP_RegistryValue @r|
?{$_.path -like '*\Lanman*\Parameters\*' -and ($_.path -split '\\')[-1] -in $all}|
%{$gpo[$_.GPOID]+@{class='RSOP_RegistryValue';path=$_.path;data=$_.data}}
gcim RSOP_RegistryPolicySetting @r|? valueName -In $all|
%{$gpo[$_.GPOID]+@{class='RSOP_RegistryPolicySetting';key=$_.registryKey;value_name=$_.valueName
data=if($_.valueType -eq 4 -and $_.value.Count -ge 4){[BitConverter]::ToInt32($_.value,0)}}})
$rsop.available=$true}catch{$rsop.error="$_"}
function Peer($e){$p=''
try{$d=([xml]$e.ToXml()).Event.EventData.Data
foreach($f in 'ClientName','ClientAddress','ServerName'){$v="$(@($d|?{$_.Name -eq $f})[0].'#text')"
if($v){return $f,$v}}}catch{}
try{$p="$($e.Properties[0].Value)"}catch{}
'#0',$p}
function ReadLog($n,$i){$r=@{available=$true;error=$null;truncated=$false;ids=@{}};$ov=@()
try{if(Get-WinEvent -ListLog $n){$u=([datetime]$t).ToUniversalTime()
$w="$($u.ToString('s')).$($u.Millisecond.ToString('d3'))Z"
$ix="(System/EventID=$($i[0])) or (System/EventID=$($i[1]))"
$f="*[($ix) and (System/TimeCreated[@SystemTime>='$w'])]"
$null=Get-WinEvent -LogName $n -FilterXPath $f -MaxEvents $Request.max_events -OutVariable ov}}
catch{if($_.FullyQualifiedErrorId -like 'NoMatchingLogsFound*'){$r.available=$false}
elseif($_.FullyQualifiedErrorId -notlike 'NoMatchingEventsFound*'){
$r.error=if($ov.Count){"the read stopped after $($ov.Count) event(s): $_"}else{"$_"}}}
$x=@($ov|%{$k=Peer $_;[pscustomobject]@{P=$k[1];F=$k[0];I=$_.Id;T=$_.TimeCreated}})
$g=@($x|group P|sort ({-$_.Count},'Name'))
$x|group I|%{$r.ids["$($_.Name)"]=$_.Count}
$r.count=$x.Count;$r.peers_total=$g.Count;$r.truncated=$x.Count -ge $Request.max_events
$r.peers=@($g|select -First $Request.max_peers|%{$l=$_.Group[0]
@{peer=$_.Name;count=$_.Count;peer_field=$l.F
last=if($l.T){'{0:o}' -f $l.T.ToUniversalTime()}}});$r}
$ev=$null
if($t=$Request.events_since){$ev=@{server=ReadLog 'Microsoft-Windows-SMBServer/Audit' 3021,3022
client=ReadLog 'Microsoft-Windows-SMBClient/Audit' 31998,31999}}
@{op='read_state';v=2;computer_name=$cs.Name
os=@{caption=$os.Caption;version=$os.Version;build=[int]$os.BuildNumber;product_type=$os.ProductType
edition_id=$cv.EditionID;display_version=$cv.DisplayVersion}
domain_role=$cs.DomainRole;registry=Regs
server_config=Pr (Get-SmbServerConfiguration) ($sig+'EnableSMB1Protocol'+$as)
client_config=Pr (Get-SmbClientConfiguration) ($sig+$ac)
parameters=@{server=@($as|?{gcm Set-SmbServerConfiguration -ParameterName $_ @q})
client=@($ac|?{gcm Set-SmbClientConfiguration -ParameterName $_ @q})}
rsop=$rsop;events=$ev
markers=@{audit_unsigned_clients_since=(gp $mk @q).$mn}}|ConvertTo-Json -Compress -Depth 6
"""
)

# One Set-* call per property, each in its own try, so one failure neither stops the others nor
# hides what applied; the caller judges from the read-back (target-protocol.md, apply). Then the
# marker, as the caller decided: sync_marker 'set' writes [DateTime]::UtcNow as 'o' text (creating
# the key) when there is none, unless the read-back shows server auditing off (a write that did
# not take); 'clear' removes it. A marker error is reported in marker_error and never stops the
# answer.
_APPLY_BODY = (
    _COMMON
    + r"""$results=@()
foreach($side in 'server','client'){
if($null -eq $Request.$side){continue}
$cmd=if($side -eq 'server'){'Set-SmbServerConfiguration'}else{'Set-SmbClientConfiguration'}
foreach($p in $Request.$side.PSObject.Properties){
$r=@{side=$side;property=$p.Name;value=[bool]$p.Value;ok=$false;error=$null}
try{if(!(gcm $cmd -ParameterName $p.Name @q)){throw "$cmd has no -$($p.Name) on this host"}
$a=@{$p.Name=[bool]$p.Value}
if($side -eq 'server'){$null=Set-SmbServerConfiguration @a -Force -Confirm:$false}
else{$null=Set-SmbClientConfiguration @a -Force -Confirm:$false}
$r.ok=$true}catch{$r.error="$_"}
$results+=$r}}
$sc=Get-SmbServerConfiguration;$me=$null
if($s=$Request.sync_marker){try{$m=(gp $mk @q).$mn
if($s -eq 'set'){if($null -eq $m -and $sc.$as -ne $false){if(!(Test-Path $mk)){$null=New-Item $mk}
$null=New-ItemProperty $mk $mn -Value ([DateTime]::UtcNow.ToString('o')) -PropertyType String}}
elseif($null -ne $m){Remove-ItemProperty $mk $mn}}catch{$me="$_"}}
@{op='apply';v=2;results=$results
server_config=Pr $sc ($sig+'EnableSMB1Protocol'+$as)
client_config=Pr (Get-SmbClientConfiguration) ($sig+$ac)
registry=Regs;markers=@{audit_unsigned_clients_since=(gp $mk @q).$mn}
marker_error=$me}|ConvertTo-Json -Compress -Depth 6
"""
)


def _minify(body: str) -> str:
    """Drop indentation and blank lines: every byte is sent on every run, and the bodies hold no
    here-strings or multi-line string literals, so leading whitespace carries no meaning."""
    return "\n".join(line.strip() for line in body.splitlines() if line.strip()) + "\n"


@dataclass(frozen=True)
class Script:
    """One shipped script: the operation named in its marker, its version and its fixed body."""

    op: str
    version: int
    body: str

    @property
    def marker(self) -> str:
        return f"# winhardening.smb:{self.op}:{self.version}"

    def render(self, request: Mapping[str, Any]) -> str:
        """The full script text for one request; the request is the only variable part."""
        payload = json.dumps(dict(request), separators=(",", ":"), sort_keys=False)
        request_line = "$Request = ConvertFrom-Json -InputObject " + quote_pwsh(payload)
        return self.marker + "\n" + _PROLOGUE + request_line + "\n" + _minify(self.body)

    def stdin(self, request: Mapping[str, Any]) -> bytes:
        """What goes on standard input for one request: the script, the exit-code suffix and a
        final newline (so the last line is a whole line to a line reader), as UTF-8. The text is
        ASCII (json.dumps escapes every non-ASCII character of the request), so the console's
        input code page cannot change it."""
        return (self.render(request) + EXIT_SUFFIX + "\n").encode("utf-8")


READ_STATE = Script(op="read_state", version=PROTOCOL_VERSION, body=_READ_STATE_BODY)
APPLY = Script(op="apply", version=PROTOCOL_VERSION, body=_APPLY_BODY)
SCRIPTS = (READ_STATE, APPLY)
