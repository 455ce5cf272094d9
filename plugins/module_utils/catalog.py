# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The six SMB signing settings the collection manages, and where Windows keeps each one.

Sources (Microsoft documentation unless said otherwise):
- Registry backing of the four Security Options: "Overview of Server Message Block signing"
  (learn.microsoft.com/troubleshoot/windows-server/networking/
  overview-server-message-block-signing) and "SMB signing overview"
  (learn.microsoft.com/windows-server/storage/file-server/smb-signing-overview).
- "(if ... agrees)" policies and EnableSecuritySignature only affect SMB1: "Microsoft network
  server: Digitally sign communications (always)" policy page
  (learn.microsoft.com/windows/security/threat-protection/security-policy-settings/
  microsoft-network-server-digitally-sign-communications-always), IMPORTANT note.
- Cmdlet properties: Set-SmbServerConfiguration / Set-SmbClientConfiguration
  (learn.microsoft.com/powershell/module/smbshare/set-smbserverconfiguration), including the
  Windows Server 2025 audit parameter AuditClientDoesNotSupportSigning; the client-side
  AuditServerDoesNotSupportSigning is in smb-signing-overview (section "SMB signing and encryption
  auditing").
- Audit policy keys: the ADMX policies "Lanman Server\\Audit client does not support signing"
  and "Lanman Workstation\\Audit server does not support signing" write under
  HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanServer / LanmanWorkstation (CIS WS2025
  18.6.7.2 and 18.6.8.3 as implemented by ansible-lockdown/Windows-2025-CIS; the Microsoft
  Windows 11 24H2 security baseline as listed by HardeningKitty agrees). Microsoft's OSConfig
  WS2025 baseline data swaps the two keys; we follow the ADMX/CIS placement and treat the swap
  as an OSConfig data bug (UNCONFIRMED).
- secedit [Registry Values] keys: the form used by SecurityPolicyDsc's SecurityOptionData and the
  secedit INF format (MACHINE\\<path>\\<value>=4,<data>, type 4 = REG_DWORD per the
  RSOP_RegistryValue documentation). The audit settings are Administrative Templates, not Security
  Options, so they have no secedit key.
- Benchmark ids: CIS Microsoft Windows Server 2019/2022/2025 benchmarks (2.3.8.x, 2.3.9.x; 18.6.x
  in WS2025 only), DISA STIG WS2019 and WS2022 (ansible-lockdown STIG roles), CCE ids from the
  OSConfig WS2025 baseline CSV. The WS2025 STIG's signing rule ids are UNCONFIRMED, so not listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

SERVER_PARAMETERS_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters"
CLIENT_PARAMETERS_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanWorkstation\\Parameters"
SERVER_POLICY_KEY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanServer"
CLIENT_POLICY_KEY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanWorkstation"

SERVER_CMDLET = "Set-SmbServerConfiguration"
CLIENT_CMDLET = "Set-SmbClientConfiguration"

SIDES = ("server", "client")
KINDS = ("signing", "audit")


@dataclass(frozen=True)
class StigRule:
    """One DISA STIG rule: the STIG id (WN22-SO-000190) and its vulnerability id (V-254463)."""

    rule_id: str
    v_id: str


@dataclass(frozen=True)
class Setting:
    """One managed setting: every name Windows, secedit, the cmdlets and the benchmarks give it."""

    name: str
    display_name: str
    side: str
    kind: str
    registry_key: str
    registry_value: str
    # Audit settings: the SOFTWARE\Policies key written by the ADMX policy; signing settings: None.
    policy_registry_key: str | None
    # secedit [Registry Values] key; None for the audit settings (not Security Options).
    secedit_key: str | None
    cmdlet: str
    cmdlet_property: str
    # True for the two "(if ... agrees)" settings: Microsoft documents them as SMB1-only.
    smb1_only: bool
    cis: str
    # OS family (os_info.OsInfo.family) -> STIG rule; empty where no STIG rule is known.
    stig: Mapping[str, StigRule] = field(hash=False)
    cce: str | None
    # True where the value name under registry_key is itself UNCONFIRMED (audit settings).
    registry_value_unconfirmed: bool = False

    @property
    def registry_path(self) -> str:
        """The full registry path of the value, key and value name joined."""
        return self.registry_key + "\\" + self.registry_value


def _stig(**rules: tuple[str, str]) -> Mapping[str, StigRule]:
    return MappingProxyType({os: StigRule(rule, vid) for os, (rule, vid) in rules.items()})


def _secedit(parameters_key: str, value: str) -> str:
    # secedit writes the hive as MACHINE and, for LanManServer, this exact capitalisation
    # (SecurityPolicyDsc SecurityOptionData.psd1; registry lookups are case-insensitive anyway).
    path = parameters_key.replace("HKLM\\SYSTEM", "MACHINE\\System")
    path = path.replace("\\LanmanServer\\", "\\LanManServer\\")
    return path + "\\" + value


SETTINGS: tuple[Setting, ...] = (
    Setting(
        name="server_require",
        display_name="Microsoft network server: Digitally sign communications (always)",
        side="server",
        kind="signing",
        registry_key=SERVER_PARAMETERS_KEY,
        registry_value="RequireSecuritySignature",
        policy_registry_key=None,
        secedit_key=_secedit(SERVER_PARAMETERS_KEY, "RequireSecuritySignature"),
        cmdlet=SERVER_CMDLET,
        cmdlet_property="RequireSecuritySignature",
        smb1_only=False,
        cis="2.3.9.2",
        stig=_stig(
            windows_server_2019=("WN19-SO-000190", "V-205827"),
            windows_server_2022=("WN22-SO-000190", "V-254463"),
        ),
        cce="CCE-37864-6",
    ),
    Setting(
        name="server_enable",
        display_name="Microsoft network server: Digitally sign communications (if client agrees)",
        side="server",
        kind="signing",
        registry_key=SERVER_PARAMETERS_KEY,
        registry_value="EnableSecuritySignature",
        policy_registry_key=None,
        secedit_key=_secedit(SERVER_PARAMETERS_KEY, "EnableSecuritySignature"),
        cmdlet=SERVER_CMDLET,
        cmdlet_property="EnableSecuritySignature",
        smb1_only=True,
        cis="2.3.9.3",
        stig=_stig(
            windows_server_2019=("WN19-SO-000200", "V-205828"),
            windows_server_2022=("WN22-SO-000200", "V-254464"),
        ),
        cce="CCE-35988-5",
    ),
    Setting(
        name="client_require",
        display_name="Microsoft network client: Digitally sign communications (always)",
        side="client",
        kind="signing",
        registry_key=CLIENT_PARAMETERS_KEY,
        registry_value="RequireSecuritySignature",
        policy_registry_key=None,
        secedit_key=_secedit(CLIENT_PARAMETERS_KEY, "RequireSecuritySignature"),
        cmdlet=CLIENT_CMDLET,
        cmdlet_property="RequireSecuritySignature",
        smb1_only=False,
        cis="2.3.8.1",
        stig=_stig(
            windows_server_2019=("WN19-SO-000160", "V-205825"),
            windows_server_2022=("WN22-SO-000160", "V-254460"),
        ),
        cce="CCE-36325-9",
    ),
    Setting(
        name="client_enable",
        display_name="Microsoft network client: Digitally sign communications (if server agrees)",
        side="client",
        kind="signing",
        registry_key=CLIENT_PARAMETERS_KEY,
        registry_value="EnableSecuritySignature",
        policy_registry_key=None,
        secedit_key=_secedit(CLIENT_PARAMETERS_KEY, "EnableSecuritySignature"),
        cmdlet=CLIENT_CMDLET,
        cmdlet_property="EnableSecuritySignature",
        smb1_only=True,
        cis="2.3.8.2",
        stig=_stig(
            windows_server_2019=("WN19-SO-000170", "V-205826"),
            windows_server_2022=("WN22-SO-000170", "V-254461"),
        ),
        cce="CCE-36269-9",
    ),
    Setting(
        name="audit_unsigned_clients",
        display_name="Lanman Server: Audit client does not support signing",
        side="server",
        kind="audit",
        # The value name the cmdlet writes under Parameters is UNCONFIRMED; we assume it matches
        # the cmdlet property and read the cmdlet first (smb-signing-overview, auditing section).
        registry_key=SERVER_PARAMETERS_KEY,
        registry_value="AuditClientDoesNotSupportSigning",
        policy_registry_key=SERVER_POLICY_KEY,
        secedit_key=None,
        cmdlet=SERVER_CMDLET,
        cmdlet_property="AuditClientDoesNotSupportSigning",
        smb1_only=False,
        cis="18.6.7.2",
        stig=_stig(),
        # No source at hand gives a CCE id for the audit settings.
        cce=None,
        registry_value_unconfirmed=True,
    ),
    Setting(
        name="audit_unsigned_servers",
        display_name="Lanman Workstation: Audit server does not support signing",
        side="client",
        kind="audit",
        registry_key=CLIENT_PARAMETERS_KEY,
        registry_value="AuditServerDoesNotSupportSigning",
        policy_registry_key=CLIENT_POLICY_KEY,
        secedit_key=None,
        cmdlet=CLIENT_CMDLET,
        cmdlet_property="AuditServerDoesNotSupportSigning",
        smb1_only=False,
        cis="18.6.8.3",
        stig=_stig(),
        cce=None,
        registry_value_unconfirmed=True,
    ),
)

SETTING_NAMES: tuple[str, ...] = tuple(s.name for s in SETTINGS)

_BY_NAME: Mapping[str, Setting] = MappingProxyType({s.name: s for s in SETTINGS})


def setting(name: str) -> Setting:
    """Look a setting up by name; an unknown name raises ValueError listing the known ones."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(
            "unknown setting name {!r}; expected one of: {}".format(name, ", ".join(SETTING_NAMES))
        ) from None


def settings_for(side: str | None = None, kind: str | None = None) -> tuple[Setting, ...]:
    """The settings of one side and/or kind, in catalog order."""
    if side is not None and side not in SIDES:
        raise ValueError("side must be one of {}, got {!r}".format(", ".join(SIDES), side))
    if kind is not None and kind not in KINDS:
        raise ValueError("kind must be one of {}, got {!r}".format(", ".join(KINDS), kind))
    return tuple(
        s for s in SETTINGS if (side is None or s.side == side) and (kind is None or s.kind == kind)
    )
