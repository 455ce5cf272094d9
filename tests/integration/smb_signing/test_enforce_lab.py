"""win_smb_signing end to end: ansible-playbook over WinRM against the demo lab.

The lab's records (every script a host ran and every write it took) and its model are the
ground truth for what was written; its Samba is the ground truth for the wire.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from integration.playbook import Run, run_task

from ansible_collections.winhardening.smb.plugins.module_utils.smb_negotiate import probe_endpoint
from lab.model import HostModel

pytestmark = [pytest.mark.lab, pytest.mark.slow]

SERVER_ALWAYS = "Microsoft network server: Digitally sign communications (always)"


def _enforce(lab: Any, host: str, args: Dict[str, Any], **kw: Any) -> Run:
    # The plugins read no host variable: the lab's SMB port is passed as the role passes it.
    args = {"probe_port": "{{ smb_signing_probe_port }}", **args}
    return run_task(lab.inventory, "win_smb_signing", args, limit=host, **kw)


def _writes(lab: Any, host: str) -> List[Dict[str, Any]]:
    writes: List[Dict[str, Any]] = lab.records(host)["writes"]
    return writes


def _config(lab: Any, host: str, side: str) -> Dict[str, bool]:
    return HostModel.from_json(lab.model(host)).config(side)


def test_every_setting_option_idempotent_and_one_round_trip_when_compliant(lab: Any) -> None:
    args = {
        "server_require": True,
        "server_enable": True,
        "client_require": True,
        "client_enable": True,
        "audit_unsigned_clients": True,
        "audit_unsigned_servers": True,
    }
    trips = lab.records("ms2025")["round_trips"]
    first = _enforce(lab, "ms2025", args).results["ms2025"]
    assert first.get("failed") is not True, first
    assert first["changed"] is True
    assert lab.records("ms2025")["round_trips"] - trips == 2
    server, client = _config(lab, "ms2025", "server"), _config(lab, "ms2025", "client")
    assert server["RequireSecuritySignature"] is True
    assert server["EnableSecuritySignature"] is True
    assert server["AuditClientDoesNotSupportSigning"] is True
    assert client["AuditServerDoesNotSupportSigning"] is True
    written = {(w["side"], w["property"]) for w in _writes(lab, "ms2025")}
    assert ("server", "RequireSecuritySignature") in written
    assert ("client", "AuditServerDoesNotSupportSigning") in written
    # Client require/enable were already on (WS2025 default), so they were not written.
    assert ("client", "RequireSecuritySignature") not in written
    assert first["reboot_required"] is False
    trips = lab.records("ms2025")["round_trips"]
    second = _enforce(lab, "ms2025", args).results["ms2025"]
    assert second["changed"] is False
    assert lab.records("ms2025")["round_trips"] - trips == 1
    assert all(s["after"] is True for s in second["settings"].values())


def test_check_mode_writes_nothing_and_shows_the_diff(lab: Any) -> None:
    writes = len(_writes(lab, "web01"))
    before = _config(lab, "web01", "server")
    run = _enforce(lab, "web01", {"server_require": True}, check=True, diff=True)
    result = run.results["web01"]
    assert result["changed"] is True
    assert len(_writes(lab, "web01")) == writes
    assert _config(lab, "web01", "server") == before
    assert [s["op"] for s in lab.records("web01")["scripts"]][-1] == "read_state"
    assert result["diff"]["before"] == {SERVER_ALWAYS: "Disabled"}
    assert result["diff"]["after"] == {SERVER_ALWAYS: "Enabled"}
    # The default callback prints the diff under the policy display name.
    assert f'-    "{SERVER_ALWAYS}": "Disabled"' in run.stdout
    assert f'+    "{SERVER_ALWAYS}": "Enabled"' in run.stdout


def test_enforcing_server_signing_is_seen_on_the_wire(lab: Any) -> None:
    address, port = lab.address("web01"), lab.fleet["smb_port"]
    assert probe_endpoint(address, port, 3.0).signing_required is False
    result = _enforce(lab, "web01", {"server_require": True}).results["web01"]
    assert result["changed"] is True
    observed = result["observed"]
    assert observed["signing_required"] is True
    assert observed["agrees_with_config"] is True
    # An independent negotiate from the test agrees: the lab's Samba now requires signing.
    assert probe_endpoint(address, port, 3.0).signing_required is True


def test_gpo_owned_setting_warn_writes_and_names_the_gpo(lab: Any) -> None:
    run = _enforce(lab, "ms2019", {"client_require": False, "allow_weakening": True})
    result = run.results["ms2019"]
    assert result["changed"] is True
    assert result["gpo_owned"] == ["client_require"]
    (warning,) = result["warnings"]
    assert "Tier1 SMB Hardening" in warning
    assert "16 hours" in warning
    assert "90 minutes" in warning
    assert _config(lab, "ms2019", "client")["RequireSecuritySignature"] is False
    # Group Policy puts its value back, as the warning said it would.
    lab.policy_refresh("ms2019")
    assert _config(lab, "ms2019", "client")["RequireSecuritySignature"] is True


def test_gpo_owned_setting_fail_writes_nothing(lab: Any) -> None:
    writes = len(_writes(lab, "dc01"))
    run = _enforce(
        lab,
        "dc01",
        {"server_require": False, "allow_weakening": True, "on_gpo_conflict": "fail"},
    )
    result = run.results["dc01"]
    assert result["failed"] is True
    assert "Default Domain Controllers Policy" in result["msg"]
    assert len(_writes(lab, "dc01")) == writes
    assert _config(lab, "dc01", "server")["RequireSecuritySignature"] is True


def test_gpo_conflict_ignore_writes_without_warning(lab: Any) -> None:
    result = _enforce(
        lab,
        "dc01",
        {"server_require": False, "allow_weakening": True, "on_gpo_conflict": "ignore"},
    ).results["dc01"]
    assert result["changed"] is True
    assert "warnings" not in result
    lab.policy_refresh("dc01")


def test_weakening_refused_then_allowed(lab: Any) -> None:
    writes = len(_writes(lab, "dc02"))
    refused = _enforce(lab, "dc02", {"client_enable": False}).results["dc02"]
    assert refused["failed"] is True
    assert "allow_weakening" in refused["msg"]
    assert len(_writes(lab, "dc02")) == writes
    allowed = _enforce(lab, "dc02", {"client_enable": False, "allow_weakening": True})
    assert allowed.results["dc02"]["changed"] is True
    assert _config(lab, "dc02", "client")["EnableSecuritySignature"] is False


def test_audit_option_on_an_os_without_it(lab: Any) -> None:
    writes = len(_writes(lab, "ms2016"))
    result = _enforce(lab, "ms2016", {"audit_unsigned_servers": True}).results["ms2016"]
    assert result["failed"] is True
    assert "-AuditServerDoesNotSupportSigning" in result["msg"]
    assert "Windows Server 2025 and Windows 11 24H2" in result["msg"]
    assert len(_writes(lab, "ms2016")) == writes
    # The same setting asked for by a baseline is skipped with a warning.
    baseline = _enforce(lab, "ms2016", {"baseline": "cis", "probe": False}).results["ms2016"]
    assert baseline.get("failed") is not True, baseline
    assert sum("skipping audit_unsigned" in w for w in baseline["warnings"]) == 2
    assert _config(lab, "ms2016", "server")["RequireSecuritySignature"] is True


def test_connection_dropped_after_the_write_is_state_unknown_then_converges(lab: Any) -> None:
    lab.fault("ms2022", "drop_after_write", once=True)
    run = _enforce(lab, "ms2022", {"client_require": True, "probe": False})
    result = run.results["ms2022"]
    assert result["failed"] is True
    assert result["state_unknown"] is True
    assert "may or may not have been applied" in result["msg"]
    assert run.recap_of("ms2022")["unreachable"] == 0
    # The lab did apply it before dropping the connection; a re-run reads and converges.
    assert _config(lab, "ms2022", "client")["RequireSecuritySignature"] is True
    rerun = _enforce(lab, "ms2022", {"client_require": True, "probe": False})
    assert rerun.results["ms2022"]["changed"] is False
    assert rerun.results["ms2022"].get("failed") is not True


def test_partial_failure_is_reported_from_the_read_back(lab: Any) -> None:
    lab.set("ms2022", "deny_writes=server.RequireSecuritySignature")
    try:
        result = _enforce(
            lab, "ms2022", {"server_require": True, "server_enable": True, "probe": False}
        ).results["ms2022"]
    finally:
        lab.set("ms2022", "deny_writes=")
    assert result["failed"] is True
    assert result["status"] == "failed"
    assert result["settings"]["server_enable"]["changed"] is True
    assert result["settings"]["server_require"]["changed"] is False
    (missed,) = result["not_applied"]
    assert missed.startswith("server_require (wanted True, read back False"), missed
    assert "Access is denied." in missed
    # The refused setting's owner is what the read-back shows (default), not "local".
    assert result["settings"]["server_require"]["owner"] == "default"
    facts = result["ansible_facts"]["smb_signing"]
    assert facts["settings"]["server_require"]["owner"] == "default"
    assert facts["status"] == "failed"


def test_baseline_custom_and_probe_options(lab: Any) -> None:
    run = _enforce(
        lab,
        "dc02",
        {
            "baseline": "custom",
            "custom_baseline": {"server_require": True, "audit_unsigned_clients": True},
            "probe_address": lab.address("dc02"),
            "probe_port": lab.fleet["smb_port"],
            "probe_timeout": 2.5,
        },
    )
    result = run.results["dc02"]
    assert result.get("failed") is not True, result
    managed = sorted(n for n, s in result["settings"].items() if s["managed"])
    assert managed == ["audit_unsigned_clients", "server_require"]
    # server_require is already on (Default Domain Controllers Policy); the audit is not.
    assert result["settings"]["server_require"]["changed"] is False
    assert result["settings"]["audit_unsigned_clients"]["changed"] is True
    assert result["observed"]["address"] == lab.address("dc02")
    assert result["observed"]["port"] == lab.fleet["smb_port"]
    assert result["observed"]["signing_required"] is True


def test_bad_option_fails_naming_it(lab: Any) -> None:
    result = _enforce(lab, "web01", {"server_require": "sometimes"}).results["web01"]
    assert result["failed"] is True
    assert "server_require" in result["msg"]
    assert "Traceback" not in result["msg"]
