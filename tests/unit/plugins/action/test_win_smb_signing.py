"""win_smb_signing against a fake host: round trips, check mode, diff, GPO, weakening, audit,
partial failure and a connection lost during the write."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from ansible.errors import AnsibleConnectionFailure
from unit.plugins.action.action_harness import TASK_VARS, run_action
from unit.plugins.plugin_utils.fake_windows import FakeHost

from ansible_collections.winhardening.smb.plugins.action import win_smb_signing as mod

SERVER_ALWAYS = "Microsoft network server: Digitally sign communications (always)"
CLIENT_ALWAYS = "Microsoft network client: Digitally sign communications (always)"


def _run(host: FakeHost, args: Dict[str, Any], **kw: Any) -> Dict[str, Any]:
    return run_action(mod, host, args, **kw)


def test_compliant_host_is_one_round_trip(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    probe = wire(host)
    result = _run(host, {"client_require": True})
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert host.ops == ["read_state"]
    # With the probe on, the verdict always has the wire behind it, changed or not.
    assert probe.calls == [("127.0.0.9", 14450, 3.0)]
    assert result["observed"]["agrees_with_config"] is True
    assert result["reboot_required"] is False
    assert result["diff"]["before"] == result["diff"]["after"] == {CLIENT_ALWAYS: "Enabled"}


def test_change_is_two_round_trips_judged_from_the_read_back(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    probe = wire(host)
    result = _run(host, {"server_require": True}, diff=True)
    assert result.get("failed") is not True, result
    assert result["changed"] is True
    assert host.ops == ["read_state", "apply"]
    assert host.calls[1][1] == {"server": {"RequireSecuritySignature": True}, "sync_marker": None}
    setting = result["settings"]["server_require"]
    assert (setting["before"], setting["after"], setting["changed"]) == (False, True, True)
    assert result["settings"]["client_enable"]["managed"] is False
    assert result["diff"]["before"] == {SERVER_ALWAYS: "Disabled"}
    assert result["diff"]["after"] == {SERVER_ALWAYS: "Enabled"}
    # The wire check after the change.
    assert probe.calls == [("127.0.0.9", 14450, 3.0)]
    assert result["observed"]["signing_required"] is True
    assert result["observed"]["agrees_with_config"] is True


def test_second_run_is_idempotent(wire: Any) -> None:
    host = FakeHost.demo("ms2025")
    wire(host)
    first = _run(host, {"baseline": "cis"})
    assert first["changed"] is True, first
    second = _run(host, {"baseline": "cis"})
    assert second["changed"] is False, second
    assert host.ops == ["read_state", "apply", "read_state"]


def test_check_mode_writes_nothing(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    probe = wire(host)
    before = host.model.config("server")
    result = _run(host, {"server_require": True, "server_enable": True}, check_mode=True)
    assert result["changed"] is True
    assert host.ops == ["read_state"]
    assert host.model.config("server") == before
    assert len(probe.calls) == 1  # the verdict has the wire behind it, in check mode too
    assert result["settings"]["server_enable"]["after"] is True
    assert result["diff"]["after"][SERVER_ALWAYS] == "Enabled"


def test_option_left_out_is_left_alone(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)
    result = _run(host, {})
    assert result["changed"] is False
    assert all(not s["managed"] for s in result["settings"].values())
    assert result["diff"]["before"] == {}


def test_explicit_option_overrides_the_baseline(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)
    result = _run(host, {"baseline": "microsoft", "server_require": False})
    # microsoft wants server_require on; the explicit option says off, which it already is.
    assert result["settings"]["server_require"]["managed"] is True
    assert result["settings"]["server_require"]["after"] is False
    assert result["changed"] is False


def test_gpo_owned_change_warns_with_gpo_and_refresh_timing(wire: Any) -> None:
    host = FakeHost.demo("dc01")
    wire(host)
    result = _run(host, {"server_require": False, "allow_weakening": True})
    assert result.get("failed") is not True, result
    assert host.ops == ["read_state", "apply"]
    (warning,) = result["warnings"]
    assert "Default Domain Controllers Policy" in warning
    assert "{6AC1786C-016F-11D2-945F-00C04fB984F9}" in warning
    assert "16 hours" in warning
    assert "KB 277543" in warning
    assert "5 minutes on domain controllers" in warning
    assert result["gpo_owned"] == ["server_require"]


def test_gpo_owned_member_warning_says_90_minutes(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)
    result = _run(host, {"client_require": False, "allow_weakening": True})
    assert "Tier1 SMB Hardening" in result["warnings"][0]
    assert "90 minutes" in result["warnings"][0]


def test_gpo_owned_change_fails_before_writing(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)
    result = _run(
        host, {"client_require": False, "allow_weakening": True, "on_gpo_conflict": "fail"}
    )
    assert result["failed"] is True
    assert "refusing to change settings a GPO owns" in result["msg"]
    assert "Tier1 SMB Hardening" in result["msg"]
    assert host.ops == ["read_state"]


def test_gpo_conflict_ignore_is_silent(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)
    result = _run(
        host, {"client_require": False, "allow_weakening": True, "on_gpo_conflict": "ignore"}
    )
    assert result["changed"] is True
    assert "warnings" not in result


def test_weakening_is_refused_then_allowed(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)
    refused = _run(host, {"client_enable": False})
    assert refused["failed"] is True
    assert "refusing to disable client_enable" in refused["msg"]
    assert "allow_weakening" in refused["msg"]
    assert refused["refused"] == ["client_enable"]
    assert host.ops == ["read_state"]
    allowed = _run(host, {"client_enable": False, "allow_weakening": True})
    assert allowed["changed"] is True
    assert allowed["settings"]["client_enable"]["after"] is False


def test_explicit_audit_option_on_an_os_without_it_fails(wire: Any) -> None:
    host = FakeHost.demo("ms2016")
    wire(host)
    result = _run(host, {"audit_unsigned_clients": True})
    assert result["failed"] is True
    assert "-AuditClientDoesNotSupportSigning" in result["msg"]
    assert "Windows Server 2025 and Windows 11 24H2" in result["msg"]
    assert "KB5066913" in result["msg"]
    assert host.ops == ["read_state"]
    client = _run(host, {"audit_unsigned_servers": True})
    assert "Windows Server 2025 and Windows 11 24H2" in client["msg"]
    assert "KB5066913" not in client["msg"]


def test_baseline_audit_on_an_os_without_it_is_skipped_with_a_warning(wire: Any) -> None:
    host = FakeHost.demo("ms2016")
    wire(host)
    result = _run(host, {"baseline": "cis"})
    assert result.get("failed") is not True, result
    skipped = [w for w in result["warnings"] if "skipping audit_unsigned" in w]
    assert len(skipped) == 2
    assert "audit_unsigned_clients" not in host.calls[1][1].get("server", {})
    assert result["settings"]["audit_unsigned_clients"]["managed"] is False


def test_partial_failure_reports_applied_and_not_applied(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)
    host.set("deny_writes=server.RequireSecuritySignature")
    result = _run(host, {"server_require": True, "server_enable": True})
    assert result["failed"] is True
    assert result["status"] == "failed"
    (missing,) = result["not_applied"]
    assert missing.startswith("server_require (wanted True, read back False")
    assert "Access is denied." in missing
    assert "changes did not apply" in result["msg"]
    assert result["changed"] is True
    # The refused write left the value unstored: its owner is what the read-back shows.
    assert result["settings"]["server_require"]["owner"] == "default"
    assert result["settings"]["server_enable"]["after"] is True
    assert result["settings"]["server_enable"]["owner"] == "local"
    facts = result["ansible_facts"]["smb_signing"]
    assert facts["settings"]["server_require"]["owner"] == "default"
    assert facts["status"] == "failed"


def test_write_reported_ok_but_not_read_back_is_not_applied(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)

    def lying_apply(request: Dict[str, Any]) -> Any:
        import json

        answer = host.answer("apply", {})  # nothing written
        answer["results"] = [
            {"side": "server", "property": "RequireSecuritySignature", "value": True,
             "ok": True, "error": None}
        ]  # fmt: skip
        return 0, json.dumps(answer).encode(), b""

    host.override["apply"] = lying_apply
    result = _run(host, {"server_require": True})
    assert result["failed"] is True
    assert result["not_applied"][0].startswith("server_require (wanted True, read back False")


def test_connection_lost_during_the_write_leaves_state_unknown(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)

    def drop(request: Dict[str, Any]) -> Any:
        host.answer("apply", request)  # the write lands, then the answer is lost
        raise AnsibleConnectionFailure("Connection aborted: RemoteDisconnected")

    host.override["apply"] = drop
    result = _run(host, {"server_require": True})
    assert result["failed"] is True
    assert result["state_unknown"] is True
    assert "may or may not have been applied" in result["msg"]
    assert "Re-run" in result["msg"]
    assert "unreachable" not in result
    rerun = _run(host, {"server_require": True})
    assert rerun["changed"] is False
    assert rerun.get("failed") is not True


def test_connection_failure_on_the_read_is_unreachable(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)

    def refuse(request: Dict[str, Any]) -> Any:
        raise AnsibleConnectionFailure("basic: the specified credentials were rejected")

    host.override["read_state"] = refuse
    with pytest.raises(AnsibleConnectionFailure):
        _run(host, {"server_require": True})


def test_wire_disagreement_after_a_change_warns(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host).required = False  # something else answers on the SMB port
    result = _run(host, {"server_require": True})
    assert result["observed"]["agrees_with_config"] is False
    assert any("answered the negotiate" in w for w in result["warnings"])


def test_probe_false_skips_the_wire_check(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    probe = wire(host)
    result = _run(host, {"server_require": True, "probe": False})
    assert result["changed"] is True
    assert probe.calls == []
    assert result["observed"] is None


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ({"server_require": "sometimes"}, "server_require"),
        ({"on_gpo_conflict": "shrug"}, "on_gpo_conflict"),
        ({"baseline": "nist"}, "baseline"),
        ({"baseline": "custom"}, "custom_baseline"),
        ({"require": True}, "require"),
    ],
)
def test_bad_options_fail_naming_the_parameter(wire: Any, args: Any, name: str) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)
    # A failed result, not an exception, so that a caller that carries on (the role's report)
    # still gets the reason under "failure".
    result = _run(host, args)
    assert result["failed"] is True
    assert name in result["msg"]
    assert result["failure"] == result["msg"]
    assert host.ops == []


def test_custom_baseline(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)
    result = _run(host, {"baseline": "custom", "custom_baseline": {"server_require": True}})
    assert result["changed"] is True
    assert [n for n, s in result["settings"].items() if s["managed"]] == ["server_require"]
    bad = _run(host, {"baseline": "custom", "custom_baseline": {"server_require": "yes"}})
    assert bad["failed"] is True
    assert bad["msg"].startswith("custom_baseline:")


def test_failed_read_names_the_host(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)
    host.override["read_state"] = lambda request: (0, b"garbage\r\n", b"")
    result = _run(host, {"server_require": True}, task_vars={**TASK_VARS})
    assert result["failed"] is True
    assert result["msg"].startswith("ms2019: the read_state script failed")


def test_rollback_restores_what_still_holds_the_recorded_value(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)
    enforced = _run(host, {"server_require": True, "server_enable": True})
    assert enforced["settings"]["server_require"]["owner_before"] == "default"
    # Someone turned server_enable off again since: that is left alone.
    host.set("config.server.EnableSecuritySignature=false")
    rollback = {
        "server_require": {"from": True, "to": False},
        "server_enable": {"from": True, "to": False},
    }
    refused = _run(host, {"rollback": rollback})
    assert refused["failed"] is True
    assert "allow_weakening" in refused["msg"]
    result = _run(host, {"rollback": rollback, "allow_weakening": True})
    assert result.get("failed") is not True, result
    assert result["rollback"]["restored"] == ["server_require"]
    (left,) = result["rollback"]["left_alone"]
    assert left.startswith("server_enable (changed since; left alone")
    assert host.calls[-1][1]["server"] == {"RequireSecuritySignature": False}
    again = _run(host, {"rollback": rollback, "allow_weakening": True})
    assert again["changed"] is False
    assert again["rollback"]["restored"] == []


BACK = {"from": True, "to": False}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"rollback": {"server_requires": BACK}}, "rollback.server_requires: unknown setting"),
        ({"rollback": {"server_require": {"from": True}}}, "rollback.server_require: expected a"),
        (
            {"rollback": {"server_require": {**BACK, "from": "yes"}}},
            "rollback.server_require.from: expected true or false",
        ),
        (
            {"rollback": {"server_require": BACK}, "client_require": True},
            "rollback: restores recorded values on its own",
        ),
    ],
)
def test_bad_rollback_names_the_setting(wire: Any, args: Dict[str, Any], message: str) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)
    result = _run(host, args)
    assert result["failed"] is True
    assert result["msg"].startswith(message), result["msg"]
    assert host.ops == []


def test_rollback_in_check_mode_says_what_it_would_restore(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)
    _run(host, {"server_require": True})
    result = _run(
        host, {"rollback": {"server_require": BACK}, "allow_weakening": True}, check_mode=True
    )
    assert result["rollback"]["restored"] == ["server_require"]
    assert host.ops[-1] == "read_state"  # nothing written


def test_a_task_timeout_during_the_write_leaves_state_unknown(wire: Any) -> None:
    # Ansible's task timeout is a BaseException named TaskTimeoutError (2.16 to 2.21).
    class TaskTimeoutError(BaseException):
        pass

    host = FakeHost.demo("ms2019")
    wire(host)

    def hang(request: Dict[str, Any]) -> Any:
        raise TaskTimeoutError("timed out after 30 seconds")

    host.override["apply"] = hang
    result = _run(host, {"server_require": True})
    assert result["failed"] is True
    assert result["state_unknown"] is True
    assert "the task timed out while the write script was running" in result["msg"]
    assert result["status"] == "failed"
    assert result["ansible_facts"]["smb_signing"]["computer_name"] == "MS2019"
