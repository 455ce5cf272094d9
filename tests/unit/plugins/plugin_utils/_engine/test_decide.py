"""decide.py: from an assessment and the targets to the writes, refusals, gate and warnings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, Optional

import pytest
from unit.plugins.plugin_utils._engine import answers
from unit.plugins.plugin_utils._engine.answers import ALL_ON, CIS, NOW, assessed, enforce_options

from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.assess import assess
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.decide import (
    Decision,
    decide,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.errors import TaskFailed
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.read import TargetState
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.waivers import waivers_for

OLD_MARKER = "2026-11-01T08:00:00.0000000Z"
ALL_OFF = {name: False for name in ALL_ON}


def run(
    host_knobs: Optional[Dict[str, Any]] = None,
    targets: Optional[Dict[str, Optional[bool]]] = None,
    **option_args: Any,
) -> Decision:
    options = enforce_options(**option_args)
    window = options.audit_window
    a = assessed(
        targets=CIS if targets is None else targets,
        window_start=window.start_text if window else None,
        **(host_knobs or {}),
    )
    return decide("host01", a, options, CIS if targets is None else targets, now=NOW)


def names(decision: Decision) -> list:
    return [c.name for c in decision.changes]


# --- what to write -----------------------------------------------------------------------------


def test_changes_in_apply_order_and_the_apply_request() -> None:
    d = run({"settings": {**ALL_OFF, "client_enable": True}}, baseline="cis")
    assert names(d) == [
        "audit_unsigned_clients",
        "audit_unsigned_servers",
        "server_enable",
        "client_require",
        "server_require",
    ]
    assert all(c.before is False and c.after is True for c in d.changes)
    request = d.apply_request()
    assert request == {
        "server": {
            "AuditClientDoesNotSupportSigning": True,
            "EnableSecuritySignature": True,
            "RequireSecuritySignature": True,
        },
        "client": {"AuditServerDoesNotSupportSigning": True, "RequireSecuritySignature": True},
        "sync_marker": "set",  # auditing ends up on and the host has no record of since when
    }
    # Audits first, the server's requirement last.
    assert list(request["server"]) == [
        "AuditClientDoesNotSupportSigning",
        "EnableSecuritySignature",
        "RequireSecuritySignature",
    ]
    assert d.writes
    assert d.gate is None
    assert d.contested == ()
    assert d.warnings == ()


def test_nothing_to_do() -> None:
    d = run({"settings": ALL_ON, "marker": OLD_MARKER}, baseline="cis")
    assert d.changes == ()
    assert d.sync_marker is None
    assert d.writes is False
    assert d.apply_request() == {"sync_marker": None}


def test_desired_holds_every_setting() -> None:
    d = run({"settings": ALL_ON}, targets={"server_require": True})
    assert set(d.desired) == set(answers.KEYS)
    assert d.desired["server_require"] is True
    assert d.desired["client_require"] is None


# --- settings the host cannot write ------------------------------------------------------------


def test_explicit_unwritable_setting_fails_naming_the_parameter() -> None:
    with pytest.raises(TaskFailed) as exc:
        run(
            {"audit_parameters": False},
            targets={"audit_unsigned_clients": True},
            audit_unsigned_clients=True,
        )
    assert "-AuditClientDoesNotSupportSigning" in exc.value.msg
    assert "Set-SmbServerConfiguration" in exc.value.msg
    assert exc.value.msg.startswith("host01: audit_unsigned_clients")
    assert exc.value.result["unsupported"] == ["audit_unsigned_clients"]


def test_baseline_unwritable_setting_is_skipped_with_a_warning() -> None:
    d = run({"audit_parameters": False, "settings": ALL_OFF}, baseline="cis")
    assert "audit_unsigned_clients" not in names(d)
    assert "audit_unsigned_servers" not in names(d)
    assert "server_require" in names(d)
    assert d.desired["audit_unsigned_clients"] is None
    assert len(d.warnings) == 2
    assert "skipping audit_unsigned_clients from baseline cis" in d.warnings[0]
    assert "-AuditClientDoesNotSupportSigning" in d.warnings[0]
    assert "skipping audit_unsigned_servers" in d.warnings[1]


def test_kb5066913_policy_only_host_is_not_written() -> None:
    # Auditing off by policy, no cmdlet parameter: supported, but the collection cannot write it.
    d = run(
        {
            "audit_parameters": False,
            "registry_values": {"server_policy": {answers.SERVER_AUDIT: 0}},
        },
        baseline="cis",
    )
    assert "audit_unsigned_clients" not in names(d)
    assert any("skipping audit_unsigned_clients" in w for w in d.warnings)


def test_enable_audit_writes_only_the_audit_parameters_the_host_has() -> None:
    d = run(
        {
            "parameters": {"server": [answers.SERVER_AUDIT], "client": []},
            "client_config": {answers.CLIENT_AUDIT: answers.ABSENT},
        },
        mode="audit",
        enable_audit=True,
    )
    assert names(d) == ["audit_unsigned_clients"]
    assert d.warnings == ()


# --- weakening ---------------------------------------------------------------------------------


def test_weakening_is_refused_and_nothing_is_written() -> None:
    with pytest.raises(TaskFailed) as exc:
        run({"settings": ALL_ON}, targets={"server_enable": False, "client_require": True})
    assert exc.value.result["refused"] == ["server_enable"]
    assert "allow_weakening" in exc.value.msg
    assert "Nothing was written" in exc.value.msg


def test_weakening_with_allow_weakening() -> None:
    d = run({"settings": ALL_ON}, targets={"server_enable": False}, allow_weakening=True)
    (change,) = d.changes
    assert (change.name, change.before, change.after) == ("server_enable", True, False)
    assert d.apply_request()["server"] == {"EnableSecuritySignature": False}


# --- GPO-owned and unknown-owner settings ------------------------------------------------------

GPO_HOST = {
    "settings": {"server_require": False, "client_require": True},
    "rsop_entries": [answers.rsop_value("server_require", "Server baseline", "{G1}")],
}
UNKNOWN_HOST = {
    "settings": {"server_require": False},
    "rsop_available": False,
    "rsop_error": "Access denied",
}


@pytest.mark.parametrize(
    ("host", "words"),
    [
        (GPO_HOST, ["owned by GPO Server baseline {G1}"]),
        (UNKNOWN_HOST, ["owner unknown", "RSoP could not be read: Access denied"]),
    ],
    ids=["gpo", "unknown"],
)
def test_contested_change_with_fail_refuses_and_writes_nothing(host, words) -> None:
    with pytest.raises(TaskFailed) as exc:
        run(host, targets={"server_require": True}, on_gpo_conflict="fail")
    assert exc.value.result["gpo_owned"] == ["server_require"]
    assert "Nothing was written" in exc.value.msg
    for word in words:
        assert word in exc.value.msg


@pytest.mark.parametrize(
    ("host", "words"),
    [
        (GPO_HOST, ["owned by GPO Server baseline {G1}"]),
        (UNKNOWN_HOST, ["owner unknown", "Access denied"]),
    ],
    ids=["gpo", "unknown"],
)
def test_contested_change_with_warn_is_written_with_a_warning(host, words) -> None:
    d = run(host, targets={"server_require": True}, on_gpo_conflict="warn")
    assert names(d) == ["server_require"]
    assert d.contested == ("server_require",)
    (warning,) = d.warnings
    assert warning.startswith("host01: changing settings a GPO owns or may own")
    assert "about every 90 minutes" in warning  # a member server
    for word in words:
        assert word in warning


def test_contested_change_on_a_domain_controller_names_its_refresh() -> None:
    d = run({**GPO_HOST, "domain_role": 5}, targets={"server_require": True})
    assert "about every 5 minutes on domain controllers" in d.warnings[0]


@pytest.mark.parametrize("host", [GPO_HOST, UNKNOWN_HOST], ids=["gpo", "unknown"])
def test_contested_change_with_ignore_is_written_silently(host) -> None:
    d = run(host, targets={"server_require": True}, on_gpo_conflict="ignore")
    assert names(d) == ["server_require"]
    assert d.contested == ("server_require",)
    assert d.warnings == ()


def test_a_gpo_owned_setting_that_needs_no_change_is_not_contested() -> None:
    d = run(GPO_HOST, targets={"client_require": True}, on_gpo_conflict="fail")
    assert d.changes == ()
    assert d.contested == ()


def test_unknown_owner_of_a_default_value_is_no_conflict() -> None:
    # Nothing stored: the owner is the default even without RSoP, so no GPO is in the way.
    d = run(
        {"store": False, "rsop_available": False, "rsop_error": "Access denied"},
        targets={"server_require": True},
        on_gpo_conflict="fail",
    )
    assert names(d) == ["server_require"]
    assert d.contested == ()


# --- the gate ----------------------------------------------------------------------------------

AUDITED = {
    "settings": {**ALL_OFF, "audit_unsigned_clients": True, "audit_unsigned_servers": True},
    "events": answers.events(),
    "marker": OLD_MARKER,
}


def test_gate_open_requires_server_signing() -> None:
    d = run(AUDITED, baseline="cis", require_clean_audit=True)
    assert d.gate is None
    assert "server_require" in names(d)


def test_gate_closed_withholds_only_server_require() -> None:
    host = {**AUDITED, "events": answers.events(server=answers.log(peers=[("10.0.0.5", 3)]))}
    d = run(host, baseline="cis", require_clean_audit=True)
    assert d.gate is not None
    assert "10.0.0.5 (3 events)" in d.gate.reason
    assert d.desired["server_require"] is None
    assert names(d) == ["server_enable", "client_enable", "client_require"]
    assert "RequireSecuritySignature" not in d.apply_request()["server"]
    assert d.apply_request()["client"] == {
        "EnableSecuritySignature": True,
        "RequireSecuritySignature": True,
    }


def test_gate_not_asked_without_require_clean_audit() -> None:
    host = {**AUDITED, "events": answers.events(server=answers.log(peers=[("10.0.0.5", 3)]))}
    d = run(host, baseline="cis")
    assert d.gate is None
    assert "server_require" in names(d)


def test_gate_not_asked_when_server_signing_is_already_required() -> None:
    host = {**AUDITED, "settings": {**AUDITED["settings"], "server_require": True}, "marker": None}
    d = run(host, baseline="cis", require_clean_audit=True)
    assert d.gate is None


def test_gate_while_this_run_turns_auditing_on() -> None:
    host = {"settings": ALL_OFF, "events": answers.events(), "marker": None}
    d = run(host, baseline="cis", require_clean_audit=True)
    assert d.gate is not None
    assert d.gate.opens_at == "2026-12-01T12:00:00Z"  # NOW + the default 7d window
    assert "this run turns it on" in d.gate.reason
    assert "audit_unsigned_clients" in names(d)
    assert "server_require" not in names(d)
    assert d.sync_marker == "set"


def test_enforce_run_twice_right_after_enabling_auditing_stays_blocked() -> None:
    options = enforce_options(baseline="cis", require_clean_audit=True)
    state = answers.state(settings=ALL_OFF, events=answers.events(), marker=None)
    first = _decide_state(state, options)
    assert first.gate is not None
    assert first.sync_marker == "set"

    # The write turns auditing on and records the time (apply v2's sync_marker).
    written = {c.name: c.after for c in first.changes}
    outcome = answers.outcome(
        settings={**ALL_OFF, **written}, marker="2026-11-24T12:00:01.0000000Z"
    )
    after = state.after_write(outcome)
    assert after.audit_on_since == "2026-11-24T12:00:01.0000000Z"

    later = NOW + timedelta(seconds=30)
    second_options = enforce_options(baseline="cis", require_clean_audit=True, now=later)
    second = _decide_state(after, second_options, now=later)
    assert second.gate is not None
    assert second.gate.opens_at == "2026-12-01T12:00:01Z"
    assert "server_require" not in names(second)
    assert second.sync_marker is None  # the record stands


def _decide_state(state: TargetState, options, now=NOW) -> Decision:
    a = assess(state, baseline="cis", targets=CIS, window_start=options.audit_window.start_text)
    return decide("host01", a, options, CIS, now=now)


# --- sync_marker -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audit_on", "marker", "options", "expected"),
    [
        pytest.param(True, None, {}, "set", id="on-no-marker"),
        pytest.param(False, OLD_MARKER, {}, "clear", id="off-with-marker"),
        pytest.param(True, OLD_MARKER, {}, None, id="on-with-marker"),
        pytest.param(False, None, {}, None, id="off-no-marker"),
        pytest.param(True, None, {"check_mode": True}, None, id="check-mode"),
        pytest.param(False, OLD_MARKER, {"check_mode": True}, None, id="check-mode-off"),
        pytest.param(True, None, {"mode": "audit"}, None, id="audit-mode"),
        pytest.param(False, OLD_MARKER, {"mode": "audit"}, None, id="audit-mode-off"),
        pytest.param(True, None, {"mode": "audit", "enable_audit": True}, "set", id="enable-audit"),
    ],
)
def test_sync_marker(
    audit_on: bool, marker: Optional[str], options: dict, expected: Optional[str]
) -> None:
    # The targets leave the audit settings alone: only the record is in question.
    d = run(
        {"settings": {**ALL_ON, "audit_unsigned_clients": audit_on}, "marker": marker},
        targets={"server_require": True, "client_require": True},
        **options,
    )
    assert d.changes == ()
    assert d.sync_marker == expected
    assert d.writes is (expected is not None)
    assert d.apply_request() == {"sync_marker": expected}


def test_sync_marker_follows_the_planned_audit_value() -> None:
    # Auditing is on with a record; this run turns it off (weakening allowed): the record goes.
    d = run(
        {"settings": ALL_ON, "marker": OLD_MARKER},
        targets={"audit_unsigned_clients": False},
        allow_weakening=True,
    )
    assert names(d) == ["audit_unsigned_clients"]
    assert d.sync_marker == "clear"
    # This run turns it on where there is no record: the record is written.
    d = run({"settings": ALL_OFF}, targets={"audit_unsigned_clients": True})
    assert names(d) == ["audit_unsigned_clients"]
    assert d.sync_marker == "set"


def test_client_side_auditing_does_not_touch_the_record() -> None:
    # The record is about server-side auditing (AuditClientDoesNotSupportSigning) only.
    d = run(
        {"settings": {**ALL_OFF, "audit_unsigned_servers": False}, "marker": None},
        targets={"audit_unsigned_servers": True},
    )
    assert names(d) == ["audit_unsigned_servers"]
    assert d.sync_marker is None


def test_sync_marker_only_write_is_a_write() -> None:
    d = run({"settings": ALL_ON, "marker": None}, targets={})
    assert d.changes == ()
    assert d.writes is True
    assert d.apply_request() == {"sync_marker": "set"}


def test_planned_writes_for_check_mode() -> None:
    d = run(
        {"settings": {**ALL_ON, "server_enable": False, "client_require": False}}, baseline="cis"
    )
    assert d.planned_writes() == [
        ("server", "EnableSecuritySignature", True),
        ("client", "RequireSecuritySignature", True),
    ]


# --- the record while a policy value keeps auditing off ----------------------------------------

POLICY_OFF = {
    "settings": {**ALL_ON, "audit_unsigned_clients": False, "server_require": False},
    "registry_values": {"server_policy": {answers.SERVER_AUDIT: 0}},
    "rsop_entries": [answers.rsop_policy("audit_unsigned_clients", "SMB audit off", "{P0}")],
    "events": answers.events(),
    "marker": None,
}


def test_a_write_under_a_policy_value_is_contested() -> None:
    d = run(POLICY_OFF, baseline="cis", require_clean_audit=True)
    assert names(d) == ["audit_unsigned_clients"]
    assert d.contested == ("audit_unsigned_clients",)
    assert "owned by GPO SMB audit off {P0}" in d.warnings[0]
    assert d.gate is not None


def test_no_record_while_a_policy_value_keeps_auditing_off() -> None:
    d = run(POLICY_OFF, baseline="cis", require_clean_audit=True)
    assert d.sync_marker != "set"


def test_a_record_found_with_auditing_off_is_cleared_even_when_this_run_turns_it_on() -> None:
    # The record said "on since October"; auditing is off now, so that is no longer true. The
    # run that turns it back on clears the record, and the next run records afresh: two
    # enforce runs in a row cannot open the gate on the old record.
    off = {**ALL_ON, "audit_unsigned_clients": False}
    d = run(host_knobs={"settings": off, "marker": "2026-10-01T00:00:00Z"}, targets=CIS)
    assert "audit_unsigned_clients" in names(d)
    assert d.sync_marker == "clear"


def test_rollback_leaves_a_setting_a_gpo_now_owns_alone() -> None:
    knobs = {
        "settings": ALL_ON,
        "rsop_entries": [answers.rsop_value("server_require", gpo_name="Tier0")],
    }
    d = run(
        host_knobs=knobs,
        targets={},
        rollback={"server_require": {"from": True, "to": False}},
        allow_weakening=True,
    )
    assert names(d) == []
    (left,) = d.left_alone
    assert left.startswith("server_require (changed since; left alone: now owned by GPO Tier0")


def test_a_waived_setting_set_by_name_is_written_with_a_warning() -> None:
    waiver = {
        "hosts": ["host01"],
        "settings": ["server_require"],
        "owner": "facilities",
        "justification": "scanner",
        "expires": (NOW + timedelta(days=30)).date().isoformat(),
    }
    options = enforce_options(server_require=True, waivers=[waiver])
    applied = waivers_for("host01", options.waivers, options.today, 14)
    a = assess(
        answers.state(settings={**ALL_ON, "server_require": False}),
        baseline="cis",
        targets=CIS,
        waivers=applied,
    )
    d = decide("host01", a, options, CIS, now=NOW)
    assert "server_require" in names(d)
    assert any("is under waiver 0" in w and "written as asked" in w for w in d.warnings)
