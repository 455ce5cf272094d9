"""The policy default-values tables, every row, and the per-OS defaults."""

from __future__ import annotations

import pytest

from ansible_collections.winhardening.smb.plugins.module_utils.catalog import SETTING_NAMES
from ansible_collections.winhardening.smb.plugins.module_utils.defaults import (
    POLICY_DEFAULTS,
    SCOPES,
    explain_os_default,
    os_default,
    policy_default,
)
from ansible_collections.winhardening.smb.plugins.module_utils.domain_role import PROFILES
from ansible_collections.winhardening.smb.plugins.module_utils.os_info import OsInfo

# The seed page's "Default values" table for server_require, as printed there.
SEED_DEFAULTS = [
    ("Default Domain Policy", "Disabled"),
    ("Default Domain Controller Policy", "Enabled"),
    ("Stand-Alone Server Default Settings", "Disabled"),
    ("DC Effective Default Settings", "Enabled"),
    ("Member Server Effective Default Settings", "Disabled"),
    ("Client Computer Effective Default Settings", "Disabled"),
]

# The sibling pages' tables (client always; SMBv1 pages for the two "if agrees" settings).
SIBLING_DEFAULTS = {
    "client_require": ["Disabled"] * 6,
    "server_enable": [
        "Not defined",
        "Enabled",
        "Not defined",
        "Enabled",
        "Not defined",
        "Disabled",
    ],
    "client_enable": ["Not defined", "Not defined", "Enabled", "Enabled", "Enabled", "Enabled"],
}

_WORDS = {"Enabled": True, "Disabled": False, "Not defined": None}


@pytest.mark.parametrize(("scope", "word"), SEED_DEFAULTS)
def test_seed_default_row(scope: str, word: str) -> None:
    assert policy_default("server_require", scope) is _WORDS[word]
    row = next(r for r in POLICY_DEFAULTS["server_require"] if r.scope == scope)
    assert row.source.endswith("microsoft-network-server-digitally-sign-communications-always")


def test_seed_table_has_every_row_in_order() -> None:
    assert [r.scope for r in POLICY_DEFAULTS["server_require"]] == [s for s, _ in SEED_DEFAULTS]
    assert list(SCOPES) == [s for s, _ in SEED_DEFAULTS]


@pytest.mark.parametrize(
    ("name", "scope", "word"),
    [(n, scope, w) for n, words in SIBLING_DEFAULTS.items() for scope, w in zip(SCOPES, words)],
)
def test_sibling_default_row(name: str, scope: str, word: str) -> None:
    assert policy_default(name, scope) is _WORDS[word]


def test_policy_default_errors() -> None:
    with pytest.raises(ValueError, match="unknown scope 'Workgroup'"):
        policy_default("server_require", "Workgroup")
    with pytest.raises(ValueError, match="no policy default table"):
        policy_default("audit_unsigned_clients", SCOPES[0])
    with pytest.raises(ValueError, match="unknown setting name"):
        policy_default("nope", SCOPES[0])


def _os(build: int, product_type: int, edition: str) -> OsInfo:
    return OsInfo("c", f"10.0.{build}", build, product_type, edition, "")


WS2016 = _os(14393, 3, "ServerStandard")
WS2019 = _os(17763, 3, "ServerStandard")
WS2022 = _os(20348, 3, "ServerDatacenter")
WS2025 = _os(26100, 3, "ServerDatacenter")
WIN10 = _os(19045, 1, "Enterprise")
WIN11_23H2 = _os(22631, 1, "Professional")
WIN11_24H2_PRO = _os(26100, 1, "Professional")
WIN11_24H2_ENT = _os(26100, 1, "Enterprise")
WIN11_24H2_EDU = _os(26100, 1, "Education")
WIN11_24H2_HOME = _os(26100, 1, "Core")
UNKNOWN = _os(25398, 3, "ServerDatacenter")

PRE_24H2_SERVERS = [WS2016, WS2019, WS2022, UNKNOWN]
SERVER_PROFILES = ("standalone_server", "member_server")


@pytest.mark.parametrize("os_info", PRE_24H2_SERVERS, ids=lambda o: o.family + str(o.build))
@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        # server_require, server_enable, client_require, client_enable, audits
        ("domain_controller", (True, True, False, True, False, False)),
        ("member_server", (False, False, False, True, False, False)),
        ("standalone_server", (False, False, False, True, False, False)),
    ],
)
def test_pre_24h2_server_defaults(
    os_info: OsInfo, profile: str, expected: tuple[bool, ...]
) -> None:
    assert tuple(os_default(n, os_info, profile) for n in SETTING_NAMES) == expected


@pytest.mark.parametrize("os_info", [WIN10, WIN11_23H2, WIN11_24H2_HOME], ids=lambda o: o.family)
@pytest.mark.parametrize("profile", ["standalone_workstation", "member_workstation"])
def test_pre_24h2_and_home_workstation_defaults(os_info: OsInfo, profile: str) -> None:
    assert tuple(os_default(n, os_info, profile) for n in SETTING_NAMES) == (
        False,
        False,
        False,
        True,
        False,
        False,
    )


@pytest.mark.parametrize(
    "os_info", [WIN11_24H2_PRO, WIN11_24H2_ENT, WIN11_24H2_EDU], ids=lambda o: o.edition_id
)
@pytest.mark.parametrize("profile", ["standalone_workstation", "member_workstation"])
def test_24h2_pro_enterprise_education_require_both_ways(os_info: OsInfo, profile: str) -> None:
    assert os_default("client_require", os_info, profile) is True
    assert os_default("server_require", os_info, profile) is True
    assert os_default("audit_unsigned_clients", os_info, profile) is False
    assert "24H2" in explain_os_default("server_require", os_info, profile).reason


def test_24h2_unplaced_edition_assumes_no_protection() -> None:
    info = _os(26100, 1, "SE")
    assert os_default("server_require", info, "member_workstation") is False
    assert "other" in explain_os_default("server_require", info, "member_workstation").reason


@pytest.mark.parametrize("profile", SERVER_PROFILES)
def test_ws2025_requires_outbound_only(profile: str) -> None:
    assert os_default("client_require", WS2025, profile) is True
    # smb-signing.md and the blog: outbound only (smb-security-hardening.md disagrees).
    assert os_default("server_require", WS2025, profile) is False


def test_ws2025_domain_controller_requires_both() -> None:
    assert os_default("client_require", WS2025, "domain_controller") is True
    assert os_default("server_require", WS2025, "domain_controller") is True


@pytest.mark.parametrize("name", ["audit_unsigned_clients", "audit_unsigned_servers"])
@pytest.mark.parametrize("profile", PROFILES)
def test_audits_are_off_by_default(name: str, profile: str) -> None:
    assert os_default(name, WS2025, profile) is False


def test_unknown_build_says_so() -> None:
    assert (
        "unknown OS build" in explain_os_default("server_require", UNKNOWN, "member_server").reason
    )


def test_os_default_rejects_bad_names() -> None:
    with pytest.raises(ValueError, match="unknown setting name"):
        os_default("server", WS2022, "member_server")
    with pytest.raises(ValueError, match="unknown profile 'server'"):
        os_default("server_require", WS2022, "server")
