"""Windows environments the scripts must read right, each through ansible-playbook and the role's
playbooks on a lab fleet built for them (issue 15, deliverable 6):

- a signing value delivered by Administrative Templates (Registry.pol), not by Security Options;
- a KB5066913 back-port host whose server-side auditing comes only from the policy value, with no
  cmdlet parameter to write it;
- a host whose SMB server audit log does not exist;
- a host with only the value KB5066913's registry table names (AuditClientSpnSupport).

The Constrained Language Mode host is in tests/lab/tests/test_ansible_raw.py, RSoP that cannot be
read and an audit log that cannot be read in test_fail_closed.py, the busy WinRM host in
tests/integration/smb_signing/test_busy_host.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Dict, List

import pytest
from integration.playbook import Run, run_playbook

from lab.client import LabClient
from lab.lifecycle import running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

GATE = ("-e", "smb_signing_require_clean_audit=true", "-e", "smb_signing_audit_window=7d")
OLD_MARKER = "2010-01-01T00:00:00.0000000Z"
ADMX_GPO = ("SMB signing (Administrative Templates)", "{7D2C1B3A-0F4E-4C5D-9A8B-6E5F4D3C2B1A}")

FLEET: Dict[str, Any] = {
    "name": "environments",
    "user": "labadmin",
    "password": "Lab-Passw0rd",
    "hosts": [
        # Server signing required by a GPO's Registry.pol entry on the Parameters key, as
        # Set-GPRegistryValue writes it (RSOP_RegistryPolicySetting, not RSOP_RegistryValue).
        {
            "name": "regpol",
            "os": "windows_server_2022",
            "domain_role": 3,
            "gpo": [
                {
                    "side": "server",
                    "value": "RequireSecuritySignature",
                    "data": 1,
                    "gpo_name": ADMX_GPO[0],
                    "gpo_id": ADMX_GPO[1],
                    "policy": "parameters",
                }
            ],
        },
        # KB5066913 installed without the cmdlet parameter: auditing on through the policy key.
        {
            "name": "backport",
            "os": "windows_server_2019",
            "domain_role": 3,
            "registry": {"server_policy": {"AuditClientDoesNotSupportSigning": 1}},
        },
        # KB5066913's registry row followed to the letter: AuditClientSpnSupport, nothing else.
        {
            "name": "spnonly",
            "os": "windows_server_2019",
            "domain_role": 3,
            "registry": {"server": {"AuditClientSpnSupport": 1}},
        },
        # Auditing on (back-port with the parameter), its SMB server audit log made missing by
        # the test.
        {
            "name": "nolog",
            "os": "windows_server_2022",
            "domain_role": 3,
            "audit_backport": True,
            "registry": {"server": {"AuditClientDoesNotSupportSigning": 1}},
        },
    ],
}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabClient]:
    with running_lab(FLEET, tmp_path / "lab", fresh=True) as client:
        yield client


def _play(lab: LabClient, report_dir: Path, name: str, limit: str, *extra: str) -> Run:
    return run_playbook(
        f"winhardening.smb.{name}", lab.inventory, limit=limit, report_dir=report_dir, args=extra
    )


def _row(run: Run, host: str) -> Dict[str, Any]:
    rows = {r["host"]: r for r in run.report()["hosts"]}
    return rows[host]


def _writes(lab: LabClient, host: str) -> List[Dict[str, Any]]:
    writes: List[Dict[str, Any]] = lab.records(host)["writes"]
    return writes


def test_a_registry_pol_gpo_owns_server_signing(lab: LabClient, tmp_path: Path) -> None:
    """F-3: a value set through Administrative Templates is owned by its GPO, named, and an
    enforce run that would change it is refused rather than fought (the next refresh would put
    it back)."""
    audit = _play(lab, tmp_path / "audit", "audit", "regpol")
    assert audit.rc == 0, audit.tail()
    cell = _row(audit, "regpol")["settings"]["server_require"]
    assert (cell["value"], cell["owner"], cell["gpo"]) == (True, "gpo", ADMX_GPO[0])

    # Asking for the opposite of what the GPO enforces: the GPO wins and nothing is written.
    weaken = _play(
        lab,
        tmp_path / "weaken",
        "enforce",
        "regpol",
        "-e",
        '{"smb_signing_host_overrides": {"server_require": false}}',
        "-e",
        "smb_signing_allow_weakening=true",
        "-e",
        "smb_signing_on_gpo_conflict=fail",
    )
    assert weaken.rc != 0
    fatal = weaken.fatal()["regpol"]
    assert ADMX_GPO[0] in fatal, fatal
    assert not [w for w in _writes(lab, "regpol") if w["property"] == "RequireSecuritySignature"]


def test_a_backport_host_audited_by_policy_alone_is_judged_and_gated(
    lab: LabClient, tmp_path: Path
) -> None:
    """F-5: with auditing on only through the policy value and no cmdlet parameter, the audit
    setting is supported and judged (not called unsupported), never written through a parameter
    the host lacks, and the gate can open once the host has audited for the whole window."""
    audit = _play(lab, tmp_path / "audit", "audit", "backport")
    assert audit.rc == 0, audit.tail()
    cell = _row(audit, "backport")["settings"]["audit_unsigned_clients"]
    assert (cell["supported"], cell["value"]) == (True, True)

    # First enforce run: no record yet, so it starts one now and the gate waits for the window,
    # saying when it can open.
    first = _play(lab, tmp_path / "first", "enforce", "backport", *GATE)
    assert first.rc != 0
    blocked = _row(first, "backport")["outcome"]["blocked"]
    assert blocked is not None
    assert "the host has no record of it" in blocked["message"], blocked
    assert "the gate can open from" in blocked["message"], blocked
    assert blocked["opens_at"]
    assert lab.model("backport")["audit_marker"]
    assert not [w for w in _writes(lab, "backport") if w["property"].startswith("Audit")]

    # Audited long enough, with a clean log: the gate opens and server signing is required.
    lab.set("backport", f"audit_marker={OLD_MARKER}")
    opened = _play(lab, tmp_path / "opened", "enforce", "backport", *GATE)
    assert opened.rc == 0, opened.tail()
    assert _row(opened, "backport")["status"] == "compliant"
    written = [w for w in _writes(lab, "backport") if w["property"] == "RequireSecuritySignature"]
    assert [w["value"] for w in written if w["side"] == "server"] == [True]
    assert not [w for w in _writes(lab, "backport") if w["property"].startswith("Audit")]


def test_a_missing_audit_log_keeps_the_gate_closed_and_says_so(
    lab: LabClient, tmp_path: Path
) -> None:
    """A host without Microsoft-Windows-SMBServer/Audit: the read still answers (the log is not
    queried, so no error ends it), the facts say the log is not available, and the gate names
    the missing log instead of opening on no events."""
    lab.set("nolog", f"audit_marker={OLD_MARKER}", "event_log_missing=server")
    run = _play(lab, tmp_path / "blocked", "enforce", "nolog", *GATE)
    assert run.rc != 0
    fatal = run.fatal()["nolog"]
    assert "does not exist on this host" in fatal, fatal
    events = _row(run, "nolog")["audit_events"]["server"]
    assert (events["available"], events["error"], events["count"]) == (False, None, 0)
    server = [w for w in _writes(lab, "nolog") if w["side"] == "server"]
    assert not [w for w in server if w["property"] == "RequireSecuritySignature"]


def test_a_host_audited_only_by_the_kb_s_spn_value_stays_blocked_and_says_why(
    lab: LabClient, tmp_path: Path
) -> None:
    """F-14: AuditClientSpnSupport is never counted as signing audit (what it turns on is not
    documented), so the gate stays closed, but it names the value and the policy that counts,
    the facts show it, and nothing is written."""
    audit = _play(lab, tmp_path / "audit", "audit", "spnonly")
    assert audit.rc == 0, audit.tail()
    cell = _row(audit, "spnonly")["settings"]["audit_unsigned_clients"]
    assert (cell["supported"], cell["value"]) == (False, None)

    run = _play(lab, tmp_path / "blocked", "enforce", "spnonly", *GATE)
    assert run.rc != 0
    fatal = run.fatal()["spnonly"]
    assert '"spn_audit": {"enabled": true' in fatal, fatal
    blocked = _row(run, "spnonly")["outcome"]["blocked"]
    assert blocked is not None
    message = blocked["message"]
    assert "no signing audit value this gate counts is set on this host" in message, message
    assert "AuditClientSpnSupport is on under LanmanServer\\Parameters" in message, message
    assert "not counted; the policy 'Lanman Server" in message, message
    assert "require_clean_audit" not in message, message
    writes = _writes(lab, "spnonly")
    assert not [w for w in writes if w["property"].startswith("Audit")]
    assert not [w for w in writes if w["side"] == "server" and w["property"].startswith("Require")]
    assert lab.model("spnonly")["registry"]["server"]["AuditClientSpnSupport"] == {
        "type": "DWord",
        "data": 1,
    }
