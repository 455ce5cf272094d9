"""options.py: the typed task options and every check across options; an error names the
option."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict

import pytest
from unit.plugins.plugin_utils._engine.answers import NOW, enforce_options, facts_options

from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.errors import TaskFailed
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.options import (
    ENFORCE_ARGUMENT_SPEC,
    FACTS_ARGUMENT_SPEC,
    MAX_AUDIT_PEERS,
    AuditWindow,
    ProbeTarget,
    parse_audit_window,
    parse_options,
)


def fails(option: str, **kwargs: Any) -> TaskFailed:
    """The TaskFailed of enforce_options(**kwargs); its message starts with the option."""
    with pytest.raises(TaskFailed) as exc:
        enforce_options(**kwargs)
    assert exc.value.msg.startswith(option + ":"), exc.value.msg
    return exc.value


# --- defaults ----------------------------------------------------------------------------------


def test_enforce_defaults() -> None:
    o = enforce_options()
    assert o.baseline == "custom"  # win_smb_signing without a baseline writes only what it is given
    assert o.mode == "enforce"
    assert o.explicit == {}
    assert o.profiles == {}
    assert o.host_overrides == {}
    assert o.custom_baseline is None
    assert o.audit_window is None
    assert o.max_audit_peers == 50
    assert o.on_gpo_conflict == "warn"
    assert (o.enable_audit, o.require_clean_audit, o.verify, o.allow_weakening) == (
        False,
        False,
        False,
        False,
    )
    assert o.probe is None
    assert o.check_mode is False


def test_facts_defaults() -> None:
    o = facts_options()
    assert o.baseline == "cis"
    assert o.mode == "audit"
    assert o.may_write is False


def test_specs_share_the_common_options() -> None:
    for name in ("audit_window", "max_audit_peers", "probe", "probe_address", "probe_port"):
        assert name in FACTS_ARGUMENT_SPEC
        assert name in ENFORCE_ARGUMENT_SPEC
    assert "mode" not in FACTS_ARGUMENT_SPEC
    assert "server_require" in ENFORCE_ARGUMENT_SPEC
    assert "server_require" not in FACTS_ARGUMENT_SPEC


@pytest.mark.parametrize(
    ("args", "check_mode", "may_write"),
    [
        ({}, False, True),
        ({}, True, False),
        ({"mode": "audit"}, False, False),
        ({"mode": "audit", "enable_audit": True}, False, True),
        ({"mode": "audit", "enable_audit": True}, True, False),
    ],
)
def test_may_write(args: Dict[str, Any], check_mode: bool, may_write: bool) -> None:
    assert enforce_options(check_mode=check_mode, **args).may_write is may_write


# --- settings and baselines --------------------------------------------------------------------


def test_explicit_settings_keep_false() -> None:
    o = enforce_options(server_require=True, client_enable=False)
    assert o.explicit == {"server_require": True, "client_enable": False}


def test_custom_baseline_without_baseline_custom() -> None:
    fails("custom_baseline", baseline="cis", custom_baseline={"server_require": True})


def test_custom_baseline_with_baseline_custom() -> None:
    o = enforce_options(
        baseline="custom", custom_baseline={"server_require": True, "client_require": None}
    )
    assert o.custom_baseline == {"server_require": True}


@pytest.mark.parametrize(
    "custom", [{"server_requires": True}, {"server_require": "yes"}, ["server_require"]]
)
def test_custom_baseline_bad_values(custom: Any) -> None:
    fails("custom_baseline", baseline="custom", custom_baseline=custom)


def test_mode_audit_with_explicit_settings() -> None:
    err = fails("mode", mode="audit", server_require=True, client_require=False)
    assert "server_require, client_require" in err.msg


def test_unknown_profile() -> None:
    err = fails("profiles", profiles={"bogus": {"server_require": True}, "kiosk": None})
    assert "bogus, kiosk" in err.msg
    assert "member_server" in err.msg  # the known ones are listed


def test_profile_values_are_checked_naming_the_profile() -> None:
    fails("profiles.member_server", profiles={"member_server": {"server_require": 1}})


def test_profiles_and_host_overrides() -> None:
    o = enforce_options(
        profiles={
            "member_server": {"server_require": True, "client_require": None},
            "domain_controller": None,
        },
        host_overrides={"client_enable": False, "server_enable": None},
    )
    assert o.profiles == {"member_server": {"server_require": True}}
    assert o.host_overrides == {"client_enable": False}


def test_host_overrides_checked() -> None:
    fails("host_overrides", host_overrides={"nope": True})


# --- max_audit_peers ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, MAX_AUDIT_PEERS + 1])
def test_max_audit_peers_bounds(value: int) -> None:
    err = fails("max_audit_peers", max_audit_peers=value)
    assert f"got {value}" in err.msg


@pytest.mark.parametrize("value", [1, MAX_AUDIT_PEERS])
def test_max_audit_peers_limits_are_allowed(value: int) -> None:
    assert enforce_options(max_audit_peers=value).max_audit_peers == value


# --- audit_window ------------------------------------------------------------------------------


def test_require_clean_audit_defaults_to_a_week() -> None:
    o = enforce_options(require_clean_audit=True)
    assert o.audit_window is not None
    assert o.audit_window.text == "7d"
    assert o.audit_window.length == timedelta(days=7)
    assert o.audit_window.start == NOW - timedelta(days=7)
    assert o.audit_window.start_text == "2026-11-17T12:00:00Z"


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("45s", timedelta(seconds=45)),
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("7D", timedelta(days=7)),
        (" 2w ", timedelta(weeks=2)),
        ("0d", timedelta(0)),
    ],
)
def test_relative_windows(text: str, length: timedelta) -> None:
    w = parse_audit_window(text, NOW)
    assert w is not None
    assert w.length == length
    assert w.start == NOW - length
    assert w.text == text.strip()


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("2026-11-20T00:00:00Z", datetime(2026, 11, 20, tzinfo=timezone.utc)),
        ("2026-11-20T01:00:00+01:00", datetime(2026, 11, 20, tzinfo=timezone.utc)),
        ("2026-11-20T00:00:00", datetime(2026, 11, 20, tzinfo=timezone.utc)),
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=timezone.utc)),
    ],
)
def test_absolute_windows(text: str, start: datetime) -> None:
    w = parse_audit_window(text, NOW)
    assert w is not None
    assert w.start == start
    assert w.start.utcoffset() == timedelta(0)
    assert w.length is None
    assert w.start_text == "2026-11-20T00:00:00Z"


@pytest.mark.parametrize("text", [None, "", "   "])
def test_no_window(text: Any) -> None:
    assert parse_audit_window(text, NOW) is None


@pytest.mark.parametrize("text", ["7 days", "tomorrow", "7y", "-7d", "12345678d"])
def test_bad_window(text: str) -> None:
    err = fails("audit_window", audit_window=text)
    assert "ISO 8601" in err.msg
    assert repr(text) in err.msg


@pytest.mark.parametrize("text", ["2026-11-25T00:00:00Z", "2027-01-01"])
def test_window_in_the_future(text: str) -> None:
    err = fails("audit_window", audit_window=text)
    assert "in the future" in err.msg


@pytest.mark.parametrize("text", ["9999999d", "9999999w"])
def test_huge_window_is_a_clear_error(text: str) -> None:
    err = fails("audit_window", audit_window=text)
    assert "before the year 1" in err.msg


def test_long_window_within_the_calendar_is_allowed() -> None:
    # 9999999h is about 1141 years: the start is still a date.
    w = enforce_options(audit_window="9999999h").audit_window
    assert w is not None
    assert w.start == NOW - timedelta(hours=9999999)


def test_window_at_year_one_with_an_offset_is_a_clear_error() -> None:
    # In UTC it starts before the year 1: an option error, not an OverflowError.
    err = fails("audit_window", audit_window="0001-01-01T00:00:00+01:00")
    assert "before the year 1" in err.msg


def test_audit_window_start_text() -> None:
    w = AuditWindow("x", datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=timezone.utc), None)
    assert w.start_text == "2026-01-02T03:04:05Z"


# --- the probe ---------------------------------------------------------------------------------


def test_probe_defaults_to_the_host_address() -> None:
    assert enforce_options(probe=True).probe == ProbeTarget("host01", 445, 3.0)


def test_probe_options() -> None:
    o = enforce_options(probe=True, probe_address="10.0.0.9", probe_port=4445, probe_timeout=1.5)
    assert o.probe == ProbeTarget("10.0.0.9", 4445, 1.5)


def test_probe_off_needs_no_address() -> None:
    args = {name: spec.get("default") for name, spec in ENFORCE_ARGUMENT_SPEC.items()}
    args["probe"] = False
    o = parse_options(args, check_mode=False, default_probe_address=None, now=NOW)
    assert o.probe is None


def test_missing_probe_address() -> None:
    args = {name: spec.get("default") for name, spec in ENFORCE_ARGUMENT_SPEC.items()}
    with pytest.raises(TaskFailed) as exc:
        parse_options(args, check_mode=False, default_probe_address=None, now=NOW)
    assert exc.value.msg.startswith("probe_address:")
    with pytest.raises(TaskFailed, match=r"^probe_address:"):
        parse_options(args, check_mode=False, default_probe_address="", now=NOW)


@pytest.mark.parametrize("port", [0, -1, 65536])
def test_probe_port_bounds(port: int) -> None:
    err = fails("probe_port", probe=True, probe_port=port)
    assert f"got {port}" in err.msg


@pytest.mark.parametrize("port", [1, 65535])
def test_probe_port_limits_are_allowed(port: int) -> None:
    assert enforce_options(probe=True, probe_port=port).probe.port == port


@pytest.mark.parametrize("timeout", [0, -1.0, 60.01, float("nan")])
def test_probe_timeout_bounds(timeout: float) -> None:
    fails("probe_timeout", probe=True, probe_timeout=timeout)


def test_probe_timeout_limit_is_allowed() -> None:
    assert enforce_options(probe=True, probe_timeout=60).probe.timeout == 60.0


def test_probe_settings_are_not_checked_when_the_probe_is_off() -> None:
    assert enforce_options(probe=False, probe_port=0, probe_timeout=0).probe is None


# --- the error itself --------------------------------------------------------------------------


def test_task_failed_result() -> None:
    err = TaskFailed("host01: no", refused=["server_enable"], status="failed")
    assert str(err) == "host01: no"
    assert err.to_result() == {
        "refused": ["server_enable"],
        "status": "failed",
        "failed": True,
        "msg": "host01: no",
    }


@pytest.mark.parametrize("window", ["0s", "30m"])
def test_the_gate_refuses_a_window_shorter_than_an_hour(window: str) -> None:
    with pytest.raises(TaskFailed, match=r"^audit_window: '.*' is shorter than an hour"):
        enforce_options(require_clean_audit=True, audit_window=window)
    # Reading the events over a short window is fine.
    assert enforce_options(audit_window=window).audit_window is not None


def test_script_timeout_zero_is_an_error_naming_the_option() -> None:
    with pytest.raises(TaskFailed, match=r"^script_timeout: must be from 1 to 86400"):
        enforce_options(script_timeout=0)
