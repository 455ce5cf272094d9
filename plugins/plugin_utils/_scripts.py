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
- Get-WinEvent -ListLog / -FilterHashtable (LogName, Id, StartTime) on
  Microsoft-Windows-SMBServer/Audit (3021, 3022) and Microsoft-Windows-SMBClient/Audit (31998,
  31999) ("SMB signing overview", auditing section). Which event property names the peer is
  UNCONFIRMED: the first one is reported as a label.
- Registry values through Get-Item (a Microsoft.Win32.RegistryKey: GetValueNames, GetValueKind,
  GetValue), because Get-ItemProperty cannot tell a value's type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from ._quote import quote_pwsh

PROTOCOL_VERSION = 1

# Appended to every script, as ansible.windows plugin_utils/_reboot.py does, so the psrp
# connection plugin reports a failure's exit code (target-protocol.md).
EXIT_SUFFIX = (
    "; If (-not $?) { If (Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue)"
    " { exit $LASTEXITCODE } Else { exit 1 } }"
)

_PROLOGUE = "$ProgressPreference = 'SilentlyContinue'\n$ErrorActionPreference = 'Stop'\n"

# The bodies are written tersely on purpose: cmd.exe limits the command line to 8191 characters
# and the -EncodedCommand form is about 2.7 times the script, so each script must stay under about
# 2.5 KB (the size is asserted in tests). What each part does:
# - $q is splatted where a missing log, key or parameter is an answer, not an error.
# - Props copies only the properties an object has: older builds lack the audit properties, and
#   the protocol leaves a missing property out rather than sending null.
# - Reg reads registry values with their kind ({type, data}) or null when absent.
# - $gpo maps RSOP_GPO.id (which an entry's GPOID names) to {gpo_id: guidName, gpo_name: name};
#   adding it to an entry ($null + @{...} is the entry itself) names the entry's GPO.
# - % and ? are ForEach-Object and Where-Object (their documented aliases), for length alone.
_COMMON = r"""$q=@{ErrorAction='SilentlyContinue'}
$sig='RequireSecuritySignature','EnableSecuritySignature'
$as='AuditClientDoesNotSupportSigning'
$ac='AuditServerDoesNotSupportSigning'
function Props($o,$n){$h=@{};foreach($i in $n){if($o.PSObject.Properties[$i]){$h[$i]=$o.$i}};$h}
"""

_READ_STATE_BODY = (
    _COMMON
    + r"""function Reg($p,$n){$k=Get-Item "HKLM:\$p" @q;$h=@{}
foreach($i in $n){$h[$i]=if($k -and $null -ne $k.GetValue($i)){
@{type="$($k.GetValueKind($i))";data=$k.GetValue($i)}}};$h}
$svc='SYSTEM\CurrentControlSet\Services\Lanman'
$pol='SOFTWARE\Policies\Microsoft\Windows\Lanman'
$os=Get-CimInstance Win32_OperatingSystem
$cs=Get-CimInstance Win32_ComputerSystem
$cv=Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
$gpo=@{}
$rsop=@{available=$false;error=$null;entries=@()}
try{$r=@{Namespace='root\rsop\computer'}
Get-CimInstance RSOP_GPO @r|%{$gpo[$_.id]=@{gpo_id=$_.guidName;gpo_name=$_.name}}
$r.Filter='precedence=1'
$rsop.entries=@(Get-CimInstance RSOP_RegistryValue @r|? path -Like '*SecuritySignature'|
%{$gpo[$_.GPOID]+@{class='RSOP_RegistryValue';path=$_.path;data=$_.data}})+
@(Get-CimInstance RSOP_RegistryPolicySetting @r|? valueName -In $as,$ac|
%{$gpo[$_.GPOID]+@{class='RSOP_RegistryPolicySetting';key=$_.registryKey;value_name=$_.valueName
data=if($_.valueType -eq 4){[BitConverter]::ToInt32($_.value,0)}}})
$rsop.available=$true}catch{$rsop.error="$_"}
$ev=$null
if($Request.events_since){$ev=@{}
foreach($l in ('server','SMBServer',3021,3022),('client','SMBClient',31998,31999)){
$log="Microsoft-Windows-$($l[1])/Audit"
$x=@(Get-WinEvent -FilterHashtable @{LogName=$log;Id=$l[2],$l[3]
StartTime=[datetime]$Request.events_since} @q)
$ev[$l[0]]=@{available=[bool](Get-WinEvent -ListLog $log @q);count=$x.Count
sample=@($x|Select-Object -First $Request.max_events|
%{@{id=$_.Id;time=$_.TimeCreated.ToString('o');peer="$($_.Properties[0].Value)"}})}}}
ConvertTo-Json -Compress -Depth 6 -InputObject @{op='read_state';v=1;computer_name=$cs.Name
os=@{caption=$os.Caption;version=$os.Version;build=[int]$os.BuildNumber;product_type=$os.ProductType
edition_id=$cv.EditionID;display_version=$cv.DisplayVersion}
domain_role=$cs.DomainRole
registry=@{server=Reg "${svc}Server\Parameters" ($sig+$as)
client=Reg "${svc}Workstation\Parameters" ($sig+$ac)
server_policy=Reg "${pol}Server" $as;client_policy=Reg "${pol}Workstation" $ac}
server_config=Props (Get-SmbServerConfiguration) ($sig+'EnableSMB1Protocol'+$as)
client_config=Props (Get-SmbClientConfiguration) ($sig+$ac)
parameters=@{server=@($as|?{Get-Command Set-SmbServerConfiguration -ParameterName $_ @q})
client=@($ac|?{Get-Command Set-SmbClientConfiguration -ParameterName $_ @q})}
rsop=$rsop;events=$ev}
"""
)

# One Set-* call per property, each in its own try, so one failure neither stops the others nor
# hides what applied; the caller judges from the read-back (target-protocol.md, apply).
_APPLY_BODY = (
    _COMMON
    + r"""$results=@()
foreach($side in 'server','client'){
if($null -eq $Request.$side){continue}
$cmd=if($side -eq 'server'){'Set-SmbServerConfiguration'}else{'Set-SmbClientConfiguration'}
foreach($p in $Request.$side.PSObject.Properties){
$r=@{side=$side;property=$p.Name;value=[bool]$p.Value;ok=$false;error=$null}
try{if(!(Get-Command $cmd -ParameterName $p.Name @q)){throw "$cmd has no -$($p.Name) on this host"}
$a=@{$p.Name=[bool]$p.Value}
if($side -eq 'server'){$null=Set-SmbServerConfiguration @a -Force -Confirm:$false}
else{$null=Set-SmbClientConfiguration @a -Force -Confirm:$false}
$r.ok=$true}catch{$r.error="$_"}
$results+=$r}}
ConvertTo-Json -Compress -Depth 6 -InputObject @{op='apply';v=1;results=$results
server_config=Props (Get-SmbServerConfiguration) ($sig+'EnableSMB1Protocol'+$as)
client_config=Props (Get-SmbClientConfiguration) ($sig+$ac)}
"""
)


def _minify(body: str) -> str:
    """Drop indentation and blank lines: the command line is what cmd.exe limits, and the bodies
    hold no here-strings or multi-line string literals, so leading whitespace carries no meaning."""
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


READ_STATE = Script(op="read_state", version=PROTOCOL_VERSION, body=_READ_STATE_BODY)
APPLY = Script(op="apply", version=PROTOCOL_VERSION, body=_APPLY_BODY)
SCRIPTS = (READ_STATE, APPLY)
