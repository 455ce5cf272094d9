"""gate.py: the audit-first gate opens only on evidence that auditing has been on, with a
readable and empty server log, for the whole window."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import pytest
from unit.plugins.plugin_utils._engine import answers
from unit.plugins.plugin_utils._engine.answers import NOW, assessed

from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.gate import (
    GateClosed,
    check_gate,
    parse_time,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.options import (
    AuditWindow,
    parse_audit_window,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.read import PeerCount

WEEK = parse_audit_window("7d", NOW)
WINDOW_START = "2026-11-17T12:00:00Z"  # NOW - 7 days
ABSOLUTE = parse_audit_window("2026-11-10T00:00:00Z", NOW)
OLD_MARKER = "2026-11-01T08:00:00.0000000Z"


def audited(
    *,
    audit: Optional[bool] = True,
    server_log: Optional[dict] = None,
    client_log: Optional[dict] = None,
    marker: Optional[str] = OLD_MARKER,
    window: AuditWindow = WEEK,
    read_events: bool = True,
    **knobs: Any,
):
    """A host with server-side auditing as given (None: the host has no such setting), the
    audit logs as given (empty and readable by default) and an old marker."""
    settings = {} if audit is None else {"audit_unsigned_clients": audit}
    return assessed(
        settings=settings,
        audit_parameters=audit is not None,
        events=answers.events(server=server_log, client=client_log) if read_events else None,
        marker=marker,
        window_start=window.start_text,
        **knobs,
    )


def gate(assessment, window: AuditWindow = WEEK, turns_on: bool = False, now: datetime = NOW):
    return check_gate("host01", assessment, window, turns_auditing_on=turns_on, now=now)


def test_window_under_test() -> None:
    assert WEEK.start_text == WINDOW_START
    assert WEEK.length == timedelta(days=7)
    assert ABSOLUTE.length is None


# --- open --------------------------------------------------------------------------------------


def test_opens_with_auditing_on_an_empty_readable_log_and_an_old_marker() -> None:
    assert gate(audited()) is None


def test_opens_with_marker_exactly_at_the_window_start() -> None:
    assert gate(audited(marker="2026-11-17T12:00:00.0000000Z")) is None


def test_opens_on_an_absolute_window_the_marker_predates() -> None:
    assert gate(audited(window=ABSOLUTE), window=ABSOLUTE) is None


def test_client_log_events_do_not_close_the_server_gate() -> None:
    a = audited(client_log=answers.log(peers=[("fs01", 9)]))
    assert gate(a) is None


def test_auditing_on_by_policy_counts_over_the_cmdlet() -> None:
    a = audited(audit=False, registry_values={"server_policy": {answers.SERVER_AUDIT: 1}})
    assert a.settings["audit_unsigned_clients"].value is True
    assert gate(a) is None


# --- closed ------------------------------------------------------------------------------------


def test_closed_without_signing_audit_on_the_host() -> None:
    closed = gate(audited(audit=None))
    assert isinstance(closed, GateClosed)
    assert "no signing audit" in closed.reason
    assert "require_clean_audit: false" in closed.reason
    assert closed.opens_at is None


def test_closed_when_auditing_is_off() -> None:
    closed = gate(audited(audit=False))
    assert closed is not None
    assert "auditing of unsigned clients is off" in closed.reason
    assert "(7d)" in closed.reason
    assert closed.opens_at is None


def test_closed_when_the_policy_turns_auditing_off_over_the_cmdlet() -> None:
    a = audited(audit=True, registry_values={"server_policy": {answers.SERVER_AUDIT: 0}})
    closed = gate(a)
    assert closed is not None
    assert "is off" in closed.reason


def test_closed_when_this_run_turns_auditing_on_opens_a_window_from_now() -> None:
    closed = gate(audited(audit=False), turns_on=True)
    assert closed is not None
    assert closed.opens_at == "2026-12-01T12:00:00Z"  # NOW + 7d
    assert "this run turns it on" in closed.reason
    assert "2026-12-01T12:00:00Z" in closed.reason


def test_turning_on_with_an_absolute_window_has_no_opening_time() -> None:
    closed = gate(audited(audit=False, window=ABSOLUTE), window=ABSOLUTE, turns_on=True)
    assert closed is not None
    assert closed.opens_at is None
    assert "choose a window that starts after" in closed.reason


def test_closed_when_the_log_was_not_read() -> None:
    closed = gate(audited(read_events=False))
    assert closed is not None
    assert "was not read" in closed.reason


def test_closed_when_the_log_is_missing() -> None:
    closed = gate(audited(server_log=answers.log(available=False)))
    assert closed is not None
    assert "does not exist" in closed.reason
    assert "Microsoft-Windows-SMBServer/Audit" in closed.reason


def test_closed_on_a_log_read_error_naming_the_error() -> None:
    closed = gate(audited(server_log=answers.log(error="Access is denied")))
    assert closed is not None
    assert "could not be read: Access is denied" in closed.reason


def test_a_truncated_log_says_at_least() -> None:
    """EVT-16: a read that reached max_events counts a lower bound."""
    log = answers.log(peers=[("10.0.0.5", 10000)], truncated=True)
    closed = gate(audited(server_log=log))
    assert closed is not None
    assert "at least 10000 unsigned-client events" in closed.reason
    plain = gate(audited(server_log=answers.log(peers=[("10.0.0.5", 3)])))
    assert plain is not None
    assert "at least" not in plain.reason


def test_closed_on_an_unreadable_log_even_with_events_counted() -> None:
    """EVT-11: records that could not be read keep the count and make the log an error."""
    log = answers.log(peers=[("10.0.0.5", 2)], error="1 event record(s) could not be read: x")
    closed = gate(audited(server_log=log))
    assert closed is not None
    assert "could not be read: 1 event record(s) could not be read" in closed.reason


def test_closed_on_events_naming_every_listed_peer_and_how_many_were_left_out() -> None:
    log = answers.log(
        peers=[("10.0.0.5", 51), ("10.0.0.6", 1)],
        count=56,
        peers_total=6,
    )
    closed = gate(audited(server_log=log))
    assert closed is not None
    assert "56 unsigned-client events" in closed.reason
    assert f"since {WINDOW_START}" in closed.reason
    assert "10.0.0.5 (51 events)" in closed.reason
    assert "10.0.0.6 (1 event)" in closed.reason
    assert "and 4 more peers not listed" in closed.reason
    assert [p.peer for p in closed.peers] == ["10.0.0.5", "10.0.0.6"]
    assert closed.peers_left_out == 4
    assert closed.opens_at is None


def test_closed_on_events_with_every_peer_listed_says_nothing_is_left_out() -> None:
    peers = [(f"10.0.0.{i}", 10 - i) for i in range(1, 7)]
    closed = gate(audited(server_log=answers.log(peers=peers)))
    assert closed is not None
    for name, count in peers:
        assert f"{name} ({count} events)" in closed.reason
    assert "not listed" not in closed.reason
    assert closed.peers_left_out == 0
    assert len(closed.peers) == 6


def test_one_event_from_one_peer() -> None:
    closed = gate(audited(server_log=answers.log(peers=[("10.0.0.5", 1)])))
    assert closed is not None
    assert "1 unsigned-client event in" in closed.reason
    assert "and 1 more peer " not in closed.reason


def test_one_peer_left_out_is_singular() -> None:
    log = answers.log(peers=[("a", 2)], count=3, peers_total=2)
    closed = gate(audited(server_log=log))
    assert closed is not None
    assert "and 1 more peer not listed" in closed.reason


def test_closed_without_marker_opens_a_window_from_now() -> None:
    closed = gate(audited(marker=None))
    assert closed is not None
    assert "unknown" in closed.reason
    assert closed.opens_at == "2026-12-01T12:00:00Z"


def test_closed_on_a_marker_that_is_not_a_time() -> None:
    closed = gate(audited(marker="yesterday"))
    assert closed is not None
    assert "'yesterday' is not a time" in closed.reason
    assert closed.opens_at == "2026-12-01T12:00:00Z"


def test_closed_when_the_marker_is_newer_than_the_window_start() -> None:
    # Auditing switched on 30 seconds before this run: the log covers 30 seconds, not 7 days.
    closed = gate(audited(marker="2026-11-24T11:59:30.1234567Z"))
    assert closed is not None
    assert closed.opens_at == "2026-12-01T11:59:30Z"  # marker + 7d
    assert "only since 2026-11-24T11:59:30Z" in closed.reason
    assert WINDOW_START in closed.reason


def test_marker_newer_than_an_absolute_window_start() -> None:
    closed = gate(audited(window=ABSOLUTE), window=ABSOLUTE)  # marker 2026-11-01: older
    assert closed is None
    closed = gate(audited(window=ABSOLUTE, marker="2026-11-20T00:00:00.0000000Z"), window=ABSOLUTE)
    assert closed is not None
    assert closed.opens_at is None
    assert "choose a window that starts after" in closed.reason


def test_a_second_run_moments_later_stays_closed() -> None:
    # The re-run case: auditing has been on (by the marker) for a minute; the log is empty.
    first_write = NOW - timedelta(minutes=1)
    marker = first_write.strftime("%Y-%m-%dT%H:%M:%S") + ".0000000Z"
    closed = gate(audited(marker=marker))
    assert closed is not None
    assert closed.opens_at == "2026-12-01T11:59:00Z"


def test_the_gate_opens_once_the_window_has_passed() -> None:
    marker = "2026-11-24T11:59:30.0000000Z"
    later = NOW + timedelta(days=7)
    window = parse_audit_window("7d", later)
    a = audited(marker=marker, window=window)
    assert gate(a, window=window, now=later) is None


# --- the closed gate as data -------------------------------------------------------------------


def test_gate_closed_message_and_dict() -> None:
    closed = GateClosed(
        "host01",
        "a reason",
        peers=(PeerCount("10.0.0.5", 3, "2026-11-24T10:00:00.0000000Z"),),
        peers_left_out=2,
        opens_at="2026-12-01T12:00:00Z",
    )
    assert closed.message.startswith(
        "audit-first gate: not requiring server signing on host01: a reason"
    )
    assert closed.to_dict() == {
        "setting": "server_require",
        "peers": [{"peer": "10.0.0.5", "count": 3, "last": "2026-11-24T10:00:00.0000000Z"}],
        "peers_left_out": 2,
        "opens_at": "2026-12-01T12:00:00Z",
        "message": closed.message,
    }


# --- parse_time --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-11-20T08:00:00.1234567Z", datetime(2026, 11, 20, 8, 0, 0, 123456, timezone.utc)),
        ("2026-11-20T08:00:00.0000000Z", datetime(2026, 11, 20, 8, 0, 0, 0, timezone.utc)),
        ("2026-11-20T08:00:00.5Z", datetime(2026, 11, 20, 8, 0, 0, 500000, timezone.utc)),
        ("2026-11-20T08:00:00Z", datetime(2026, 11, 20, 8, 0, 0, 0, timezone.utc)),
        (" 2026-11-20T08:00:00z ", datetime(2026, 11, 20, 8, 0, 0, 0, timezone.utc)),
        ("2026-11-20T08:00:00-05:00", datetime(2026, 11, 20, 13, 0, 0, 0, timezone.utc)),
        ("2026-11-20T08:00:00", datetime(2026, 11, 20, 8, 0, 0, 0, timezone.utc)),
    ],
)
def test_parse_time(text: str, moment: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == moment
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2026-13-01T00:00:00Z", "2026-11-20T25:00:00.0000000Z"]
)
def test_parse_time_refuses_what_is_not_a_time(text: str) -> None:
    assert parse_time(text) is None


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        (
            "2026-11-20T08:00:00.1234567-05:00",
            datetime(2026, 11, 20, 13, 0, 0, 123456, timezone.utc),
        ),
        (
            "2026-11-20T08:00:00.1234567+01:00",
            datetime(2026, 11, 20, 7, 0, 0, 123456, timezone.utc),
        ),
    ],
)
def test_parse_time_keeps_the_offset_after_a_fraction(text: str, moment: datetime) -> None:
    # The 'o' format of a local DateTime: the offset's digits are not part of the fraction.
    assert parse_time(text) == moment


def test_a_marker_with_an_offset_after_the_window_start_keeps_the_gate_closed() -> None:
    # 08:00-05:00 is 13:00Z, an hour after the window's start: read as 08:00Z it would open.
    closed = gate(audited(marker="2026-11-17T08:00:00.0000000-05:00"))
    assert closed is not None
    assert closed.opens_at == "2026-11-24T13:00:00Z"


# --- KB5066913's AuditClientSpnSupport (ledger REG-8, F-14) ------------------------------------


def test_a_closed_gate_names_an_spn_audit_value_it_does_not_count() -> None:
    spn = "AuditClientSpnSupport"
    off = gate(audited(audit=False, registry_values={"server": {spn: 1}}))
    assert off is not None
    assert "auditing of unsigned clients is off" in off.reason
    assert f"{spn} is on under LanmanServer\\Parameters" in off.reason
    assert "so it is not counted" in off.reason
    assert "'Lanman Server\\Audit client does not support signing' is" in off.reason
    # Only this value, no parameter: point at the policy that counts, never at turning the
    # gate off.
    missing = gate(audited(audit=None, registry_values={"server_policy": {spn: 1}}))
    assert missing is not None
    assert missing.reason.startswith("no signing audit value this gate counts is set")
    assert f"{spn} is on under Policies\\Microsoft\\Windows\\LanmanServer," in missing.reason
    assert "set that policy, then wait for the window (7d) to pass" in missing.reason
    assert "require_clean_audit" not in missing.reason
    # Off (0) or absent: no note; and the value never opens nor closes a gate by itself.
    quiet = gate(audited(audit=False, registry_values={"server": {spn: 0}}))
    assert quiet is not None
    assert spn not in quiet.reason
    unsupported = gate(audited(audit=None))
    assert unsupported is not None
    assert "require_clean_audit: false" in unsupported.reason
    assert spn not in unsupported.reason
    assert gate(audited(registry_values={"server": {spn: 1}})) is None
    waiting = gate(audited(marker=None, registry_values={"server": {spn: 1}}))
    assert waiting is not None
    assert spn not in waiting.reason
