"""Each place where the collection used to give a comfortable answer on bad or missing evidence,
through ansible-playbook and the role's playbooks on the lab: the verdict is never better than
its evidence.

Every test gets a fresh demo fleet (a few seconds), so each can change a host as it needs.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from integration.playbook import DEMO_FLEET, Run, run_playbook

from lab.client import LabClient
from lab.lifecycle import running_lab
from lab.model import HostModel

pytestmark = [pytest.mark.lab, pytest.mark.slow]

GATE = ("-e", "smb_signing_require_clean_audit=true", "-e", "smb_signing_audit_window=7d")
# Older than any window these tests use: the host has audited unsigned clients long enough.
OLD_MARKER = "2010-01-01T00:00:00.0000000Z"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabClient]:
    with running_lab(DEMO_FLEET, tmp_path / "lab", fresh=True) as client:
        yield client


def _play(lab: LabClient, report_dir: Path, name: str, limit: str, *extra: str) -> Run:
    return run_playbook(
        f"winhardening.smb.{name}",
        lab.inventory,
        limit=limit,
        report_dir=report_dir,
        # set_stats is printed at the end (CUSTOM STATS), so the test reads what AWX gets.
        extra_env={"ANSIBLE_SHOW_CUSTOM_STATS": "True"},
        args=extra,
    )


def _rows(run: Run) -> Dict[str, Dict[str, Any]]:
    return {r["host"]: r for r in run.report()["hosts"]}


def _csv_rows(run: Run) -> Dict[str, Dict[str, str]]:
    assert run.report_dir is not None
    text = (run.report_dir / "smb_signing_report.csv").read_text()
    return {r["host"]: r for r in csv.DictReader(io.StringIO(text))}


def _custom_stats(run: Run) -> Dict[str, Any]:
    """The set_stats data the role published, as the default callback prints it."""
    match = re.search(r"^\s*RUN: (\{.*\})\s*$", run.stdout.split("CUSTOM STATS", 1)[-1], re.M)
    assert match, run.tail()
    data: Dict[str, Any] = json.loads(match.group(1))["smb_signing"]
    return data


def _server_require_writes(lab: LabClient, host: str) -> List[Dict[str, Any]]:
    return [
        w
        for w in lab.records(host)["writes"]
        if w["side"] == "server" and w["property"] == "RequireSecuritySignature"
    ]


def _model(lab: LabClient, host: str) -> HostModel:
    return HostModel.from_json(lab.model(host))


def test_wire_contradiction_is_noncompliant_everywhere(lab: LabClient, tmp_path: Path) -> None:
    """Issue 13: a host configured to require signing whose negotiate says otherwise used to be
    counted compliant (with a wire_disagrees flag) in the row, the totals, the CSV and
    set_stats."""
    enforced = _play(lab, tmp_path / "enforce", "enforce", "ms2022")
    assert enforced.rc == 0, enforced.tail()
    assert _rows(enforced)["ms2022"]["status"] == "compliant"

    lab.set("ms2022", "wire_signing=false")
    run = _play(lab, tmp_path / "audit", "audit", "ms2022")
    assert run.rc == 0, run.tail()
    row = _rows(run)["ms2022"]
    assert row["settings"]["server_require"]["value"] is True  # the configuration says required
    assert row["wire"]["signing_required"] is False  # the wire says not
    assert row["status"] == "noncompliant"
    assert row["compliant"] is False
    assert "wire_disagrees" in row["flags"]
    assert any(r.startswith("wire:") for r in row["status_reasons"]), row["status_reasons"]
    summary = run.report()["summary"]
    assert summary["compliant_hosts"] == 0
    assert summary["by_status"]["noncompliant"] == 1
    assert summary["noncompliant_hosts"] == ["ms2022"]
    assert summary["wire_disagrees"] == ["ms2022"]
    assert _csv_rows(run)["ms2022"]["status"] == "noncompliant"
    stats = _custom_stats(run)
    assert stats["compliant_hosts"] == 0
    assert stats["noncompliant_hosts"] == ["ms2022"]
    assert stats["by_status"]["noncompliant"] == 1
    assert "for 1 hosts (0 compliant)" in run.stdout


def test_rsop_unreadable_refuses_the_write_with_on_gpo_conflict_fail(
    lab: LabClient, tmp_path: Path
) -> None:
    """Issue 13: without RSoP every stored value silently became `local`, so the GPO conflict
    check never fired. A stored value's owner is now unknown, which `fail` refuses as it
    refuses a GPO-owned one."""
    lab.set("ms2019", "config.server.RequireSecuritySignature=false", "rsop_error=Access denied")
    writes = len(lab.records("ms2019")["writes"])
    run = _play(lab, tmp_path / "r", "enforce", "ms2019", "-e", "smb_signing_on_gpo_conflict=fail")
    assert run.rc != 0
    fatal = run.fatal()["ms2019"]
    assert "refusing to change settings a GPO owns or may own" in fatal, fatal
    assert "server_require (owner unknown: RSoP could not be read: Access denied)" in fatal
    assert len(lab.records("ms2019")["writes"]) == writes
    assert _model(lab, "ms2019").config("server")["RequireSecuritySignature"] is False
    row = _rows(run)["ms2019"]
    assert row["status"] == "failed"
    assert row["settings"]["server_require"]["owner"] == "unknown"
    # The GPO-owned client setting is unknown too: nothing tells it from a local value.
    assert row["settings"]["client_require"]["owner"] == "unknown"


def test_rsop_unreadable_makes_a_compliant_host_unverified(lab: LabClient, tmp_path: Path) -> None:
    """Issue 13: a host that meets every target but whose owners cannot be known (RSoP
    unreadable) is unverified: a GPO may put other values back."""
    enforced = _play(lab, tmp_path / "enforce", "enforce", "ms2019")
    assert enforced.rc == 0, enforced.tail()
    assert _rows(enforced)["ms2019"]["status"] == "compliant"

    lab.set("ms2019", "rsop_error=Access denied")
    run = _play(lab, tmp_path / "audit", "audit", "ms2019")
    assert run.rc == 0, run.tail()
    row = _rows(run)["ms2019"]
    owners = {n: s["owner"] for n, s in row["settings"].items() if s["supported"]}
    assert owners["server_require"] == "unknown", owners
    assert owners["client_require"] == "unknown", owners  # owned by a GPO, which RSoP would say
    assert set(owners.values()) <= {"unknown", "default"}, owners
    assert row["status"] == "unverified"
    assert any("owner unknown" in r and "Access denied" in r for r in row["status_reasons"]), row[
        "status_reasons"
    ]
    summary = run.report()["summary"]
    assert summary["compliant_hosts"] == 0
    assert summary["unverified_hosts"] == ["ms2019"]
    assert _csv_rows(run)["ms2019"]["status"] == "unverified"


def test_audit_log_read_error_closes_the_gate(lab: LabClient, tmp_path: Path) -> None:
    """Issue 13: an error reading the SMB server audit log gave `count 0` with the log
    available, and the gate opened. ms2022 has audited long enough; only the error stands in
    the way, as the run after it is cleared shows."""
    lab.set("ms2022", f"audit_marker={OLD_MARKER}", "event_log_error=server:Access is denied")
    run = _play(lab, tmp_path / "blocked", "enforce", "ms2022", *GATE)
    assert run.rc != 0
    fatal = run.fatal()["ms2022"]
    assert "audit-first gate" in fatal
    assert "the SMB server audit log could not be read: Access is denied" in fatal, fatal
    assert _server_require_writes(lab, "ms2022") == []
    row = _rows(run)["ms2022"]
    assert row["status"] == "blocked"
    assert "could not be read: Access is denied" in row["outcome"]["blocked"]["message"]
    assert row["audit_events"]["server"]["error"] == "Access is denied"
    assert run.report()["summary"]["blocked_hosts"] == ["ms2022"]

    lab.set("ms2022", "event_log_error=server:")
    opened = _play(lab, tmp_path / "opened", "enforce", "ms2022", *GATE)
    assert opened.rc == 0, opened.tail()
    assert [w["value"] for w in _server_require_writes(lab, "ms2022")] == [True]


def test_an_unreadable_audit_log_is_named_not_called_missing(
    lab: LabClient, tmp_path: Path
) -> None:
    """F-7: access denied to the log itself (Get-WinEvent -ListLog's LogInfoNoAccess) used to
    read as "the log does not exist". Now the log is there, unreadable, and the gate says so; a
    read that fails on a record is an error of the log too (F-8)."""
    denied = "Attempted to perform an unauthorized operation."
    lab.set("ms2022", f"audit_marker={OLD_MARKER}", f"event_list_error=server:{denied}")
    run = _play(lab, tmp_path / "denied", "enforce", "ms2022", *GATE)
    assert run.rc != 0
    fatal = run.fatal()["ms2022"]
    assert f"the SMB server audit log could not be read: {denied}" in fatal, fatal
    assert "does not exist" not in fatal
    events = _rows(run)["ms2022"]["audit_events"]["server"]
    assert (events["available"], events["error"]) == (True, denied)
    assert _server_require_writes(lab, "ms2022") == []

    lab.set("ms2022", "event_list_error=server:", "event_read_stops_after=server:0")
    holes = _play(lab, tmp_path / "holes", "enforce", "ms2022", *GATE)
    assert holes.rc != 0
    assert "could not be read: The RPC server is unavailable" in holes.fatal()["ms2022"]
    assert _server_require_writes(lab, "ms2022") == []


def test_enforce_twice_after_enabling_audit_stays_blocked(lab: LabClient, tmp_path: Path) -> None:
    """Issue 13: the blocked run switched auditing on, and a run seconds later saw auditing on
    and an empty log and required server signing. Now both runs stay blocked and say from when
    the gate can open: the host's record of when auditing went on, plus the window."""
    lab.set("ms2022", "server.AuditClientDoesNotSupportSigning=absent", "audit_marker=absent")
    assert _model(lab, "ms2022").config("server")["AuditClientDoesNotSupportSigning"] is False
    started = datetime.now(timezone.utc).replace(microsecond=0)

    first = _play(lab, tmp_path / "first", "enforce", "ms2022", *GATE)
    assert first.rc != 0
    first_row = _rows(first)["ms2022"]
    assert first_row["status"] == "blocked"
    assert "this run turns it on and records the time" in first.fatal()["ms2022"]
    marker = _model(lab, "ms2022").audit_marker
    assert marker is not None, "the run that turned auditing on recorded no time"
    assert _model(lab, "ms2022").config("server")["AuditClientDoesNotSupportSigning"] is True

    second = _play(lab, tmp_path / "second", "enforce", "ms2022", *GATE)
    assert second.rc != 0
    second_row = _rows(second)["ms2022"]
    assert second_row["status"] == "blocked"
    assert "auditing has been on only since" in second.fatal()["ms2022"], second.fatal()
    assert _server_require_writes(lab, "ms2022") == []
    assert _model(lab, "ms2022").server_requires_signing is False

    for row in (first_row, second_row):
        opens_at = row["outcome"]["blocked"]["opens_at"]
        assert opens_at, row["outcome"]["blocked"]
        opens = datetime.strptime(opens_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        # Seven days after auditing went on (the lab's clock is this machine's).
        assert started + timedelta(days=7) - timedelta(minutes=1) <= opens
        assert opens <= started + timedelta(days=7, minutes=5)
        assert opens_at in row["outcome"]["blocked"]["message"]
    assert second_row["outcome"]["blocked"]["opens_at"] == (
        datetime.strptime(marker[:19], "%Y-%m-%dT%H:%M:%S") + timedelta(days=7)
    ).strftime("%Y-%m-%dT%H:%M:%SZ")


# ms2025's log: a chatty client with 50 recent events, five other peers with 6 older events
# (the demo fleet's three plus three): 56 events from 6 peers.
CHATTY = "CHATTY-01"
QUIET = ["NAS-01", "SCANNER-02", "10.20.0.99"]
PEER_COUNTS = {CHATTY: 50, "10.20.0.15": 2, "PRINTER-07": 1, **{p: 1 for p in QUIET}}


@pytest.fixture
def chatty_lab(tmp_path: Path) -> Iterator[LabClient]:
    fleet = copy.deepcopy(yaml.safe_load(DEMO_FLEET.read_text()))
    ms2025 = next(h for h in fleet["hosts"] if h["name"] == "ms2025")
    ms2025["events"] += [
        {"side": "server", "id": 3021, "peer": CHATTY, "time": f"-{i + 1}m"} for i in range(50)
    ]
    ms2025["events"] += [{"side": "server", "id": 3021, "peer": p, "time": "-2d"} for p in QUIET]
    with running_lab(fleet, tmp_path / "lab", fresh=True) as client:
        client.set("ms2025", f"audit_marker={OLD_MARKER}")
        yield client


def _blocked_by_peers(run: Run) -> Dict[str, Any]:
    assert run.rc != 0
    row = _rows(run)["ms2025"]
    assert row["status"] == "blocked", row["status_reasons"]
    blocked: Dict[str, Any] = row["outcome"]["blocked"]
    assert "56 unsigned-client events" in blocked["message"], blocked["message"]
    return blocked


def test_every_peer_is_named_with_its_count(chatty_lab: LabClient, tmp_path: Path) -> None:
    """Issue 13: peers came from the first max_audit_events events, so 50 events from one
    client hid the others. Now they are counted per peer over every event in the window."""
    run = _play(
        chatty_lab, tmp_path / "r", "enforce", "ms2025", *GATE,
        "-e", "smb_signing_max_audit_peers=50",
    )  # fmt: skip
    blocked = _blocked_by_peers(run)
    assert {p["peer"]: p["count"] for p in blocked["peers"]} == PEER_COUNTS
    assert blocked["peers_left_out"] == 0
    fatal = run.fatal()["ms2025"]
    for peer, count in PEER_COUNTS.items():
        assert f"{peer} ({count} event{'' if count == 1 else 's'})" in fatal, (peer, fatal)
    assert "not listed" not in fatal
    facts = json.loads(fatal.split("=> ", 1)[1])["ansible_facts"]["smb_signing"]
    server_log = facts["audit"]["events"]["server"]
    assert server_log["count"] == 56
    assert {p["peer"]: p["count"] for p in server_log["peers"]} == PEER_COUNTS
    assert (server_log["peers_total"], server_log["peers_left_out"]) == (6, 0)
    assert _server_require_writes(chatty_lab, "ms2025") == []


def test_a_cut_peer_list_says_how_many_were_left_out(chatty_lab: LabClient, tmp_path: Path) -> None:
    run = _play(
        chatty_lab, tmp_path / "r", "enforce", "ms2025", *GATE,
        "-e", "smb_signing_max_audit_peers=2",
    )  # fmt: skip
    blocked = _blocked_by_peers(run)
    assert blocked["peers"] == [
        {"peer": CHATTY, "count": 50},
        {"peer": "10.20.0.15", "count": 2},
    ]
    assert blocked["peers_left_out"] == 4
    assert "and 4 more peers not listed" in blocked["message"], blocked["message"]
    assert "and 4 more peers not listed" in run.fatal()["ms2025"]


def test_a_refused_write_reports_the_owner_read_back(lab: LabClient, tmp_path: Path) -> None:
    """Issue 13: with the write refused, the module reported the setting's owner as `local`
    (what it attempted) although a fresh read showed `default`."""
    lab.set("web01", "deny_writes=server.RequireSecuritySignature")
    run = _play(lab, tmp_path / "r", "enforce", "web01")
    assert run.rc != 0
    fatal = run.fatal()["web01"]
    assert "changes did not apply" in fatal, fatal
    assert "Access is denied" in fatal, fatal
    row = _rows(run)["web01"]
    assert row["status"] == "failed"
    assert row["settings"]["server_require"]["value"] is False
    assert row["settings"]["server_require"]["owner"] == "default"
    assert _model(lab, "web01").registry_value("server", "RequireSecuritySignature") is None
    # A fresh read agrees with what the failed run reported.
    audit = _play(lab, tmp_path / "audit", "audit", "web01")
    assert audit.rc == 0, audit.tail()
    assert _rows(audit)["web01"]["settings"]["server_require"]["owner"] == "default"
