"""Change management end to end on the demo fleet (issue 17): waivers, drift between runs
(smb_signing_previous_report), and rollback of a recorded enforce run (playbook rollback).

The tests share one lab and run in file order: each leaves the fleet as the next expects.
"""

from __future__ import annotations

import csv
import datetime
import json
import shutil
from pathlib import Path
from typing import Any, Dict, List

import pytest
from integration.playbook import WIDE_WINDOW, Run, run_playbook

from lab.client import LabClient

pytestmark = [pytest.mark.lab, pytest.mark.slow]

SETTINGS = [
    "server_require",
    "server_enable",
    "client_require",
    "client_enable",
    "audit_unsigned_clients",
    "audit_unsigned_servers",
]
# Lab set keys (config.<side>.<Property>) per setting.
LAB_KEY = {
    "server_require": "config.server.RequireSecuritySignature",
    "client_require": "config.client.RequireSecuritySignature",
}


def _applies(lab: LabClient) -> Dict[str, int]:
    return {h: [s["op"] for s in lab.records(h)["scripts"]].count("apply") for h in lab.hosts()}


def _writes(lab: LabClient) -> Dict[str, List[Dict[str, Any]]]:
    """Every setting write the lab recorded per host (the audit marker is not one)."""
    return {h: list(lab.records(h)["writes"]) for h in lab.hosts()}


def _play(lab: LabClient, name: str, report_dir: Path, *extra: str, **kw: Any) -> Run:
    return run_playbook(
        f"winhardening.smb.{name}",
        lab.inventory,
        report_dir=report_dir,
        args=["-e", f"smb_signing_audit_window={WIDE_WINDOW}", *extra],
        **kw,
    )


def _vars(**values: Any) -> List[str]:
    return ["-e", json.dumps(values)]


def _rows(report: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {r["host"]: r for r in report["hosts"]}


def _waiver(host: str, expires: datetime.date) -> Dict[str, Any]:
    return {
        "hosts": [host],
        "settings": SETTINGS,
        "owner": "facilities",
        "justification": "scanner firmware cannot sign",
        "ticket": "CHG-17",
        "expires": expires.isoformat(),
    }


def test_waivers(demo_lab: LabClient, tmp_path: Path) -> None:
    today = datetime.date.today()
    before = _writes(demo_lab)
    run = _play(
        demo_lab,
        "enforce",
        tmp_path / "r1",
        "--limit",
        "ms2022,ms2025",
        *_vars(smb_signing_waivers=[_waiver("ms2022", today + datetime.timedelta(days=90))]),
    )
    assert run.rc == 0, run.tail()
    rows = _rows(run.report())
    assert rows["ms2022"]["status"] == "waived", rows["ms2022"]["status_reasons"]
    assert run.report()["summary"]["waived_hosts"] == ["ms2022"]
    after = _writes(demo_lab)
    assert after["ms2022"] == before["ms2022"], "a waived host was written"
    assert len(after["ms2025"]) > len(before["ms2025"]), "the host next to it was not enforced"

    expired = _play(
        demo_lab,
        "audit",
        tmp_path / "r2",
        "--limit",
        "ms2022",
        *_vars(smb_signing_waivers=[_waiver("ms2022", today - datetime.timedelta(days=1))]),
    )
    assert expired.rc == 0, expired.tail()
    row = _rows(expired.report())["ms2022"]
    assert row["status"] == "noncompliant"
    assert "waiver 0" in " ".join(row["status_reasons"] + row["warnings"])

    soon = _play(
        demo_lab,
        "audit",
        tmp_path / "r3",
        "--limit",
        "ms2022",
        *_vars(smb_signing_waivers=[_waiver("ms2022", today + datetime.timedelta(days=5))]),
    )
    assert soon.rc == 0, soon.tail()
    row = _rows(soon.report())["ms2022"]
    assert row["status"] == "waived"
    # The role keeps per-host warnings in the facts and the report (host_warnings: false), and
    # the report prints each once for the play, this one-host warning too.
    assert any("expires in 5 days" in w for w in row["warnings"]), row["warnings"]
    # Ansible prints warnings on stderr.
    assert "1 host (ms2022): waiver 0" in soon.stdout + soon.stderr, soon.tail()
    waivers = soon.report()["summary"]["waivers"]
    assert waivers["expiring"] >= 1
    assert any(w.startswith("ms2022:") for w in waivers["expiring_soon"]), waivers


def test_drift_between_two_audits(demo_lab: LabClient, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    # dc01: a local change the Default Domain Controllers Policy will revert.
    demo_lab.set("dc01", f"{LAB_KEY['server_require']}=false")
    first = _play(demo_lab, "audit", reports, "--limit", "all:!web01")
    assert first.rc == 0, first.tail()
    previous = tmp_path / "previous.json"
    shutil.copy(reports / "smb_signing_report.json", previous)
    prev_rows = _rows(first.report())
    assert prev_rows["dc01"]["settings"]["server_require"]["value"] is False

    # Between the audits: a person (lab set), a GPO (policy refresh), and this collection.
    ms2016_client = prev_rows["ms2016"]["settings"]["client_require"]["value"]
    demo_lab.set("ms2016", f"{LAB_KEY['client_require']}={str(not ms2016_client).lower()}")
    demo_lab.policy_refresh("dc01")
    enforced = _play(demo_lab, "enforce", reports, "--limit", "dc02")
    assert enforced.rc == 0, enforced.tail()
    enforce_run = enforced.report()["run"]["id"]
    written = _rows(enforced.report())["dc02"]["outcome"]["written"]
    assert written, "enforce wrote nothing on dc02; the test needs a write"

    second = _play(
        demo_lab,
        "audit",
        reports,
        "--limit",
        "all:!ms2022",
        *_vars(smb_signing_previous_report=str(previous)),
    )
    assert second.rc == 0, second.tail()
    report = second.report()
    changes = report["changes_since"]
    assert changes["hosts_new"] == ["web01"]
    assert changes["hosts_gone"] == ["ms2022"]
    assert [r["run"] for r in changes["runs_between"]] == [enforce_run]
    by = {(c["host"], c["setting"]): c for c in changes["value_changes"]}
    assert by[("ms2016", "client_require")]["by"] == "elsewhere"
    assert by[("dc01", "server_require")]["by"] == "elsewhere"
    assert by[("dc01", "server_require")]["to"] is True
    for setting, record in written.items():
        change = by[("dc02", setting)]
        assert change["by"] == "this collection", change
        assert change["runs"] == [enforce_run]
        assert change["to"] is record["written"]
    summary = report["summary"]["changes_since"]
    assert "dc01:server_require" in summary["changed_elsewhere"]
    assert "ms2016:client_require" in summary["changed_elsewhere"]
    assert f"dc02:{next(iter(written))}" in summary["changed_by_this_collection"]
    assert "since" in second.stdout

    with (reports / "smb_signing_report_changes.csv").open() as handle:
        flat = list(csv.DictReader(handle))
    assert {"host": "web01", "change": "host_new"}.items() <= next(
        r for r in flat if r["host"] == "web01"
    ).items()
    assert any(r["host"] == "dc02" and r["by"] == "this collection" for r in flat)
    page = (reports / "smb_signing_report.html").read_text()
    assert "Changes since" in page
    assert "ms2016" in page

    # The merge entry point takes a previous report too.
    merged = run_playbook(
        "winhardening.smb.merge_reports",
        demo_lab.inventory,
        extra_vars={
            "smb_signing_merge_sources": [str(reports / "smb_signing_report.json")],
            "smb_signing_previous_report": str(previous),
            "smb_signing_report_dir": str(tmp_path / "merged"),
        },
    )
    assert merged.rc == 0, merged.tail()
    merged_changes = json.loads((tmp_path / "merged" / "smb_signing_report.json").read_text())[
        "changes_since"
    ]
    assert merged_changes["hosts_gone"] == ["ms2022"]
    assert ("dc02", next(iter(written))) in {
        (c["host"], c["setting"]) for c in merged_changes["value_changes"]
    }


def _values(report: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {
        r["host"]: {n: s["value"] for n, s in r["settings"].items()}
        for r in report["hosts"]
        if not r["facts_missing"]
    }


def test_rollback(demo_lab: LabClient, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    before_audit = _play(demo_lab, "audit", tmp_path / "before")
    assert before_audit.rc == 0, before_audit.tail()
    before_values = _values(before_audit.report())

    enforced = _play(demo_lab, "enforce", reports)
    assert enforced.rc == 0, enforced.tail()
    recorded = tmp_path / "enforced.json"
    shutil.copy(reports / "smb_signing_report.json", recorded)
    written = {h: r["outcome"]["written"] for h, r in _rows(enforced.report()).items()}
    for host, settings in written.items():
        for name, record in settings.items():
            assert record["before"] == before_values[host][name]
            assert "owner_before" in record
    # One host changed since by a person: a setting the run wrote, set to something else.
    changed_host = next(h for h in sorted(written) if "server_require" in written[h])
    wrote = written[changed_host]["server_require"]["written"]
    demo_lab.set(changed_host, f"{LAB_KEY['server_require']}={str(not wrote).lower()}")

    refused = _play(demo_lab, "rollback", reports, *_vars(smb_signing_rollback_from=str(recorded)))
    assert refused.rc != 0
    assert "smb_signing_allow_weakening" in refused.stdout

    rollback_vars = _vars(smb_signing_rollback_from=str(recorded), smb_signing_allow_weakening=True)
    applies_before_check = _applies(demo_lab)
    writes = _writes(demo_lab)
    checked = _play(demo_lab, "rollback", reports, *rollback_vars, check=True, diff=True)
    assert checked.rc == 0, checked.tail()
    assert _writes(demo_lab) == writes, "--check wrote"
    assert _applies(demo_lab) == applies_before_check
    check_report = json.loads((reports / "smb_signing_rollback.json").read_text())
    assert check_report["run"]["check_mode"] is True
    assert check_report["summary"]["restored"]

    done = _play(demo_lab, "rollback", reports, *rollback_vars, diff=True)
    assert done.rc == 0, done.tail()
    rollback = json.loads((reports / "smb_signing_rollback.json").read_text())
    left = rollback["summary"]["left_alone"]
    assert left == [f"{changed_host}:server_require"], rollback["summary"]
    row = next(r for r in rollback["hosts"] if r["host"] == changed_host)
    setting = next(s for s in row["settings"] if s["setting"] == "server_require")
    assert setting["state"] == "changed since; left alone"
    kept = (changed_host, "server_require")
    expected_restored = sorted(f"{h}:{n}" for h, s in written.items() for n in s if (h, n) != kept)
    assert sorted(rollback["summary"]["restored"]) == expected_restored
    assert "changed since; left alone" in (reports / "smb_signing_rollback.csv").read_text()

    after = _play(demo_lab, "audit", tmp_path / "after")
    assert after.rc == 0, after.tail()
    after_values = _values(after.report())
    for host, settings in written.items():
        for name in settings:
            if (host, name) == (changed_host, "server_require"):
                assert after_values[host][name] is (not wrote)
            else:
                assert after_values[host][name] == before_values[host][name], (host, name)

    writes = _writes(demo_lab)
    again = _play(demo_lab, "rollback", reports, *rollback_vars)
    assert again.rc == 0, again.tail()
    assert _writes(demo_lab) == writes, "a second rollback wrote"
    assert all(s["changed"] == 0 for s in again.recap().values()), again.tail()
    second = json.loads((reports / "smb_signing_rollback.json").read_text())["summary"]
    assert second["restored"] == []
    assert sorted(second["already_restored"]) == expected_restored
    assert second["left_alone"] == [f"{changed_host}:server_require"]
