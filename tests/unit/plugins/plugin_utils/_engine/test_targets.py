"""targets.py: baseline, then the profile's values, the host's, and the settings given by name."""

from __future__ import annotations

from dataclasses import replace

import pytest
from unit.plugins.plugin_utils._engine.answers import KEYS, enforce_options, facts_options

from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.errors import TaskFailed
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.targets import targets_for


def test_cis_sets_all_six() -> None:
    t = targets_for(facts_options(baseline="cis"), "member_server", "host01")
    assert t == {name: True for name in KEYS}


def test_stig_leaves_the_audits_unset() -> None:
    t = targets_for(facts_options(baseline="stig"), "domain_controller", "host01")
    assert t["audit_unsigned_clients"] is None
    assert t["audit_unsigned_servers"] is None
    assert t["server_require"] is True
    assert t["client_enable"] is True


def test_microsoft_sets_only_the_always_settings() -> None:
    t = targets_for(facts_options(baseline="microsoft"), "member_server", "host01")
    assert {n for n, v in t.items() if v is not None} == {"server_require", "client_require"}


def test_custom_sets_only_what_it_is_given() -> None:
    o = enforce_options(baseline="custom", custom_baseline={"client_require": True})
    t = targets_for(o, "member_server", "host01")
    assert t == {
        "server_require": None,
        "server_enable": None,
        "client_require": True,
        "client_enable": None,
        "audit_unsigned_clients": None,
        "audit_unsigned_servers": None,
    }


def test_layers_in_order_and_a_null_keeps_the_value_under_it() -> None:
    o = enforce_options(
        baseline="stig",
        profiles={
            "member_server": {"client_require": False, "server_require": None},
            "domain_controller": {"server_enable": False},
        },
        host_overrides={"client_enable": False, "server_enable": None},
        server_enable=False,
        allow_weakening=True,
    )
    t = targets_for(o, "member_server", "host01")
    assert t["client_require"] is False  # the profile's value over stig's
    assert t["server_require"] is True  # a null profile value keeps stig's
    assert t["client_enable"] is False  # the host's value
    assert t["server_enable"] is False  # by name, over the null host value and stig
    assert t["audit_unsigned_clients"] is None


def test_another_profile_s_values_do_not_apply() -> None:
    o = enforce_options(baseline="cis", profiles={"domain_controller": {"server_enable": False}})
    assert targets_for(o, "member_server", "host01")["server_enable"] is True
    assert targets_for(o, "domain_controller", "host01")["server_enable"] is False


def test_settings_by_name_outrank_host_overrides() -> None:
    o = enforce_options(
        baseline="cis", host_overrides={"server_require": False}, server_require=True
    )
    assert targets_for(o, "member_server", "host01")["server_require"] is True


def test_unknown_baseline_names_the_host_and_the_option() -> None:
    o = replace(facts_options(), baseline="nist")
    with pytest.raises(TaskFailed, match=r"^host01: baseline: unknown baseline 'nist'"):
        targets_for(o, "member_server", "host01")


def test_bad_baseline_with_custom_values_names_custom_baseline() -> None:
    o = replace(facts_options(), baseline="nist", custom_baseline={"server_require": True})
    with pytest.raises(TaskFailed, match=r"^web02: custom_baseline: "):
        targets_for(o, "member_server", "web02")


def test_targets_are_a_fresh_dict() -> None:
    o = facts_options(baseline="cis")
    t = targets_for(o, "member_server", "host01")
    t["server_require"] = False
    assert targets_for(o, "member_server", "host01")["server_require"] is True
