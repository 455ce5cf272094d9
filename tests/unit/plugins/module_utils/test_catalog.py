"""Catalog completeness: every setting carries every name and id the collection relies on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ansible_collections.winhardening.smb.plugins.module_utils.catalog import (
    SETTING_NAMES,
    SETTINGS,
    Setting,
    setting,
    settings_for,
)

# The names architecture.md fixes for every layer.
ARCHITECTURE_NAMES = (
    "server_require",
    "server_enable",
    "client_require",
    "client_enable",
    "audit_unsigned_clients",
    "audit_unsigned_servers",
)

EXPECTED_IDS = {
    # name: (cis, cce, WS2019 STIG, WS2022 STIG)
    "client_require": (
        "2.3.8.1",
        "CCE-36325-9",
        ("WN19-SO-000160", "V-205825"),
        ("WN22-SO-000160", "V-254460"),
    ),
    "client_enable": (
        "2.3.8.2",
        "CCE-36269-9",
        ("WN19-SO-000170", "V-205826"),
        ("WN22-SO-000170", "V-254461"),
    ),
    "server_require": (
        "2.3.9.2",
        "CCE-37864-6",
        ("WN19-SO-000190", "V-205827"),
        ("WN22-SO-000190", "V-254463"),
    ),
    "server_enable": (
        "2.3.9.3",
        "CCE-35988-5",
        ("WN19-SO-000200", "V-205828"),
        ("WN22-SO-000200", "V-254464"),
    ),
}


def test_names_match_architecture() -> None:
    assert set(SETTING_NAMES) == set(ARCHITECTURE_NAMES)
    assert len(SETTINGS) == len(set(SETTING_NAMES)) == 6


@pytest.mark.parametrize("s", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_complete(s: Setting) -> None:
    assert s.display_name
    assert s.side in ("server", "client")
    assert s.kind in ("signing", "audit")
    assert s.registry_key.startswith("HKLM\\SYSTEM\\CurrentControlSet\\Services\\")
    assert s.registry_key.endswith("\\Parameters")
    assert s.registry_value
    assert s.registry_path == s.registry_key + "\\" + s.registry_value
    assert s.cmdlet_property
    expected_cmdlet = (
        "Set-SmbServerConfiguration" if s.side == "server" else "Set-SmbClientConfiguration"
    )
    assert s.cmdlet == expected_cmdlet
    assert re.fullmatch(r"\d+(\.\d+)+", s.cis)
    service = "LanmanServer" if s.side == "server" else "LanmanWorkstation"
    assert f"\\{service}\\" in s.registry_key


@pytest.mark.parametrize("name", sorted(EXPECTED_IDS))
def test_signing_setting_ids(name: str) -> None:
    cis, cce, stig19, stig22 = EXPECTED_IDS[name]
    s = setting(name)
    assert s.cis == cis
    assert s.cce == cce
    assert (s.stig["windows_server_2019"].rule_id, s.stig["windows_server_2019"].v_id) == stig19
    assert (s.stig["windows_server_2022"].rule_id, s.stig["windows_server_2022"].v_id) == stig22


@pytest.mark.parametrize("s", settings_for(kind="signing"), ids=lambda s: s.name)
def test_signing_settings_have_secedit_keys_and_no_policy_key(s: Setting) -> None:
    assert (
        s.secedit_key
        == "MACHINE\\System\\CurrentControlSet\\Services\\"
        + ("LanManServer" if s.side == "server" else "LanmanWorkstation")
        + "\\Parameters\\"
        + s.registry_value
    )
    assert s.policy_registry_key is None
    assert s.cmdlet_property == s.registry_value
    assert s.registry_value in ("RequireSecuritySignature", "EnableSecuritySignature")
    # Microsoft: the "(if ... agrees)" policies and EnableSecuritySignature only affect SMB1.
    assert s.smb1_only is (s.registry_value == "EnableSecuritySignature")
    assert s.smb1_only is ("agrees" in s.display_name)


def test_seed_secedit_key() -> None:
    assert (
        setting("server_require").secedit_key
        == "MACHINE\\System\\CurrentControlSet\\Services\\LanManServer\\Parameters\\"
        "RequireSecuritySignature"
    )


@pytest.mark.parametrize(
    ("name", "cis", "policy_key", "value"),
    [
        (
            "audit_unsigned_clients",
            "18.6.7.2",
            "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanServer",
            "AuditClientDoesNotSupportSigning",
        ),
        (
            "audit_unsigned_servers",
            "18.6.8.3",
            "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanWorkstation",
            "AuditServerDoesNotSupportSigning",
        ),
    ],
)
def test_audit_settings(name: str, cis: str, policy_key: str, value: str) -> None:
    s = setting(name)
    assert s.kind == "audit"
    assert s.cis == cis
    assert s.policy_registry_key == policy_key
    assert s.cmdlet_property == value
    assert s.secedit_key is None
    assert s.cce is None
    assert not s.smb1_only
    assert s.registry_value_unconfirmed


def test_sides() -> None:
    assert [s.name for s in settings_for(side="server")] == [
        "server_require",
        "server_enable",
        "audit_unsigned_clients",
    ]
    assert [s.name for s in settings_for(side="client", kind="signing")] == [
        "client_require",
        "client_enable",
    ]


@pytest.mark.parametrize(("side", "kind"), [("both", None), (None, "policy")])
def test_settings_for_rejects_unknown_filters(side: str | None, kind: str | None) -> None:
    with pytest.raises(ValueError, match="must be one of"):
        settings_for(side=side, kind=kind)


def test_unknown_setting_names_the_name() -> None:
    with pytest.raises(ValueError, match=r"'server_required'.*server_require"):
        setting("server_required")


def test_settings_are_immutable() -> None:
    s = setting("server_require")
    with pytest.raises(AttributeError):
        s.cis = "0"  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.stig["windows_server_2019"] = s.stig["windows_server_2022"]  # type: ignore[index]


SETTINGS_DOC = Path(__file__).resolve().parents[4] / "docs" / "reference" / "settings.md"


def _doc_rows() -> dict[str, list[str]]:
    """Table rows of docs/reference/settings.md whose first cell is a setting name, by name."""
    rows: dict[str, list[str]] = {}
    for line in SETTINGS_DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `(\w+)` \|", line)
        if match:
            rows.setdefault(match.group(1), []).append(line)
    return rows


@pytest.mark.skipif(
    not SETTINGS_DOC.exists(), reason="docs/ is not shipped in the built collection"
)
@pytest.mark.parametrize("s", SETTINGS, ids=lambda s: s.name)
def test_reference_doc_agrees_with_catalog(s: Setting) -> None:
    rows = _doc_rows()[s.name]
    assert len(rows) == 2, "one row in each of the two setting tables"
    where, ids = rows
    assert s.display_name in where
    assert s.registry_path.removeprefix("HKLM\\") in where
    assert f"{s.cmdlet} -{s.cmdlet_property}" in where
    assert ("| yes |" if s.smb1_only else "| no |") in where
    if s.secedit_key is not None:
        assert s.secedit_key in where
    if s.policy_registry_key is not None:
        assert (s.policy_registry_key + "\\" + s.registry_value).removeprefix("HKLM\\") in where
    assert f"| {s.cis} " in ids
    for rule in s.stig.values():
        assert f"{rule.rule_id} / {rule.v_id}" in ids
    if s.cce is not None:
        assert s.cce in ids
