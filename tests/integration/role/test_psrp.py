"""The demo fleet over ansible-core's psrp connection, end to end: audit, enforce, verify.

The same story as ``make demo`` (scripts/demo.sh), through ansible-playbook, with the lab's
psrp inventory: every script runs as a PSRP pipeline (pypsrp against the lab's runspace pools,
lab/psrp_host.py), not as a WinRS command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import pytest
from integration.playbook import WIDE_WINDOW, Run, run_playbook

from lab.client import LabClient
from lab.inventory import FILES

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def _playbook(lab: LabClient, report_dir: Path, name: str, *extra: str) -> Run:
    inventory = lab.inventory.with_name(FILES["psrp"])
    return run_playbook(f"winhardening.smb.{name}", inventory, report_dir=report_dir, args=extra)


def _scripts(lab: LabClient) -> Dict[str, List[tuple[str, str]]]:
    return {h: [(s["op"], s["transport"]) for s in lab.records(h)["scripts"]] for h in lab.hosts()}


def _wire(lab: LabClient) -> Dict[str, bool]:
    return {h["name"]: h["wire_requires_signing"] for h in lab.status()["hosts"]}


def test_demo_fleet_over_psrp_audit_enforce_verify(demo_lab: LabClient, tmp_path: Path) -> None:
    hosts = set(demo_lab.hosts())
    window = f"smb_signing_audit_window={WIDE_WINDOW}"

    # Audit: every host read over psrp, nothing written, the fleet has work to do.
    audit = _playbook(demo_lab, tmp_path / "audit", "audit", "-e", window)
    assert audit.rc == 0, audit.tail()
    stats = audit.recap()
    assert set(stats) == hosts
    assert all(s["changed"] == 0 and s["failed"] == 0 for s in stats.values()), stats
    assert _scripts(demo_lab) == {h: [("read_state", "psrp")] for h in hosts}
    assert all(demo_lab.records(h)["writes"] == [] for h in hosts)
    rows = {r["host"]: r for r in audit.report()["hosts"]}
    assert set(rows) == hosts
    assert {r["status"] for r in rows.values()} == {"noncompliant"}, rows
    assert "server_require" in rows["ms2022"]["noncompliant"]
    assert rows["ms2016"]["smb1_server_enabled"] is True
    assert not all(_wire(demo_lab).values())

    # Enforce: every host changed over psrp, and its smbd now requires signing on the wire.
    enforce = _playbook(demo_lab, tmp_path / "enforce", "enforce")
    assert enforce.rc == 0, enforce.tail()
    stats = enforce.recap()
    assert all(s["changed"] >= 1 and s["failed"] == 0 for s in stats.values()), stats
    for host, scripts in _scripts(demo_lab).items():
        assert ("apply", "psrp") in scripts, host
        assert {t for _, t in scripts} == {"psrp"}, host
        assert demo_lab.records(host)["writes"], host
    report = enforce.report()
    assert report["summary"]["compliant_hosts"] == len(hosts)
    changes = {r["host"]: r["outcome"]["changes"] for r in report["hosts"]}
    assert "server_require" in changes["ms2022"], changes
    assert all(_wire(demo_lab).values()), _wire(demo_lab)

    # Verify: read back over psrp, every host compliant, nothing left to change.
    writes = {h: len(demo_lab.records(h)["writes"]) for h in hosts}
    verify = _playbook(demo_lab, tmp_path / "verify", "audit", "-e", window)
    assert verify.rc == 0, verify.tail()
    assert all(s["changed"] == 0 and s["failed"] == 0 for s in verify.recap().values())
    rows = {r["host"]: r for r in verify.report()["hosts"]}
    assert {h: r["status"] for h, r in rows.items()} == dict.fromkeys(hosts, "compliant")
    assert all(r["wire"]["signing_required"] for r in rows.values())
    assert {h: len(demo_lab.records(h)["writes"]) for h in hosts} == writes
