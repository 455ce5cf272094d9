"""win_smb_signing as the role drives it: overrides by profile and host, the audit-first gate,
the verdict after enforcing and the facts of the state after the run, all without a re-read."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict

import pytest
from unit.plugins.action.action_harness import run_action
from unit.plugins.plugin_utils.fake_windows import FakeHost

from ansible_collections.winhardening.smb.plugins.action import win_smb_signing as mod

ROLE_ARGS: Dict[str, Any] = {"baseline": "cis", "verify": True, "audit_window": "520w"}


def _run(host: FakeHost, **args: Any) -> Dict[str, Any]:
    return run_action(mod, host, {**ROLE_ARGS, **args})


def test_enforce_is_two_round_trips_and_the_facts_show_the_state_after(wire: Any) -> None:
    host = FakeHost.demo("ms2022")
    probe = wire(host)
    result = _run(host)
    assert result.get("failed") is not True, result
    assert host.ops == ["read_state", "apply"]
    assert len(probe.calls) == 1
    facts = result["ansible_facts"]["smb_signing"]
    assert facts["settings"]["server_require"]["value"] is True
    assert facts["settings"]["server_require"]["owner"] == "local"
    assert facts["compliant"] is True, facts["noncompliant"]
    assert facts["observed"]["agrees_with_config"] is True
    assert result["mode"] == "enforce"
    assert result["profile"] == "member_server"
    assert "server_require" in result["changes"]
    assert result["failure"] is None
    assert result["blocked"] is None


def test_compliant_host_is_one_round_trip_and_still_checked_on_the_wire(wire: Any) -> None:
    host = FakeHost.demo("ms2022")
    probe = wire(host)
    _run(host)
    host.calls.clear()
    probe.calls.clear()
    again = _run(host)
    assert again["changed"] is False
    assert host.ops == ["read_state"]
    assert len(probe.calls) == 1


def test_profile_and_host_overrides_apply_after_the_profile_is_read(wire: Any) -> None:
    host = FakeHost.demo("ms2022")
    wire(host)
    result = _run(
        host,
        profiles={"member_server": {"server_require": False}, "domain_controller": {}},
        host_overrides={"client_enable": None},
    )
    assert result.get("failed") is not True, result
    request = host.calls[1][1]
    assert "RequireSecuritySignature" not in request.get("server", {})
    facts = result["ansible_facts"]["smb_signing"]
    assert facts["settings"]["server_require"]["expected"] is False
    assert facts["settings"]["server_require"]["compliant"] is True
    assert result["desired"]["server_require"] is False


def test_host_override_beats_the_profile_override(wire: Any) -> None:
    host = FakeHost.demo("ms2022")
    wire(host)
    result = _run(
        host,
        profiles={"member_server": {"server_require": False}},
        host_overrides={"server_require": True},
    )
    assert result["settings"]["server_require"]["after"] is True


def test_bad_override_names_the_option_and_reads_nothing(wire: Any) -> None:
    host = FakeHost.demo("ms2022")
    wire(host)
    bad_profile = _run(host, profiles={"kiosk": {}})
    assert bad_profile["failed"] is True
    assert "profiles" in bad_profile["msg"]
    assert "kiosk" in bad_profile["msg"]
    bad_value = _run(host, profiles={"member_server": {"server_require": "yes"}})
    assert "profiles.member_server" in bad_value["msg"]
    bad_host = _run(host, host_overrides={"server_requires": True})
    assert bad_host["msg"].startswith("host_overrides:")
    assert host.ops == []


def test_gate_withholds_server_signing_names_the_clients_and_writes_the_rest(wire: Any) -> None:
    host = FakeHost.demo("ms2025")
    wire(host)
    result = _run(host, require_clean_audit=True)
    assert result["failed"] is True
    assert "audit-first gate" in result["msg"]
    assert "3 unsigned-client events" in result["msg"]
    assert "10.20.0.15 (2 events), PRINTER-07 (1 event)" in result["msg"]
    assert "The other settings were written" in result["msg"]
    request = host.calls[1][1]
    assert "RequireSecuritySignature" not in request.get("server", {})
    assert request  # the other settings were written
    assert result["blocked"]["setting"] == "server_require"
    assert [(p["peer"], p["count"]) for p in result["blocked"]["peers"]] == [
        ("10.20.0.15", 2),
        ("PRINTER-07", 1),
    ]
    # Blocked, not failed: the report tells the two apart.
    assert result["failure"] is None
    assert result["status"] == result["ansible_facts"]["smb_signing"]["status"] == "blocked"
    assert result["ansible_facts"]["smb_signing"]["settings"]["server_require"]["value"] is False


def test_gate_is_closed_when_auditing_is_off(wire: Any) -> None:
    host = FakeHost.demo("ms2019")  # no audit settings on this OS: the log proves nothing
    wire(host)
    result = _run(host, require_clean_audit=True)
    assert result["failed"] is True
    assert result["blocked"] is not None
    assert "server" not in host.calls[1][1] or (
        "RequireSecuritySignature" not in host.calls[1][1]["server"]
    )


def test_gate_open_with_a_clean_log_auditing_on_since_before_the_window(wire: Any) -> None:
    host = FakeHost.demo("ms2025", "audit_marker=2026-01-01T00:00:00.0000000Z")
    host.model.events = []
    wire(host)
    result = _run(host, require_clean_audit=True, audit_window="7d")
    assert result.get("failed") is not True, result
    assert result["blocked"] is None
    assert host.calls[1][1]["server"]["RequireSecuritySignature"] is True


def test_gate_stays_closed_without_a_record_of_since_when_auditing_is_on(wire: Any) -> None:
    host = FakeHost.demo("ms2025")  # auditing on, no record, a clean log
    host.model.events = []
    wire(host)
    first = _run(host, require_clean_audit=True, audit_window="7d")
    assert first["status"] == "blocked"
    assert "since when auditing has been on is unknown" in first["msg"]
    assert first["blocked"]["opens_at"] is not None
    # This run recorded the time on the host; a run seconds later is still blocked, and says
    # from when the gate can open.
    assert host.calls[1][1]["sync_marker"] == "set"
    assert host.model.audit_marker is not None
    again = _run(host, require_clean_audit=True, audit_window="7d")
    assert again["status"] == "blocked"
    assert "auditing has been on only since" in again["msg"]
    # Both count the window from the moment auditing was recorded (to the second).
    opens = [
        datetime.fromisoformat(r["blocked"]["opens_at"].replace("Z", "+00:00"))
        for r in (first, again)
    ]
    assert abs((opens[1] - opens[0]).total_seconds()) <= 2
    assert opens[0] > datetime.now(timezone.utc) + timedelta(days=6)
    assert "RequireSecuritySignature" not in host.calls[-1][1].get("server", {})


def test_gate_closed_when_the_log_cannot_be_read(wire: Any) -> None:
    host = FakeHost.demo(
        "ms2025",
        "audit_marker=2026-01-01T00:00:00.0000000Z",
        "event_log_error=server:Access is denied",
    )
    host.model.events = []
    wire(host)
    result = _run(host, require_clean_audit=True, audit_window="7d")
    assert result["status"] == "blocked"
    assert "the SMB server audit log could not be read: Access is denied" in result["msg"]


def test_wire_disagreeing_after_enforce_fails_with_the_reason(wire: Any) -> None:
    host = FakeHost.demo("ms2022")
    probe = wire(host)
    probe.required = False
    result = _run(host)
    assert result["failed"] is True
    assert "not compliant after enforce" in result["msg"]
    assert "answered the negoti" in result["msg"]
    assert result["failure"] == result["msg"]
    # The host's facts are still there for the report.
    assert result["ansible_facts"]["smb_signing"]["observed"]["agrees_with_config"] is False


def test_unreachable_wire_fails_verify_as_unverified(
    wire: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ansible_collections.winhardening.smb.plugins.plugin_utils._engine import probe as probe_mod

    host = FakeHost.demo("dc01")
    probe = wire(host)
    probe.unreachable = True
    monkeypatch.setattr(probe_mod, "PROBE_RETRY_DELAYS", (0.0, 0.0))
    monkeypatch.setattr(probe_mod.probe_with_retries, "__defaults__", ((0.0, 0.0),))
    result = _run(host, baseline="microsoft")
    # Refused is asked again (a server may be taking up its settings); then the host is not
    # verified, and verify says so instead of passing it.
    assert len(probe.calls) == 3
    assert result["failed"] is True
    assert result["status"] == "unverified"
    assert "got no verdict (refused" in result["msg"]


def test_audit_mode_reads_only_and_enable_audit_writes_only_those(wire: Any) -> None:
    host = FakeHost.demo("ms2022")
    wire(host)
    read = _run(host, mode="audit")
    assert read["changed"] is False
    assert read["mode"] == "audit"
    assert host.ops == ["read_state"]
    assert read["ansible_facts"]["smb_signing"]["compliant"] is False
    assert read.get("failed") is not True  # audit mode never fails for non-compliance
    host.calls.clear()
    host.set("server.AuditClientDoesNotSupportSigning=0")
    audit = _run(host, mode="audit", enable_audit=True)
    assert host.ops == ["read_state", "apply"]
    assert host.calls[1][1] == {
        "server": {"AuditClientDoesNotSupportSigning": True},
        "sync_marker": "set",
    }
    assert audit["changes"] == ["audit_unsigned_clients"]
    assert audit["ansible_facts"]["smb_signing"]["audit"]["auditing_on_since"] is not None


def test_enable_audit_skips_an_os_without_them(wire: Any) -> None:
    host = FakeHost.demo("ms2016")
    wire(host)
    result = _run(host, mode="audit", enable_audit=True)
    assert result.get("failed") is not True, result
    assert host.ops == ["read_state"]


def test_check_mode_gives_the_facts_as_read_and_no_verdict(wire: Any) -> None:
    host = FakeHost.demo("ms2022")
    wire(host)
    result = run_action(mod, host, ROLE_ARGS, check_mode=True)
    assert result.get("failed") is not True, result
    assert result["changed"] is True
    assert host.ops == ["read_state"]
    assert result["ansible_facts"]["smb_signing"]["settings"]["server_require"]["value"] is False


def _waiver(expires: str, **changes: Any) -> Dict[str, Any]:
    return {
        "hosts": ["ms20*"],
        "settings": ["server_require"],
        "owner": "facilities",
        "justification": "the scanner on this server cannot sign",
        "ticket": "CHG-7",
        "expires": expires,
        **changes,
    }


def _in_days(days: int) -> str:
    return (datetime.now(timezone.utc).date() + timedelta(days=days)).isoformat()


def test_a_waived_setting_is_not_written_and_the_host_is_waived(wire: Any) -> None:
    host = FakeHost.demo("ms2022")
    wire(host)
    result = _run(host, baseline="custom", custom_baseline={"server_require": True},
                  waivers=[_waiver(_in_days(90))])  # fmt: skip
    assert result.get("failed") is not True, result
    # The one miss is waived: the only write is the audit record (auditing is on on ms2022).
    assert host.calls[1][1] == {"sync_marker": "set"}
    facts = result["ansible_facts"]["smb_signing"]
    assert result["status"] == facts["status"] == "waived"
    server = facts["settings"]["server_require"]
    assert (server["value"], server["expected"], server["compliant"]) == (False, True, None)
    assert server["reason"].startswith("waived by facilities until")
    assert server["waiver"]["state"] == "active"
    assert facts["waivers"][0]["ticket"] == "CHG-7"
    assert "warnings" not in result


def test_a_waiver_expiring_soon_warns_and_an_expired_one_fails_again(wire: Any) -> None:
    host = FakeHost.demo("ms2022")
    wire(host)
    soon = _run(host, mode="audit", baseline="custom", custom_baseline={"server_require": True},
                waivers=[_waiver(_in_days(5))])  # fmt: skip
    assert soon["status"] == "waived"
    (warning,) = soon["warnings"]
    assert "waiver 0 (facilities, CHG-7" in warning
    assert "expires in 5 days" in warning
    expired = _run(host, mode="audit", baseline="custom", custom_baseline={"server_require": True},
                   waivers=[_waiver(_in_days(-1))])  # fmt: skip
    facts = expired["ansible_facts"]["smb_signing"]
    assert expired["status"] == facts["status"] == "noncompliant"
    assert facts["settings"]["server_require"]["compliant"] is False
    assert "waiver 0 (facilities, CHG-7" in facts["settings"]["server_require"]["reason"]
    assert "has expired" in facts["settings"]["server_require"]["reason"]
    assert any("expired 1 day ago" in w for w in expired["warnings"])


def test_a_waiver_for_another_host_changes_nothing(wire: Any) -> None:
    host = FakeHost.demo("ms2022")
    wire(host)
    result = _run(host, baseline="custom", custom_baseline={"server_require": True},
                  waivers=[_waiver(_in_days(90), hosts=["nas*"])])  # fmt: skip
    assert result.get("failed") is not True, result
    assert host.calls[1][1]["server"]["RequireSecuritySignature"] is True
    assert result["status"] == "compliant"


def test_a_bad_waiver_fails_naming_entry_and_key_before_reading(wire: Any) -> None:
    host = FakeHost.demo("ms2022")
    wire(host)
    result = _run(host, waivers=[_waiver("soon")])
    assert result["failed"] is True
    assert result["msg"].startswith("waivers[0].expires: expected a date YYYY-MM-DD")
    assert host.ops == []
