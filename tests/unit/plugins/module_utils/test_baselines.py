"""Baselines: desired values per setting and profile, and custom-value validation."""

from __future__ import annotations

import pytest

from ansible_collections.winhardening.smb.plugins.module_utils.baselines import (
    BASELINES,
    desired_values,
    validate_custom,
)
from ansible_collections.winhardening.smb.plugins.module_utils.catalog import SETTING_NAMES
from ansible_collections.winhardening.smb.plugins.module_utils.domain_role import PROFILES

SIGNING = ("server_require", "server_enable", "client_require", "client_enable")
AUDITS = ("audit_unsigned_clients", "audit_unsigned_servers")


def test_the_four_baselines_exist() -> None:
    assert set(BASELINES) == {"cis", "stig", "microsoft", "custom"}


@pytest.mark.parametrize("profile", PROFILES)
def test_cis(profile: str) -> None:
    values = desired_values("cis", profile)
    assert all(values[n] is True for n in SIGNING)  # 2.3.8.1, 2.3.8.2, 2.3.9.2, 2.3.9.3
    assert all(values[n] is True for n in AUDITS)  # 18.6.7.2, 18.6.8.3


@pytest.mark.parametrize("profile", PROFILES)
def test_stig(profile: str) -> None:
    values = desired_values("stig", profile)
    assert all(values[n] is True for n in SIGNING)
    assert all(values[n] is None for n in AUDITS)


@pytest.mark.parametrize("profile", PROFILES)
def test_microsoft_sets_only_the_always_settings(profile: str) -> None:
    assert desired_values("microsoft", profile) == {
        "server_require": True,
        "server_enable": None,
        "client_require": True,
        "client_enable": None,
        "audit_unsigned_clients": None,
        "audit_unsigned_servers": None,
    }


def test_custom_alone_sets_only_what_is_given() -> None:
    values = desired_values(
        "custom", "member_server", {"server_require": True, "client_enable": False}
    )
    assert values == {
        "server_require": True,
        "server_enable": None,
        "client_require": None,
        "client_enable": False,
        "audit_unsigned_clients": None,
        "audit_unsigned_servers": None,
    }


def test_custom_overrides_a_baseline_and_none_keeps_it() -> None:
    values = desired_values(
        "cis", "member_server", {"client_enable": False, "server_require": None}
    )
    assert values["client_enable"] is False
    assert values["server_require"] is True


def test_every_result_has_every_setting() -> None:
    for name in BASELINES:
        assert list(desired_values(name, "member_server")) == list(SETTING_NAMES)


def test_unknown_names_are_named() -> None:
    with pytest.raises(ValueError, match="unknown setting names: require_signing, server"):
        validate_custom({"server": True, "require_signing": True, "server_require": True})


@pytest.mark.parametrize("bad", ["yes", 1, 0, "true"])
def test_non_bool_values_are_named(bad: object) -> None:
    with pytest.raises(ValueError, match="client_require=" + repr(bad).replace("'", ".")):
        desired_values("custom", "member_server", {"client_require": bad})


def test_custom_must_be_a_mapping() -> None:
    with pytest.raises(ValueError, match="must be a mapping"):
        validate_custom([("server_require", True)])  # type: ignore[arg-type]


def test_unknown_baseline_and_profile() -> None:
    with pytest.raises(ValueError, match="unknown baseline 'nist'"):
        desired_values("nist", "member_server")
    with pytest.raises(ValueError, match="unknown profile 'server'"):
        desired_values("cis", "server")


def test_baseline_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        BASELINES["cis"].values["server_require"] = False  # type: ignore[index]
    # desired_values hands out a copy the caller may change freely.
    values = desired_values("cis", "member_server")
    values["server_require"] = False
    assert desired_values("cis", "member_server")["server_require"] is True
