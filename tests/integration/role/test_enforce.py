"""Enforce end to end on the demo fleet: apply, verify on the wire, idempotence, failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
from integration.role._helpers import load_report, recap

from lab.client import LabClient

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def _apply_count(lab: LabClient) -> Dict[str, int]:
    return {h: [s["op"] for s in lab.records(h)["scripts"]].count("apply") for h in lab.hosts()}


def _wire(lab: LabClient) -> Dict[str, bool]:
    return {h["name"]: h["wire_requires_signing"] for h in lab.status()["hosts"]}


def test_enforce_then_the_wire_says_required(
    demo_lab: LabClient, playbook: Callable[..., Any], tmp_path: Path
) -> None:
    assert not all(_wire(demo_lab).values())  # the demo fleet starts with work to do
    run = playbook("enforce")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    stats = recap(run.stdout)
    assert all(s["changed"] >= 1 and s["failed"] == 0 for s in stats.values()), stats
    assert all(_wire(demo_lab).values()), _wire(demo_lab)
    report = load_report(tmp_path / "report")
    assert report["summary"]["compliant_hosts"] == len(demo_lab.hosts())
    assert report["summary"]["unsigned_pairs"] == 0
    assert all(r["wire"]["signing_required"] for r in report["hosts"])
    changed: List[str] = next(r for r in report["hosts"] if r["host"] == "ms2022")["outcome"][
        "changes"
    ]
    assert "server_require" in changed


def test_second_enforce_changes_nothing(demo_lab: LabClient, playbook: Callable[..., Any]) -> None:
    applies_before = _apply_count(demo_lab)
    run = playbook("enforce")
    assert run.returncode == 0, run.stdout[-3000:]
    assert all(s["changed"] == 0 for s in recap(run.stdout).values()), run.stdout[-3000:]
    assert _apply_count(demo_lab) == applies_before


def test_host_still_wrong_after_enforce_fails_with_the_reason(
    demo_lab: LabClient, playbook: Callable[..., Any], tmp_path: Path
) -> None:
    # web01: the write of server signing is refused ("Access is denied.").
    demo_lab.set(
        "web01",
        "config.server.RequireSecuritySignature=false",
        "deny_writes=server.RequireSecuritySignature",
    )
    # ms2022: configured to require signing, but its smbd does not (the wire disagrees).
    demo_lab.set("ms2022", "wire_signing=false")
    run = playbook("enforce")
    stats = recap(run.stdout)
    assert run.returncode != 0
    assert stats["web01"]["failed"] == 1, stats
    assert stats["ms2022"]["failed"] == 1, stats
    assert all(s["failed"] == 0 for h, s in stats.items() if h not in ("web01", "ms2022"))
    fatal = {
        line.split("]")[0][len("fatal: [") :]: line
        for line in run.stdout.splitlines()
        if line.startswith("fatal: [")
    }
    assert "server_require" in fatal["web01"]
    assert "Access is denied" in fatal["web01"]
    assert "still not compliant after enforce" in fatal["ms2022"]
    assert "SMB negotiate" in fatal["ms2022"], fatal["ms2022"]

    report = load_report(tmp_path / "report")
    rows = {r["host"]: r for r in report["hosts"]}
    assert rows["web01"]["status"] == "failed"
    assert "Access is denied" in rows["web01"]["outcome"]["failure"]
    assert rows["ms2022"]["status"] == "failed"
    assert "wire_disagrees" in rows["ms2022"]["flags"]
    assert sorted(report["summary"]["failed_hosts"]) == ["ms2022", "web01"]
