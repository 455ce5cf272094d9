"""pipeline.py: from a host's state to its assessment, with the profile the state shows."""

from __future__ import annotations

import pytest
from unit.plugins.plugin_utils._engine import answers
from unit.plugins.plugin_utils._engine.answers import ALL_ON, enforce_options, facts_options

from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.errors import TaskFailed
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.pipeline import assess_host


def test_targets_follow_the_profile_the_state_shows() -> None:
    options = facts_options(
        baseline="cis",
        profiles={"domain_controller": {"server_enable": False}},
    )
    dc = assess_host("dc01", options, answers.state(domain_role=5, settings=ALL_ON))
    member = assess_host("web01", options, answers.state(domain_role=3, settings=ALL_ON))
    assert dc.profile == "domain_controller"
    assert dc.settings["server_enable"].expected is False
    assert dc.settings["server_enable"].compliant is False
    assert member.profile == "member_server"
    assert member.settings["server_enable"].expected is True
    assert member.verdict.status == "compliant"


def test_window_start_reaches_the_audit_evidence() -> None:
    options = enforce_options(require_clean_audit=True)
    a = assess_host("host01", options, answers.state(events=answers.events()))
    assert a.audit is not None
    assert a.audit.window_start == "2026-11-17T12:00:00Z"


def test_no_window_no_audit_evidence() -> None:
    a = assess_host("host01", facts_options(), answers.state(events=answers.events()))
    assert a.audit is None


def test_baseline_and_settings_by_name() -> None:
    options = enforce_options(baseline="microsoft", client_enable=True)
    a = assess_host("host01", options, answers.state())
    assert a.baseline == "microsoft"
    assert a.settings["client_enable"].expected is True
    assert a.settings["server_enable"].expected is None


@pytest.mark.parametrize(
    ("knobs", "words"),
    [
        ({"domain_role": 7}, "domain_role"),
        (
            {"os": {"caption": "x", "version": "10.0", "build": 1, "product_type": "server"}},
            "product_type",
        ),
    ],
)
def test_a_host_the_collection_does_not_know_fails_naming_the_host(knobs, words: str) -> None:
    with pytest.raises(TaskFailed) as exc:
        assess_host("odd01", facts_options(), answers.state(**knobs))
    assert exc.value.msg.startswith("odd01: ")
    assert words in exc.value.msg
