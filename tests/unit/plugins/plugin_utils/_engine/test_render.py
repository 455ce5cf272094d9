"""render.py: ansible_facts.smb_signing (docs/facts-schema.md, version 2), the settings result
and the diff."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from unit.plugins.plugin_utils._engine import answers
from unit.plugins.plugin_utils._engine.answers import ALL_ON, assessed, probe_answer

from ansible_collections.winhardening.smb.plugins.plugin_utils._engine import render

SETTING_KEYS = {
    "waiver",
    "display_name",
    "supported",
    "writable",
    "registry",
    "policy_registry",
    "cmdlet_value",
    "value",
    "owner",
    "gpo",
    "os_default",
    "expected",
    "compliant",
    "reason",
    "smb1_only",
    "benchmarks",
}
TOP_KEYS = {
    "waivers",
    "schema_version",
    "computer_name",
    "os",
    "domain_role",
    "profile",
    "baseline",
    "status",
    "status_reasons",
    "verdict",
    "compliant",
    "noncompliant",
    "settings",
    "smb1",
    "audit",
    "rsop",
    "posture",
    "observed",
    "warnings",
}
TIER1 = ("Tier1 SMB Hardening", "{2B7C6A4E-9D1F-4E7B-8C55-1A2B3C4D5E6F}")


def schema_example():
    """The host of the example in docs/facts-schema.md: a WS2022 member server with
    KB5066913, CIS, a 14-day window (from 2026-11-18) with max_audit_peers 2, a site GPO owning
    client signing, server signing turned off locally, and a probe that agrees."""
    return assessed(
        computer_name="FILES01",
        os="ws2022",
        domain_role=3,
        settings={"client_require": True, "audit_unsigned_clients": True, "server_require": False},
        store=False,
        registry_values={
            "server": {"RequireSecuritySignature": 0, answers.SERVER_AUDIT: 1},
            "client": {"RequireSecuritySignature": 1},
        },
        parameters={"server": [answers.SERVER_AUDIT], "client": []},
        client_config={answers.CLIENT_AUDIT: answers.ABSENT},
        rsop_entries=[answers.rsop_value("client_require", *TIER1)],
        events=answers.events(
            server=answers.log(
                peers=[
                    ("10.20.0.15", 51, "2026-11-30T11:45:00.0000000Z"),
                    ("PRINTER-07", 4, "2026-11-29T09:30:00.0000000Z"),
                ],
                count=57,
                peers_total=3,
            ),
            client=answers.log(available=False),
        ),
        marker="2026-11-02T09:14:03.5210000Z",
        window_start="2026-11-18T00:00:00Z",
        probe={
            **probe_answer(False, address="10.20.0.21"),
            "detail": "SMB 3.1.1, signing not required (SecurityMode 0x01)",
        },
    )


def test_facts_of_the_documented_example() -> None:
    f = render.facts(schema_example())
    assert set(f) == TOP_KEYS
    assert f["schema_version"] == 2
    assert f["computer_name"] == "FILES01"
    assert f["os"] == {**answers.OS["ws2022"], "family": "windows_server_2022"}
    assert (f["domain_role"], f["profile"], f["baseline"]) == (3, "member_server", "cis")
    assert f["status"] == "noncompliant"
    assert f["status_reasons"] == [
        "server_require: required by cis; found disabled (local)",
        "server_enable: required by cis; found disabled (default)",
    ]
    assert f["verdict"] == "noncompliant"
    assert f["compliant"] is False
    assert f["noncompliant"] == ["server_require", "server_enable"]
    assert f["settings"]["server_require"] == {
        "display_name": "Microsoft network server: Digitally sign communications (always)",
        "supported": True,
        "writable": True,
        "registry": {"present": True, "type": "DWord", "data": 0},
        "policy_registry": None,
        "cmdlet_value": False,
        "value": False,
        "owner": "local",
        "gpo": None,
        "os_default": False,
        "expected": True,
        "compliant": False,
        "reason": "required by cis; found disabled (local)",
        "smb1_only": False,
        "benchmarks": {
            "cis": "2.3.9.2",
            "stig": "WN22-SO-000190",
            "stig_vuln_id": "V-254463",
            "cce": "CCE-37864-6",
        },
        "waiver": None,
    }
    client_require = f["settings"]["client_require"]
    assert client_require["owner"] == "gpo"
    assert client_require["gpo"] == {"name": TIER1[0], "id": TIER1[1]}
    assert client_require["reason"] == "required by cis; found enabled (gpo)"
    assert client_require["benchmarks"] == {
        "cis": "2.3.8.1",
        "stig": "WN22-SO-000160",
        "stig_vuln_id": "V-254460",
        "cce": "CCE-36325-9",
    }
    audit = f["settings"]["audit_unsigned_clients"]
    assert audit["policy_registry"] == {"present": False, "type": None, "data": None}
    assert audit["registry"] == {"present": True, "type": "DWord", "data": 1}
    assert (audit["value"], audit["owner"], audit["compliant"]) == (True, "local", True)
    assert audit["benchmarks"] == {
        "cis": "18.6.7.2",
        "stig": None,
        "stig_vuln_id": None,
        "cce": None,
    }
    assert f["settings"]["server_enable"]["smb1_only"] is True
    assert f["smb1"] == {"server_enabled": False}
    assert f["audit"] == {
        "supported": {"server": True, "client": False},
        "auditing_on_since": "2026-11-02T09:14:03.5210000Z",
        "events": {
            "since": "2026-11-18T00:00:00Z",
            "server": {
                "available": True,
                "error": None,
                "count": 57,
                "peers": [
                    {
                        "peer": "10.20.0.15",
                        "count": 51,
                        "last": "2026-11-30T11:45:00.0000000Z",
                        "peer_field": "ClientName",
                    },
                    {
                        "peer": "PRINTER-07",
                        "count": 4,
                        "last": "2026-11-29T09:30:00.0000000Z",
                        "peer_field": "ClientName",
                    },
                ],
                "peers_total": 3,
                "peers_left_out": 1,
                "truncated": False,
                "ids": {"3021": 57},
            },
            "client": {
                "available": False,
                "error": None,
                "count": 0,
                "peers": [],
                "peers_total": 0,
                "peers_left_out": 0,
                "truncated": False,
                "ids": {},
            },
        },
        "spn_audit": {
            "registry": {"present": False, "type": None, "data": None},
            "policy_registry": {"present": False, "type": None, "data": None},
            "enabled": False,
        },
    }
    assert f["rsop"] == {"available": True, "error": None}
    assert f["posture"] == {
        "server": {"requires_signing_smb2": False, "requires_signing_smb1": False, "from": "wire"},
        "client": {
            "requires_signing_smb2": True,
            "requires_signing_smb1": True,
            "from": "configuration",
        },
    }
    assert f["observed"] == {
        "address": "10.20.0.21",
        "port": 445,
        "reachable": True,
        "dialect": "3.1.1",
        "signing_enabled": True,
        "signing_required": False,
        "error": None,
        "detail": "SMB 3.1.1, signing not required (SecurityMode 0x01)",
        "agrees_with_config": True,
        "message": None,
    }
    assert f["warnings"] == []


def test_every_setting_has_every_key() -> None:
    f = render.facts(assessed(settings=ALL_ON))
    assert set(f["settings"]) == set(answers.KEYS)
    for name, entry in f["settings"].items():
        assert set(entry) == SETTING_KEYS, name
        assert set(entry["benchmarks"]) == {"cis", "stig", "stig_vuln_id", "cce"}
    assert f["settings"]["server_require"]["policy_registry"] is None
    assert f["settings"]["audit_unsigned_servers"]["policy_registry"] is not None


@pytest.mark.parametrize(
    ("os", "stig"),
    [("ws2019", "WN19-SO-000190"), ("ws2022", "WN22-SO-000190"), ("ws2025", None)],
)
def test_stig_ids_follow_the_os_family(os: str, stig: Any) -> None:
    f = render.facts(assessed(os=os))
    assert f["settings"]["server_require"]["benchmarks"]["stig"] == stig
    assert f["settings"]["server_require"]["benchmarks"]["cis"] == "2.3.9.2"


def test_a_compliant_host() -> None:
    f = render.facts(assessed(settings=ALL_ON, probe=probe_answer(True)))
    assert (f["status"], f["verdict"], f["compliant"]) == ("compliant", "compliant", True)
    assert f["status_reasons"] == []
    assert f["noncompliant"] == []
    assert {s["owner"] for s in f["settings"].values()} == {"local"}


@pytest.mark.parametrize("status", ["blocked", "failed", "noncompliant", "unverified"])
def test_status_is_the_given_final_status(status: str) -> None:
    a = assessed(settings=ALL_ON)
    f = render.facts(a, status=status, reasons=["host01: because"], warnings=["careful"])
    assert f["status"] == status
    assert f["verdict"] == "compliant"  # the assessment's own verdict stays
    assert f["compliant"] is False
    assert f["status_reasons"] == ["host01: because"]
    assert f["warnings"] == ["careful"]


def test_status_without_reasons_keeps_the_verdict_reasons() -> None:
    a = assessed(settings={**ALL_ON, "client_require": False})
    f = render.facts(a, status="failed")
    assert f["status"] == "failed"
    assert f["status_reasons"] == list(a.verdict.reasons)
    assert f["status_reasons"][0].startswith("client_require: ")


def test_wire_contradiction_in_the_facts() -> None:
    f = render.facts(assessed(settings=ALL_ON, probe=probe_answer(False)))
    assert f["status"] == "noncompliant"
    assert f["compliant"] is False
    assert f["noncompliant"] == []  # every setting complies: the wire is the reason
    assert f["status_reasons"][0].startswith("wire: ")
    assert f["observed"]["agrees_with_config"] is False
    assert f["posture"]["server"]["from"] == "wire"


def test_unknown_owner_in_the_facts() -> None:
    f = render.facts(assessed(settings=ALL_ON, rsop_available=False, rsop_error="Access denied"))
    assert f["status"] == "unverified"
    assert f["rsop"] == {"available": False, "error": "Access denied"}
    assert {s["owner"] for s in f["settings"].values()} == {"unknown"}
    assert all(s["gpo"] is None for s in f["settings"].values())


def test_an_spn_audit_value_in_the_facts() -> None:
    a = assessed(registry_values={"server_policy": {"AuditClientSpnSupport": 1}})
    spn = render.facts(a)["audit"]["spn_audit"]
    assert spn == {
        "registry": {"present": False, "type": None, "data": None},
        "policy_registry": {"present": True, "type": "DWord", "data": 1},
        "enabled": True,
    }


def test_no_events_and_no_wire() -> None:
    f = render.facts(assessed())
    assert f["audit"]["events"] is None
    assert f["audit"]["auditing_on_since"] is None
    assert f["observed"] is None
    assert f["posture"]["server"]["from"] == "configuration"


def test_statuses() -> None:
    assert set(render.STATUSES) == {
        "compliant",
        "noncompliant",
        "unverified",
        "waived",
        "blocked",
        "failed",
        "unreachable",
    }
    assert render.wire_facts(None) is None


# --- settings_result and diff ------------------------------------------------------------------


def _before_after():
    before = assessed(
        settings={"server_require": False, "client_require": False},
        rsop_entries=[answers.rsop_value("client_require", "Tier1", "{T1}")],
        audit_parameters=False,
    )
    # The read-back: server_require written; client_require refused, so still off.
    after = assessed(
        settings={"server_require": True, "client_require": False},
        rsop_entries=[answers.rsop_value("client_require", "Tier1", "{T1}")],
        audit_parameters=False,
    )
    desired: Dict[str, Any] = {name: None for name in answers.KEYS}
    desired.update(server_require=True, client_require=True, audit_unsigned_clients=True)
    return desired, before, after


def test_settings_result() -> None:
    desired, before, after = _before_after()
    out = render.settings_result(desired, before, after)
    assert set(out) == set(answers.KEYS)
    assert out["server_require"] == {
        "display_name": "Microsoft network server: Digitally sign communications (always)",
        "managed": True,
        "before": False,
        "after": True,
        "changed": True,
        "owner": "local",
        "owner_before": "local",
        "gpo": None,
    }
    assert out["client_require"]["changed"] is False
    assert out["client_require"]["owner"] == "gpo"
    assert out["client_require"]["gpo"] == {"name": "Tier1", "id": "{T1}"}
    assert out["server_enable"]["managed"] is False
    assert out["audit_unsigned_clients"]["before"] is None


def test_settings_result_owner_is_the_read_back_s() -> None:
    # A write Windows refused leaves nothing stored: the owner after is the default.
    before = assessed(store=False)
    after = assessed(store=False)
    desired = {"server_require": True}
    out = render.settings_result(desired, before, after)
    assert out["server_require"]["owner"] == "default"
    assert out["server_require"]["changed"] is False


def test_diff() -> None:
    desired, before, after = _before_after()
    d = render.diff("host01", desired, before, after)
    assert d == {
        "before_header": "host01 (before)",
        "after_header": "host01 (after)",
        "before": {
            "Microsoft network server: Digitally sign communications (always)": "Disabled",
            "Microsoft network client: Digitally sign communications (always)": "Disabled",
            "Lanman Server: Audit client does not support signing": "Not supported",
        },
        "after": {
            "Microsoft network server: Digitally sign communications (always)": "Enabled",
            "Microsoft network client: Digitally sign communications (always)": "Disabled",
            "Lanman Server: Audit client does not support signing": "Not supported",
        },
    }


def test_diff_of_nothing_managed() -> None:
    a = assessed()
    d = render.diff("host01", {}, a, a)
    assert d["before"] == {}
    assert d["after"] == {}
