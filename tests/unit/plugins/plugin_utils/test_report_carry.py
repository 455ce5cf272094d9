"""A run over part of the fleet: the rows it did not see are carried, marked, and never taken for
this run's findings or writes; a report of another schema or baseline is replaced, not merged."""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

import pytest
from unit.plugins.plugin_utils.report_samples import ALL_ON, make_facts

from ansible_collections.winhardening.smb.plugins.plugin_utils import _report_model as model
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_carry import (
    coverage_note,
    with_carried,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_drift import (
    changes_since,
    history_entry,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._rollback import plan

ENFORCED = {
    "mode": "enforce",
    "changes": ["server_require"],
    "settings": {
        "server_require": {"changed": True, "before": False, "after": True, "owner_before": ""}
    },
}


def _report(
    names: List[str], when: str, run: str, outcome: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    hosts = [
        (n, make_facts(n, values=ALL_ON if n == "a" else None), copy.deepcopy(outcome))
        for n in names
    ]
    report = model.build_report(hosts, when)
    report["run"] = {"id": run, "info": {}}
    return report


def test_no_previous_report_covers_this_run_only() -> None:
    report = with_carried(_report(["a", "b"], "2026-12-01T00:00:00Z", "r1"), None)
    assert report["coverage"] == {
        "hosts": 2,
        "this_run_hosts": 2,
        "this_run_by_status": report["summary"]["by_status"],
        "carried_hosts": [],
        "carried_from": [],
        "replaced": None,
    }
    assert report["summary"]["coverage"] == report["coverage"]
    assert coverage_note(report) == ""


def test_hosts_not_seen_keep_their_latest_row_and_this_runs_numbers_stand_apart() -> None:
    previous = with_carried(_report(["a", "b", "c"], "2026-12-01T00:00:00Z", "r1"), None)
    current = _report(["a"], "2026-12-02T00:00:00Z", "r2")
    report = with_carried(current, previous, "old.json")
    rows = {r["host"]: r for r in report["hosts"]}
    assert rows["a"]["carried"] is None
    assert rows["b"]["carried"] == {
        "generated_at": "2026-12-01T00:00:00Z",
        "run": "r1",
        "report": "old.json",
    }
    assert report["summary"]["hosts"] == 3
    # Carried noncompliant hosts are in the report's numbers, and not in this run's.
    assert report["summary"]["by_status"]["noncompliant"] == 2
    assert report["coverage"]["this_run_by_status"]["noncompliant"] == 0
    assert report["coverage"]["this_run_by_status"]["compliant"] == 1
    assert report["coverage"]["carried_hosts"] == ["b", "c"]
    assert report["run"] == {"id": "r2", "info": {}}
    assert report["generated_at"] == "2026-12-02T00:00:00Z"
    assert "1 seen by this run, 2 carried over" in coverage_note(report)
    # The input report is not changed.
    assert [r["host"] for r in current["hosts"]] == ["a"]
    assert "coverage" not in current["summary"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"schema_version": 1}, "its schema_version is 1, this report's 2"),
        ({"baseline": "stig"}, "its baseline is stig, this run's cis"),
        ({"run": {"id": "c", "check_mode": True}}, "it is a check-mode report"),
        ({"hosts": None}, "it is not an SMB signing report"),
    ],
)
def test_a_previous_report_that_does_not_fit_is_replaced_and_named(
    change: Dict[str, Any], why: str
) -> None:
    previous = {**_report(["a", "b", "c"], "2026-12-01T00:00:00Z", "r1"), **change}
    report = with_carried(_report(["a"], "2026-12-02T00:00:00Z", "r2"), previous, "old.json")
    assert [r["host"] for r in report["hosts"]] == ["a"]
    replaced = report["coverage"]["replaced"]
    count = "of 3 hosts " if change.get("hosts", []) is not None else ""
    assert replaced == f"the previous report {count}in old.json was replaced: {why}"
    assert coverage_note(report) == "; " + replaced


def test_text_that_is_no_report_is_replaced() -> None:
    report = with_carried(_report(["a"], "2026-12-02T00:00:00Z", "r2"), b"old", "old.json")
    assert report["coverage"]["replaced"] == (
        "the previous report in old.json was replaced: it is not an SMB signing report"
    )


def test_carried_rows_are_no_news_and_no_writes_of_this_run() -> None:
    previous = with_carried(_report(["a", "b"], "2026-12-01T00:00:00Z", "r1", ENFORCED), None)
    assert set(history_entry(previous)["writes"]) == {"a", "b"}
    report = with_carried(_report(["a"], "2026-12-02T00:00:00Z", "r2"), previous, "old.json")
    assert history_entry(report)["writes"] == {}
    changes = changes_since(previous, report, [])
    # b was not seen by this run: gone from it, not "unchanged".
    assert changes["hosts_gone"] == ["b"]
    assert all(c["host"] != "b" for c in changes["value_changes"])


def test_a_rollback_undoes_only_the_rows_its_run_wrote() -> None:
    previous = with_carried(_report(["a", "b"], "2026-12-01T00:00:00Z", "r1", ENFORCED), None)
    report = with_carried(
        _report(["a"], "2026-12-02T00:00:00Z", "r2", ENFORCED), previous, "old.json"
    )
    assert set(plan(report, "r.json")["hosts"]) == {"a"}


def test_benchmark_ids_fall_back_to_the_catalog_without_facts_that_carry_them() -> None:
    facts = make_facts("a")
    for data in facts["settings"].values():
        del data["benchmarks"]
    row = model.host_row("a", facts, None)
    assert row["settings"]["server_require"]["benchmarks"] == {
        "cis": "2.3.9.2",
        "stig": None,
        "stig_vuln_id": None,
        "cce": "CCE-37864-6",
    }
    assert row["settings"]["server_enable"]["smb1_only"] is True
