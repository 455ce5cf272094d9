# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Windows does when nothing has configured a setting: policy defaults and per-OS defaults.

Sources:
- POLICY_DEFAULTS: the "Default values" tables of the Microsoft policy pages
  (learn.microsoft.com/windows/security/threat-protection/security-policy-settings/...):
  microsoft-network-server-digitally-sign-communications-always (the seed page),
  microsoft-network-client-digitally-sign-communications-always,
  smbv1-microsoft-network-server-digitally-sign-communications-if-client-agrees and
  smbv1-microsoft-network-client-digitally-sign-communications-if-server-agrees.
  No such table exists for the two audit settings; KB5066913 (support.microsoft.com, "Support for
  Audit Events to deploy SMB Server hardening", 2025-09-09) says auditing is off by default.
- Windows 11 24H2: Pro, Enterprise and Education require outbound and inbound signing by default,
  Home requires neither ("Control SMB signing behavior", learn.microsoft.com/windows-server/
  storage/file-server/smb-signing, ms.date 10/25/2024).
- Windows Server 2025 requires outbound (client) signing only. Sources disagree here: smb-signing
  (above) and the Windows Server blog post "SMB security hardening in Windows Server 2025 &
  Windows 11" (techcommunity.microsoft.com, Ned Pyle) say outbound only, while
  "SMB security hardening" (learn.microsoft.com/windows-server/storage/file-server/
  smb-security-hardening) says "all outbound and inbound SMB connections are now required to be
  signed". We follow smb-signing, the page specific to signing, and so treat inbound signing on a
  WS2025 member or standalone server as not required (it still needs enforcing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ansible_collections.winhardening.smb.plugins.module_utils.catalog import setting
from ansible_collections.winhardening.smb.plugins.module_utils.domain_role import (
    DOMAIN_CONTROLLER,
    check_profile,
)
from ansible_collections.winhardening.smb.plugins.module_utils.os_info import OsInfo

DEFAULT_DOMAIN_POLICY = "Default Domain Policy"
DEFAULT_DC_POLICY = "Default Domain Controller Policy"
STANDALONE_SERVER_DEFAULT = "Stand-Alone Server Default Settings"
DC_EFFECTIVE_DEFAULT = "DC Effective Default Settings"
MEMBER_SERVER_EFFECTIVE_DEFAULT = "Member Server Effective Default Settings"
CLIENT_EFFECTIVE_DEFAULT = "Client Computer Effective Default Settings"

SCOPES = (
    DEFAULT_DOMAIN_POLICY,
    DEFAULT_DC_POLICY,
    STANDALONE_SERVER_DEFAULT,
    DC_EFFECTIVE_DEFAULT,
    MEMBER_SERVER_EFFECTIVE_DEFAULT,
    CLIENT_EFFECTIVE_DEFAULT,
)

_DOCS = "https://learn.microsoft.com/windows/security/threat-protection/security-policy-settings/"
SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "server_require": _DOCS + "microsoft-network-server-digitally-sign-communications-always",
        "client_require": _DOCS + "microsoft-network-client-digitally-sign-communications-always",
        "server_enable": _DOCS
        + "smbv1-microsoft-network-server-digitally-sign-communications-if-client-agrees",
        "client_enable": _DOCS
        + "smbv1-microsoft-network-client-digitally-sign-communications-if-server-agrees",
    }
)


@dataclass(frozen=True)
class PolicyDefault:
    """One row of a policy page's "Default values" table; value None means "Not defined"."""

    setting: str
    scope: str
    value: bool | None
    source: str


def _rows(name: str, *values: bool | None) -> tuple[PolicyDefault, ...]:
    return tuple(PolicyDefault(name, scope, v, SOURCES[name]) for scope, v in zip(SCOPES, values))


# Columns follow SCOPES: Default Domain Policy, Default DC Policy, Stand-Alone Server,
# DC Effective, Member Server Effective, Client Computer Effective.
POLICY_DEFAULTS: Mapping[str, tuple[PolicyDefault, ...]] = MappingProxyType(
    {
        "server_require": _rows("server_require", False, True, False, True, False, False),
        "client_require": _rows("client_require", False, False, False, False, False, False),
        "server_enable": _rows("server_enable", None, True, None, True, None, False),
        "client_enable": _rows("client_enable", None, None, True, True, True, True),
    }
)


def policy_default(setting_name: str, scope: str) -> bool | None:
    """One cell of POLICY_DEFAULTS; None for "Not defined"."""
    setting(setting_name)
    if setting_name not in POLICY_DEFAULTS:
        raise ValueError(f"no policy default table for setting {setting_name!r}")
    for row in POLICY_DEFAULTS[setting_name]:
        if row.scope == scope:
            return row.value
    raise ValueError("unknown scope {!r}; expected one of: {}".format(scope, ", ".join(SCOPES)))


@dataclass(frozen=True)
class OsDefault:
    value: bool
    reason: str


# Editions of Windows 11 24H2 that require signing both ways by default (smb-signing).
SIGNING_REQUIRED_24H2_EDITIONS = ("pro", "enterprise", "education")


def _pre_24h2(name: str, profile: str) -> OsDefault:
    """Defaults of WS2016-2022 and Windows 10/11 up to 23H2 (the policy tables above)."""
    is_dc = profile == DOMAIN_CONTROLLER
    if name in ("server_require", "server_enable"):
        if is_dc:
            return OsDefault(
                True, "enabled on domain controllers by the Default Domain Controllers Policy"
            )
        return OsDefault(False, f"disabled by default on {profile}")
    if name == "client_require":
        return OsDefault(False, "disabled by default")
    return OsDefault(True, "enabled by default")  # client_enable


def explain_os_default(setting_name: str, os_info: OsInfo, profile: str) -> OsDefault:
    """os_default with the reason it holds, for reports."""
    s = setting(setting_name)
    check_profile(profile)
    if s.kind == "audit":
        return OsDefault(False, "signing audit is off by default (KB5066913)")
    family = os_info.family
    if family == "windows_server_2025" and setting_name == "client_require":
        return OsDefault(True, "Windows Server 2025 requires outbound signing by default")
    if family == "windows_11_24h2" and setting_name in ("client_require", "server_require"):
        edition = os_info.edition_group
        if edition in SIGNING_REQUIRED_24H2_EDITIONS:
            return OsDefault(True, f"Windows 11 24H2 {edition} requires signing by default")
        # Home requires neither. An edition we cannot place ("other") is treated the same way,
        # so the collection never assumes protection it cannot show.
        base = _pre_24h2(setting_name, profile)
        return OsDefault(base.value, base.reason + f" (Windows 11 24H2 {edition} edition)")
    base = _pre_24h2(setting_name, profile)
    if family == "unknown":
        return OsDefault(base.value, base.reason + " (unknown OS build: pre-24H2 defaults)")
    return base


def os_default(setting_name: str, os_info: OsInfo, profile: str) -> bool:
    """What the OS does for a setting nothing has configured, on this release and profile."""
    return explain_os_default(setting_name, os_info, profile).value
