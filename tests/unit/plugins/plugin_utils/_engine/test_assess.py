"""assess.py: per setting the value in force, owner and verdict; the wire; the host's status.

The rules come from the status model (owners local/gpo/default/unknown; compliant only with
every judged setting met, a known owner and, with the probe, a wire that agrees)."""

from __future__ import annotations

from dataclasses import fields

import pytest
from unit.plugins.plugin_utils._engine import answers
from unit.plugins.plugin_utils._engine.answers import ALL_ON, assessed, probe_answer

from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.assess import (
    COMPLIANT,
    NONCOMPLIANT,
    OWNER_DEFAULT,
    OWNER_GPO,
    OWNER_LOCAL,
    OWNER_UNKNOWN,
    UNVERIFIED,
    GpoRef,
    assess,
    normalize_key,
    observe_wire,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.read import ProtocolError

DC_POLICY = "Default Domain Controllers Policy"
DC_POLICY_ID = "{6AC1786C-016F-11D2-945F-00C04fB984F9}"


# --- owners ------------------------------------------------------------------------------------


def test_gpo_entry_makes_the_owner_gpo_with_its_name_and_id() -> None:
    a = assessed(
        settings={"server_require": True},
        rsop_entries=[answers.rsop_value("server_require", DC_POLICY, DC_POLICY_ID)],
    )
    s = a.settings["server_require"]
    assert s.owner == OWNER_GPO
    assert s.gpo == GpoRef(name=DC_POLICY, id=DC_POLICY_ID)
    assert s.owner_label == f"GPO {DC_POLICY} {DC_POLICY_ID}"


def test_a_gpo_entry_without_a_name_still_owns_its_setting() -> None:
    """ERR-4: when RSOP_GPO has no entry for the GPOID, the script sends the entry without
    gpo_id and gpo_name ($null + @{...}); it still makes the owner gpo, labelled unnamed."""
    entry = answers.rsop_value("server_require")
    del entry["gpo_id"], entry["gpo_name"]
    a = assessed(settings={"server_require": True}, rsop_entries=[entry])
    s = a.settings["server_require"]
    assert s.owner == OWNER_GPO
    assert s.owner_label == "GPO an unnamed GPO"


def test_gpo_policy_entry_owns_an_audit_setting() -> None:
    a = assessed(
        registry_values={"server_policy": {answers.SERVER_AUDIT: 1}},
        rsop_entries=[answers.rsop_policy("audit_unsigned_clients", "SMB audit", "{A}")],
    )
    s = a.settings["audit_unsigned_clients"]
    assert (s.owner, s.gpo) == (OWNER_GPO, GpoRef("SMB audit", "{A}"))


def test_rsop_paths_match_whatever_the_case_or_hive_prefix() -> None:
    entry = answers.rsop_value("client_require")
    entry["path"] = (
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CURRENTCONTROLSET\\SERVICES\\LANMANWORKSTATION\\PARAMETERS\\requiresecuritysignature"
    )
    a = assessed(settings={"client_require": True}, rsop_entries=[entry])
    assert a.settings["client_require"].owner == OWNER_GPO


def test_a_gpo_entry_owns_only_its_own_value() -> None:
    # The GPO sets the server's RequireSecuritySignature; the client's value of the same name
    # and the server's EnableSecuritySignature are set locally.
    a = assessed(
        settings={"server_require": True, "client_require": True, "server_enable": True},
        rsop_entries=[answers.rsop_value("server_require")],
    )
    assert a.settings["server_require"].owner == OWNER_GPO
    assert a.settings["client_require"].owner == OWNER_LOCAL
    assert a.settings["server_enable"].owner == OWNER_LOCAL
    assert a.settings["client_require"].gpo is None


def test_stored_without_entry_is_local() -> None:
    a = assessed(settings={"server_enable": True}, rsop_entries=[])
    s = a.settings["server_enable"]
    assert (s.owner, s.gpo, s.owner_label) == (OWNER_LOCAL, None, "local")


def test_a_stored_policy_value_without_entry_is_local() -> None:
    a = assessed(registry_values={"client_policy": {answers.CLIENT_AUDIT: 1}})
    assert a.settings["audit_unsigned_servers"].owner == OWNER_LOCAL


def test_nothing_stored_is_default() -> None:
    a = assessed(store=False, settings={"client_enable": True})
    s = a.settings["client_enable"]
    assert s.registry is None
    assert (s.owner, s.gpo) == (OWNER_DEFAULT, None)


def test_rsop_unavailable_and_stored_is_unknown() -> None:
    a = assessed(
        settings={"server_require": True},
        rsop_available=False,
        rsop_error="Access denied",
    )
    s = a.settings["server_require"]
    assert (s.owner, s.gpo) == (OWNER_UNKNOWN, None)
    assert a.rsop_available is False
    assert a.rsop_error == "Access denied"


def test_rsop_unavailable_and_nothing_stored_is_default() -> None:
    a = assessed(rsop_available=False, rsop_error="Access denied")
    assert {s.owner for s in a.settings.values()} == {OWNER_DEFAULT}


# --- the value in force ------------------------------------------------------------------------


@pytest.mark.parametrize(("cmdlet", "policy", "value"), [(True, 0, False), (False, 1, True)])
def test_audit_policy_value_outranks_the_cmdlet_value(
    cmdlet: bool, policy: int, value: bool
) -> None:
    a = assessed(
        server_config={answers.SERVER_AUDIT: cmdlet},
        registry_values={"server_policy": {answers.SERVER_AUDIT: policy}},
    )
    s = a.settings["audit_unsigned_clients"]
    assert s.cmdlet_value is cmdlet
    assert s.value is value
    assert s.compliant is value  # the cis target is True


def test_policy_value_as_text_does_not_decide() -> None:
    # The SMB service reads a DWORD there; a REG_SZ "1" is not evidence of auditing on.
    a = assessed(
        registry_values={"client_policy": {answers.CLIENT_AUDIT: answers.stored("1", "String")}},
        client_config={answers.CLIENT_AUDIT: False},
    )
    s = a.settings["audit_unsigned_servers"]
    assert s.policy_value is None
    assert s.value is False


def test_cmdlet_value_counts_when_nothing_is_stored() -> None:
    # Signing may be on with no value under Parameters; the cmdlet's answer is in force.
    a = assessed(store=False, settings={"server_require": True})
    s = a.settings["server_require"]
    assert (s.registry, s.cmdlet_value, s.value) == (None, True, True)


def test_stored_value_counts_when_the_cmdlet_has_no_property() -> None:
    a = assessed(
        audit_parameters=False,
        registry_values={"server": {answers.SERVER_AUDIT: 1}},
    )
    s = a.settings["audit_unsigned_clients"]
    assert s.cmdlet_value is None
    assert s.value is True


def test_spn_audit_value_is_shown_and_never_counted_as_signing_audit() -> None:
    # KB5066913 lists AuditClientSpnSupport beside the signing audit policy without saying what
    # it turns on (ledger REG-8): shown, never a signing audit value or a reason to support one.
    spn = "AuditClientSpnSupport"
    both = assessed(
        settings={"audit_unsigned_clients": False},
        registry_values={"server": {spn: 1}, "server_policy": {spn: 1}},
    )
    assert both.spn_audit.enabled is True
    assert both.spn_audit.where == "Policies\\Microsoft\\Windows\\LanmanServer"
    assert both.settings["audit_unsigned_clients"].value is False
    backport = assessed(audit_parameters=False, registry_values={"server": {spn: 1}})
    assert backport.settings["audit_unsigned_clients"].supported is False
    assert backport.settings["audit_unsigned_clients"].value is None
    assert backport.spn_audit.where == "LanmanServer\\Parameters"
    assert assessed(registry_values={"server": {spn: 0}}).spn_audit.enabled is False
    as_text = {"server": {spn: answers.stored("1", "String")}}
    assert assessed(registry_values=as_text).spn_audit.enabled is False
    assert assessed().spn_audit.enabled is False
    assert assessed().spn_audit.where is None
    # As for the audit settings, a Policies value decides when present (REG-4).
    policy_off = assessed(registry_values={"server": {spn: 1}, "server_policy": {spn: 0}})
    assert policy_off.spn_audit.enabled is False
    assert policy_off.spn_audit.where == "Policies\\Microsoft\\Windows\\LanmanServer"


@pytest.mark.parametrize(("os", "value"), [("ws2022", False), ("ws2025", True)])
def test_os_default_of_the_release(os: str, value: bool) -> None:
    # Windows Server 2025 requires outbound signing by default; 2022 does not.
    a = assessed(os=os, store=False)
    assert a.settings["client_require"].os_default is value


def test_a_cmdlet_view_without_the_signing_properties_is_refused() -> None:
    # Every supported Windows reports them; without them the OS default would stand in for a
    # value nobody read.
    with pytest.raises(
        ProtocolError, match="client_config: missing key 'RequireSecuritySignature'"
    ):
        answers.state(client_config={"RequireSecuritySignature": answers.ABSENT})


def test_os_default_of_a_domain_controller() -> None:
    a = assessed(domain_role=5)
    assert a.profile == "domain_controller"
    assert a.settings["server_require"].os_default is True
    assert a.settings["client_require"].os_default is False
    assert a.settings["audit_unsigned_clients"].os_default is False


def test_kb5066913_backport_policy_value_without_parameter_is_supported_not_writable() -> None:
    # Windows Server 2022 with the 2025-09 update: auditing set by policy, but the cmdlet has no
    # -AuditClientDoesNotSupportSigning parameter.
    a = assessed(
        audit_parameters=False,
        registry_values={"server_policy": {answers.SERVER_AUDIT: 1}},
    )
    s = a.settings["audit_unsigned_clients"]
    assert s.supported is True
    assert s.writable is False
    assert s.value is True
    assert s.expected is True
    assert s.compliant is True


def test_audit_setting_the_host_lacks_is_not_judged() -> None:
    a = assessed(audit_parameters=False)
    for name in ("audit_unsigned_clients", "audit_unsigned_servers"):
        s = a.settings[name]
        assert (s.supported, s.writable, s.value, s.expected, s.compliant) == (
            False,
            False,
            None,
            None,
            None,
        )
        assert not s.judged


def test_signing_settings_are_always_writable() -> None:
    a = assessed(audit_parameters=False)
    assert all(a.settings[n].writable for n in ("server_require", "client_enable"))


# --- the verdict -------------------------------------------------------------------------------


def test_everything_met_with_known_owners_is_compliant() -> None:
    a = assessed(settings=ALL_ON)
    assert a.verdict.status == COMPLIANT
    assert a.verdict.findings == ()


def test_a_miss_is_noncompliant_and_named() -> None:
    a = assessed(settings={**ALL_ON, "client_require": False})
    assert a.verdict.status == NONCOMPLIANT
    assert [f.subject for f in a.verdict.findings] == ["client_require"]
    assert a.verdict.reasons[0].startswith("client_require: ")
    assert a.settings["client_require"].compliant is False


def test_wire_contradiction_is_noncompliant_although_every_setting_complies() -> None:
    a = assessed(settings=ALL_ON, probe=probe_answer(False))
    assert all(s.compliant for s in a.settings.values())
    assert a.wire is not None
    assert a.wire.agrees_with_config is False
    assert a.verdict.status == NONCOMPLIANT
    (finding,) = a.verdict.findings
    assert finding.subject == "wire"
    assert "host01:445" in finding.text
    assert "NOT required" in finding.text


def test_wire_requiring_what_the_configuration_does_not_is_also_a_contradiction() -> None:
    a = assessed(
        targets={"client_require": True},
        settings={"client_require": True, "server_require": False},
        probe=probe_answer(True),
    )
    assert a.wire.agrees_with_config is False
    assert a.verdict.status == NONCOMPLIANT
    assert "not to require" in a.verdict.reasons[0]


def test_wire_that_agrees_keeps_compliant() -> None:
    a = assessed(settings=ALL_ON, probe=probe_answer(True))
    assert a.wire.agrees_with_config is True
    assert a.wire.message is None
    assert a.verdict.status == COMPLIANT


@pytest.mark.parametrize(
    ("probe", "words"),
    [
        (
            probe_answer(None, reachable=False, error="timeout", detail="no answer in 3.0 s"),
            ["timeout", "no answer in 3.0 s"],
        ),
        (probe_answer(None, reachable=True, error="closed"), ["closed"]),
        (
            probe_answer(None, reachable=False, error="probe_failed", detail="RuntimeError: boom"),
            ["probe_failed", "RuntimeError: boom"],
        ),
        (probe_answer(None, reachable=False, address="10.1.2.3", port=1445), ["no answer"]),
    ],
)
def test_probe_without_answer_is_unverified_naming_endpoint_and_error(probe, words) -> None:
    a = assessed(settings=ALL_ON, probe=probe)
    assert a.verdict.status == UNVERIFIED
    (finding,) = a.verdict.findings
    assert finding.subject == "wire"
    assert f"{probe['address']}:{probe['port']}" in finding.text
    for word in words:
        assert word in finding.text


def test_owner_unknown_on_a_compliant_setting_is_unverified_naming_rsop_error() -> None:
    a = assessed(settings=ALL_ON, rsop_available=False, rsop_error="Access denied")
    assert a.verdict.status == UNVERIFIED
    (finding,) = a.verdict.findings
    assert finding.subject == "owner"
    assert "Access denied" in finding.text
    assert "server_require" in finding.text
    assert "audit_unsigned_servers" in finding.text


def test_owner_unknown_matters_only_where_a_setting_is_judged() -> None:
    # Only client_enable is judged, and nothing stores it: its owner is the default. The stored
    # server_require has an unknown owner, but no target, so ownership does not matter.
    a = assessed(
        targets={"client_enable": True},
        baseline="custom",
        settings={"server_require": True},
        rsop_available=False,
        rsop_error="Access denied",
    )
    assert a.settings["server_require"].owner == OWNER_UNKNOWN
    assert a.settings["client_enable"].owner == OWNER_DEFAULT
    assert a.verdict.status == COMPLIANT


def test_a_miss_outranks_missing_evidence_and_is_listed_first() -> None:
    a = assessed(
        settings={**ALL_ON, "server_enable": False},
        rsop_available=False,
        rsop_error="Access denied",
        probe=probe_answer(None, reachable=False, error="timeout"),
    )
    assert a.verdict.status == NONCOMPLIANT
    statuses = [f.status for f in a.verdict.findings]
    assert statuses[0] == NONCOMPLIANT
    assert sorted(f.subject for f in a.verdict.findings) == ["owner", "server_enable", "wire"]


def test_nothing_judged_is_unverified() -> None:
    a = assessed(baseline="custom", targets={}, settings=ALL_ON)
    assert not any(s.judged for s in a.settings.values())
    assert a.verdict.status == UNVERIFIED
    assert [f.subject for f in a.verdict.findings] == ["judged"]


def test_only_unsupported_targets_is_nothing_judged() -> None:
    a = assessed(
        baseline="custom",
        targets={"audit_unsigned_clients": True},
        audit_parameters=False,
    )
    assert a.verdict.status == UNVERIFIED


# --- with_wire ---------------------------------------------------------------------------------


def test_with_wire_changes_only_wire_and_verdict() -> None:
    a = assessed(settings=ALL_ON)
    b = a.with_wire(probe_answer(False))
    assert a.verdict.status == COMPLIANT
    assert a.wire is None
    assert b.verdict.status == NONCOMPLIANT
    assert b.wire is not None
    for f in fields(a):
        if f.name not in ("wire", "verdict"):
            assert getattr(b, f.name) == getattr(a, f.name), f.name


def test_with_wire_keeps_the_rsop_error_for_the_verdict() -> None:
    a = assessed(settings=ALL_ON, rsop_available=False, rsop_error="Access denied")
    b = a.with_wire(probe_answer(True))
    assert b.verdict.status == UNVERIFIED
    assert "Access denied" in b.verdict.reasons[0]


def test_with_wire_none_drops_the_wire() -> None:
    a = assessed(settings=ALL_ON, probe=probe_answer(False))
    b = a.with_wire(None)
    assert b.wire is None
    assert b.verdict.status == COMPLIANT


# --- observe_wire ------------------------------------------------------------------------------


def test_observe_wire_without_probe_is_none() -> None:
    assert observe_wire(None, True) is None


def test_observe_wire_fields() -> None:
    w = observe_wire(probe_answer(True, address="10.0.0.9", port=4445), True)
    assert (w.address, w.port, w.where) == ("10.0.0.9", 4445, "10.0.0.9:4445")
    assert (w.reachable, w.signing_required, w.answered, w.agrees_with_config) == (
        True,
        True,
        True,
        True,
    )


def test_observe_wire_unreachable_has_no_agreement() -> None:
    w = observe_wire(probe_answer(None, reachable=False, error="refused"), True)
    assert w.answered is False
    assert w.agrees_with_config is None
    assert w.message is None
    assert w.error == "refused"


# --- posture -----------------------------------------------------------------------------------


def test_posture_uses_the_wire_answer() -> None:
    a = assessed(settings=ALL_ON, probe=probe_answer(False))
    server = a.posture()["server"]
    assert server["from"] == "wire"
    assert server["requires_signing_smb2"] is False
    assert server["requires_signing_smb1"] is False


def test_posture_from_configuration_without_a_wire_answer() -> None:
    a = assessed(
        settings={"server_require": True, "server_enable": False},
        probe=probe_answer(None, reachable=False, error="timeout"),
    )
    p = a.posture()
    assert p["server"]["from"] == "configuration"
    assert p["server"]["requires_signing_smb2"] is True
    # SMB1: a server that requires signing turns away a client that cannot sign.
    assert p["server"]["requires_signing_smb1"] is True


def test_posture_client_side() -> None:
    a = assessed(settings={"client_require": False, "client_enable": True})
    client = a.posture()["client"]
    assert client == {
        "requires_signing_smb2": False,
        "requires_signing_smb1": False,
        "from": "configuration",
    }
    b = assessed(settings={"client_require": True})
    assert b.posture()["client"]["requires_signing_smb2"] is True
    assert b.posture()["client"]["requires_signing_smb1"] is True


# --- the rest of the assessment ----------------------------------------------------------------


def test_audit_evidence_needs_events_and_a_window() -> None:
    ev = answers.events(server=answers.log(peers=[("10.0.0.5", 2)]))
    a = assessed(
        events=ev, marker="2026-11-01T00:00:00.0000000Z", window_start="2026-11-17T12:00:00Z"
    )
    assert a.audit is not None
    assert a.audit.window_start == "2026-11-17T12:00:00Z"
    assert a.audit.server.count == 2
    assert a.audit.client.count == 0
    assert a.audit.audit_on_since == "2026-11-01T00:00:00.0000000Z"
    assert a.audit_on_since == "2026-11-01T00:00:00.0000000Z"
    assert assessed(events=ev).audit is None
    assert assessed(events=None, window_start="2026-11-17T12:00:00Z").audit is None


def test_host_fields() -> None:
    a = assessed(
        computer_name="DC01",
        domain_role=4,
        server_config={"EnableSMB1Protocol": True},
        settings={"server_require": True},
    )
    assert (a.computer_name, a.domain_role, a.profile, a.baseline) == (
        "DC01",
        4,
        "domain_controller",
        "cis",
    )
    assert a.os_info.family == "windows_server_2022"
    assert a.smb1_server_enabled is True
    assert a.value("server_require") is True
    assert a.values()["server_require"] is True
    assert set(a.values()) == set(answers.KEYS)


def test_unknown_domain_role_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="domain_role"):
        assessed(domain_role=9)


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("MACHINE\\System\\X", "system\\x"),
        ("HKLM\\SYSTEM\\X", "system\\x"),
        ("HKLM:\\SYSTEM\\X", "system\\x"),
        ("HKEY_LOCAL_MACHINE\\System\\X", "system\\x"),
        ("  Software\\Policies  ", "software\\policies"),
    ],
)
def test_normalize_key(path: str, key: str) -> None:
    assert normalize_key(path) == key


def test_assess_of_a_state_directly() -> None:
    st = answers.state(settings=ALL_ON)
    a = assess(st, baseline="stig", targets={"server_require": True})
    assert a.baseline == "stig"
    assert a.settings["server_require"].expected is True
    assert a.settings["client_require"].expected is None
    assert "stig" in a.settings["server_require"].reason


def test_a_gpo_that_sets_another_value_makes_the_host_noncompliant() -> None:
    # The GPO "Legacy NAS compat" sets client signing off; the value in force is on today, but
    # the next policy refresh puts the GPO's value back.
    entry = {**answers.rsop_value("client_require", gpo_name="Legacy NAS compat"), "data": "0"}
    a = assessed(settings=ALL_ON, rsop_entries=[entry])
    s = a.settings["client_require"]
    assert (s.owner, s.gpo_value, s.value) == ("gpo", False, True)
    assert a.verdict.status == "noncompliant"
    assert any("GPO Legacy NAS compat" in r and "puts it back" in r for r in a.verdict.reasons)


def test_a_gpo_entry_with_nothing_stored_still_owns_the_setting() -> None:
    a = assessed(settings=ALL_ON, store=False, rsop_entries=[answers.rsop_value("server_require")])
    assert a.settings["server_require"].owner == "gpo"
    assert a.verdict.status == "compliant"
