"""The smb_signing facts from captured lab answers: sources, values, posture, the wire check."""

from __future__ import annotations

import copy
from typing import Any, Dict, Optional

import pytest
from unit.plugins.plugin_utils.fake_windows import captured_json

from ansible_collections.winhardening.smb.plugins.module_utils.catalog import SETTING_NAMES
from ansible_collections.winhardening.smb.plugins.plugin_utils._facts import (
    build_facts,
    normalize_key,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._target_state import (
    parse_read_state,
)


def _facts(
    host: str, probe: Optional[Dict[str, Any]] = None, baseline: str = "cis", **changes: Any
) -> Dict[str, Any]:
    data = copy.deepcopy(captured_json(f"read_state_{host}.txt"))
    data.update(changes)
    return build_facts(
        parse_read_state(data),
        baseline=baseline,
        custom=None,
        events_since="2026-11-01T00:00:00Z" if data.get("events") else None,
        probe=probe,
    )


def _probe(required: Optional[bool], reachable: bool = True) -> Dict[str, Any]:
    return {
        "address": "127.0.0.9",
        "port": 14450,
        "reachable": reachable,
        "dialect": "3.1.1" if reachable else None,
        "signing_enabled": True if reachable else None,
        "signing_required": required,
        "error": None if reachable else "refused",
        "detail": "",
    }


def test_schema_keys_are_stable() -> None:
    facts = _facts("dc01")
    assert facts["schema_version"] == 1
    assert set(facts) == {
        "schema_version", "computer_name", "os", "domain_role", "profile", "baseline",
        "settings", "smb1", "audit", "rsop", "posture", "compliant", "noncompliant",
        "observed", "warnings",
    }  # fmt: skip
    assert set(facts["settings"]) == set(SETTING_NAMES)
    for entry in facts["settings"].values():
        assert set(entry) == {
            "display_name", "supported", "registry", "policy_registry", "cmdlet_value", "value",
            "source", "gpo", "os_default", "expected", "compliant", "reason", "smb1_only",
        }  # fmt: skip


def test_dc_server_require_is_owned_by_the_default_dc_policy() -> None:
    facts = _facts("dc01")
    assert facts["profile"] == "domain_controller"
    assert facts["os"]["family"] == "windows_server_2022"
    entry = facts["settings"]["server_require"]
    assert entry["source"] == "gpo"
    assert entry["gpo"] == {
        "name": "Default Domain Controllers Policy",
        "id": "{6AC1786C-016F-11D2-945F-00C04fB984F9}",
    }
    assert entry["registry"] == {"present": True, "type": "DWord", "data": 1}
    assert entry["value"] is True
    assert facts["posture"]["server"] == {
        "requires_signing_smb2": True,
        "requires_signing_smb1": True,
    }


def test_member_with_site_gpo_on_client_signing() -> None:
    facts = _facts("ms2019")
    client = facts["settings"]["client_require"]
    assert client["source"] == "gpo"
    assert client["gpo"]["name"] == "Tier1 SMB Hardening"
    assert facts["settings"]["server_require"]["source"] == "default"
    assert facts["posture"]["client"]["requires_signing_smb2"] is True
    assert facts["posture"]["server"]["requires_signing_smb2"] is False
    assert "server_require" in facts["noncompliant"]


def test_absent_values_fall_back_to_the_os_default() -> None:
    facts = _facts("ms2025")
    client = facts["settings"]["client_require"]
    # Windows Server 2025 requires outbound signing by default; nothing is stored.
    assert client["registry"]["present"] is False
    assert client["source"] == "default"
    assert client["os_default"] is True
    assert client["value"] is True


def test_value_comes_from_registry_then_default_when_the_cmdlet_lacks_it() -> None:
    data = copy.deepcopy(captured_json("read_state_ms2019.txt"))
    del data["server_config"]["RequireSecuritySignature"]
    data["registry"]["server"]["RequireSecuritySignature"] = {"type": "DWord", "data": 1}
    facts = build_facts(
        parse_read_state(data), baseline="cis", custom=None, events_since=None, probe=None
    )
    entry = facts["settings"]["server_require"]
    assert entry["cmdlet_value"] is None
    assert entry["value"] is True
    assert entry["source"] == "local"


def test_audit_settings_where_the_os_lacks_them() -> None:
    facts = _facts("ms2016")
    for name in ("audit_unsigned_clients", "audit_unsigned_servers"):
        entry = facts["settings"][name]
        assert entry["supported"] is False
        assert entry["value"] is None
        assert entry["compliant"] is None
        assert name not in facts["noncompliant"]
    assert facts["audit"]["supported"] == {"server": False, "client": False}
    assert facts["smb1"] == {"server_enabled": True}


def test_audit_backport_server_only() -> None:
    facts = _facts("ms2022")
    assert facts["audit"]["supported"] == {"server": True, "client": False}
    entry = facts["settings"]["audit_unsigned_clients"]
    assert entry["source"] == "local"
    assert entry["value"] is True


def test_events_are_grouped_by_peer() -> None:
    facts = _facts("ms2025")
    events = facts["audit"]["events"]
    assert events["since"] == "2026-11-01T00:00:00Z"
    server = events["server"]
    assert server["count"] == 3
    assert server["sampled"] == 2
    assert sum(p["count"] for p in server["peers"]) == 2
    assert events["client"]["count"] == 0


def test_standalone_host_reports_no_rsop_and_no_gpo() -> None:
    facts = _facts("web01")
    assert facts["profile"] == "standalone_server"
    assert facts["rsop"]["available"] is False
    assert all(e["source"] != "gpo" for e in facts["settings"].values())


@pytest.mark.parametrize(
    ("host", "required", "agrees"),
    [
        ("dc01", True, True),
        ("dc01", False, False),
        ("ms2019", False, True),
        ("ms2019", True, False),
    ],
)
def test_wire_agreement(host: str, required: bool, agrees: bool) -> None:
    facts = _facts(host, probe=_probe(required))
    observed = facts["observed"]
    assert observed["agrees_with_config"] is agrees
    if agrees:
        assert observed["message"] is None
        assert facts["warnings"] == []
    else:
        assert "answered the negotiate" in observed["message"]
        assert facts["warnings"] == [f"{facts['computer_name']}: {observed['message']}"]


def test_unreachable_probe_is_not_a_disagreement() -> None:
    facts = _facts("dc01", probe=_probe(None, reachable=False))
    assert facts["observed"]["agrees_with_config"] is None
    assert facts["observed"]["error"] == "refused"
    assert facts["warnings"] == []


def test_microsoft_baseline_does_not_judge_the_smb1_settings() -> None:
    facts = _facts("ms2019", baseline="microsoft")
    assert facts["settings"]["server_enable"]["expected"] is None
    assert facts["settings"]["server_enable"]["compliant"] is None
    assert facts["noncompliant"] == ["server_require"]


def test_rsop_paths_compare_without_hive_or_case() -> None:
    assert normalize_key(
        "MACHINE\\System\\CurrentControlSet\\Services\\LanManServer\\Parameters\\X"
    ) == normalize_key("HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters\\x")
