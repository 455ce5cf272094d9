"""win_smb_signing_facts against a fake host: one exec per host, facts, failures, the probe."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleConnectionFailure
from unit.plugins.action.action_harness import TASK_VARS, run_action
from unit.plugins.plugin_utils.fake_windows import FakeHost

from ansible_collections.winhardening.smb.plugins.action import win_smb_signing_facts as facts_mod

# Judge server signing alone: dc01 complies with it (its GPO requires it).
SERVER_ONLY = {"baseline": "custom", "custom_baseline": {"server_require": True}}


def test_one_round_trip_and_facts(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    probe = wire(host)
    result = run_action(facts_mod, host, {})
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert host.ops == ["read_state"]
    # The script goes on stdin, behind the bootstrap on the command line.
    assert [kw["sudoable"] for kw in host.exec_kwargs] == [False]
    assert host.exec_kwargs[0]["in_data"].startswith(b"# winhardening.smb:read_state:")
    assert host.calls[0][1] == {"events_since": None, "max_peers": 50, "max_events": 10000}
    facts = result["ansible_facts"]["smb_signing"]
    assert facts["computer_name"] == "MS2019"
    assert facts["settings"]["client_require"]["owner"] == "gpo"
    # The probe went to the address the connection uses, on the port given.
    assert probe.calls == [("127.0.0.9", 14450, 3.0)]
    assert facts["observed"]["agrees_with_config"] is True


def test_check_mode_runs_normally(wire: Any) -> None:
    host = FakeHost.demo("dc01")
    wire(host)
    result = run_action(facts_mod, host, {}, check_mode=True)
    assert result["ansible_facts"]["smb_signing"]["profile"] == "domain_controller"
    assert host.ops == ["read_state"]


def test_probe_options(wire: Any) -> None:
    host = FakeHost.demo("dc01")
    probe = wire(host)
    run_action(
        facts_mod, host, {"probe_address": "127.0.0.77", "probe_port": 1445, "probe_timeout": 1.5}
    )
    assert probe.calls == [("127.0.0.77", 1445, 1.5)]
    run_action(facts_mod, host, {"probe_port": None}, task_vars={"inventory_hostname": "dc01"})
    assert probe.calls[-1] == ("dc01", 445, 3.0)


def test_probe_false_skips_the_wire(wire: Any) -> None:
    host = FakeHost.demo("dc01")
    probe = wire(host)
    result = run_action(facts_mod, host, {"probe": False})
    assert probe.calls == []
    assert result["ansible_facts"]["smb_signing"]["observed"] is None


def test_wire_disagreement_is_flagged_loudly(wire: Any) -> None:
    host = FakeHost.demo("dc01")
    wire(host).required = False  # configured as required, not required on the wire
    result = run_action(facts_mod, host, SERVER_ONLY)
    observed = result["ansible_facts"]["smb_signing"]["observed"]
    assert observed["agrees_with_config"] is False
    facts = result["ansible_facts"]["smb_signing"]
    # The wire is what an attacker sees: the host is noncompliant although its settings comply.
    assert (result["status"], facts["status"], facts["compliant"]) == ("noncompliant",) * 2 + (
        False,
    )
    assert facts["noncompliant"] == []
    assert facts["posture"]["server"] == {
        "requires_signing_smb2": False,
        "requires_signing_smb1": False,
        "from": "wire",
    }
    (warning,) = result["warnings"]
    assert "configured to require SMB signing" in warning
    assert "127.0.0.9:14450" in warning


def test_events_request(wire: Any) -> None:
    host = FakeHost.demo("ms2025")
    wire(host)
    result = run_action(
        facts_mod,
        host,
        {"audit_window": "2026-11-01T00:00:00Z", "max_audit_peers": 1, "probe": False},
    )
    assert host.calls[0][1] == {
        "events_since": "2026-11-01T00:00:00Z",
        "max_peers": 1,
        "max_events": 10000,
    }
    server = result["ansible_facts"]["smb_signing"]["audit"]["events"]["server"]
    # Three events from two peers, counted on the host; the one peer listed has the most.
    assert server["count"] == 3
    assert server["peers"] == [
        {
            "peer": "10.20.0.15",
            "count": 2,
            "last": server["peers"][0]["last"],
            "peer_field": "ClientName",
        }
    ]
    assert (server["peers_total"], server["peers_left_out"]) == (2, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"audit_window": "last week"}, "audit_window: expected an ISO 8601 time"),
        ({"audit_window": "9999999d"}, "audit_window: '9999999d' reaches back before the year 1"),
        ({"max_audit_peers": 0}, "max_audit_peers: must be from 1 to 1000"),
        ({"custom_baseline": {"server_require": True}}, "only used with baseline: custom"),
        (
            {"baseline": "custom", "custom_baseline": {"server_requires": True}},
            "custom_baseline: unknown setting names: server_requires",
        ),
        ({"probe_port": 70000}, "probe_port: must be between 1 and 65535"),
        ({"profiles": {"workstation": {}}}, "profiles: unknown profiles: workstation"),
    ],
)
def test_bad_input_fails_naming_the_parameter(wire: Any, args: Any, message: str) -> None:
    host = FakeHost.demo("dc01")
    wire(host)
    result = run_action(facts_mod, host, args)
    assert result["failed"] is True
    assert message in result["msg"]
    assert "Traceback" not in result["msg"]


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ({"baseline": "nist"}, "baseline"),
        ({"probe": "perhaps"}, "probe"),
        ({"baseline": "custom"}, "custom_baseline"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_argument_spec_errors_name_the_parameter(wire: Any, args: Any, name: str) -> None:
    host = FakeHost.demo("dc01")
    wire(host)
    # A failed result, not an exception, so that a caller that carries on (the role's report)
    # still gets the reason under "failure".
    result = run_action(facts_mod, host, args)
    assert result["failed"] is True
    assert name in result["msg"]
    assert result["failure"] == result["msg"]
    assert host.ops == []


def test_access_denied_is_a_failure_with_host_and_stderr(wire: Any) -> None:
    host = FakeHost.demo("web01")
    wire(host)
    host.override["read_state"] = lambda request: (1, b"", b"Access is denied.")
    result = run_action(facts_mod, host, {}, task_vars={**TASK_VARS, "inventory_hostname": "web01"})
    assert result["failed"] is True
    assert result["msg"].startswith("web01: the read_state script failed: exit code 1")
    assert "Access is denied." in result["msg"]
    assert result["rc"] == 1


def test_unparsable_answer_is_a_failure(wire: Any) -> None:
    host = FakeHost.demo("web01")
    wire(host)
    host.override["read_state"] = lambda request: (0, b'{"op":"read_state","v":2}', b"")
    result = run_action(facts_mod, host, {})
    assert result["failed"] is True
    assert "does not follow the protocol: read_state: missing key 'os'" in result["msg"]


def test_connection_failure_makes_the_host_unreachable(wire: Any) -> None:
    host = FakeHost.demo("web01")
    wire(host)

    def refuse(request: Any) -> Any:
        raise AnsibleConnectionFailure("basic: the specified credentials were rejected")

    host.override["read_state"] = refuse
    with pytest.raises(AnsibleConnectionFailure):
        run_action(facts_mod, host, {})


def test_overrides_shape_expected_and_compliance_without_a_second_read(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)
    result = run_action(
        facts_mod,
        host,
        {
            "baseline": "cis",
            "profiles": {"member_server": {"server_require": False}},
            "host_overrides": {"client_enable": None},
            "probe": False,
        },
    )
    assert result.get("failed") is not True, result
    assert host.ops == ["read_state"]
    settings = result["ansible_facts"]["smb_signing"]["settings"]
    assert settings["server_require"]["expected"] is False
    assert settings["server_require"]["compliant"] is True
    assert settings["client_enable"]["expected"] is True  # null keeps the baseline's value
    assert result["profile"] == "member_server"
    assert result["desired"]["server_require"] is False


def test_baseline_custom_takes_its_values_from_the_overrides(wire: Any) -> None:
    host = FakeHost.demo("ms2019")
    wire(host)
    result = run_action(
        facts_mod,
        host,
        {"baseline": "custom", "host_overrides": {"client_require": True}, "probe": False},
    )
    settings = result["ansible_facts"]["smb_signing"]["settings"]
    assert settings["client_require"]["expected"] is True
    assert settings["server_require"]["expected"] is None


def test_probe_without_an_answer_is_unverified(wire: Any) -> None:
    host = FakeHost.demo("dc01")
    wire(host).unreachable = True
    result = run_action(facts_mod, host, SERVER_ONLY)
    facts = result["ansible_facts"]["smb_signing"]
    assert result["status"] == facts["status"] == "unverified"
    assert facts["compliant"] is False
    (reason,) = facts["status_reasons"]
    assert reason.startswith("wire: the SMB negotiate to 127.0.0.9:14450 got no verdict (refused")


def test_rsop_unreadable_makes_stored_owners_unknown_and_the_host_unverified(wire: Any) -> None:
    host = FakeHost.demo("dc01", "rsop_error=Access denied")
    wire(host)
    result = run_action(facts_mod, host, SERVER_ONLY)
    facts = result["ansible_facts"]["smb_signing"]
    assert facts["rsop"] == {"available": False, "error": "Access denied"}
    # dc01's server signing is stored (the Default Domain Controllers Policy wrote it): without
    # RSoP nobody can say who owns it. Values nothing stored are still the OS default's.
    assert facts["settings"]["server_require"]["owner"] == "unknown"
    assert facts["settings"]["client_require"]["owner"] == "default"
    assert facts["status"] == "unverified"
    assert any("owner unknown for" in r and "Access denied" in r for r in facts["status_reasons"])


@pytest.mark.parametrize("module", ["facts", "enforce"])
def test_become_is_refused_not_ignored(wire: Any, module: str) -> None:
    from ansible_collections.winhardening.smb.plugins.action import win_smb_signing

    host = FakeHost.demo("dc01")
    wire(host)
    mod = facts_mod if module == "facts" else win_smb_signing
    result = run_action(mod, host, {}, become=True)
    assert result["failed"] is True
    assert result["msg"].startswith("become: this module runs its scripts as the connection user")
    assert "'runas'" in result["msg"]
    assert host.ops == []
