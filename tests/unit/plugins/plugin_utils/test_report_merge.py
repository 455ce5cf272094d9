"""Merging runs' reports: one run's report again, newer rows, refusals, coverage."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

import pytest
from unit.plugins.plugin_utils.report_samples import ALL_ON, make_facts

from ansible_collections.winhardening.smb.plugins.plugin_utils import _report_merge as merge
from ansible_collections.winhardening.smb.plugins.plugin_utils import _report_model as model

Triple = Tuple[str, Optional[Dict[str, Any]], Optional[Dict[str, Any]]]


def _fleet(count: int = 12) -> List[Triple]:
    hosts: List[Triple] = []
    for i in range(count):
        name = f"h{i:02d}"
        profile = ("member_server", "domain_controller", "member_workstation")[i % 3]
        values = ALL_ON if i % 4 == 0 else {"server_require": i % 2 == 0}
        hosts.append((name, make_facts(name, profile, values=values, smb1=i % 5 == 0), None))
    hosts.append(("gone", None, {"failure": "unreachable: timed out"}))
    return hosts


def _run(hosts: List[Triple], run_id: str, when: str) -> Dict[str, Any]:
    report = model.build_report(hosts, when)
    return merge.run_payload(report, run_id, {"awx_job_id": run_id})


def test_slices_merge_into_the_report_of_one_run() -> None:
    hosts = _fleet()
    whole = model.build_report(hosts, "2026-12-01T10:00:00Z")
    artifacts: Dict[str, Any] = {}
    for k in range(4):
        artifacts[merge.run_key(f"job_{k}")] = _run(hosts[k::4], f"job_{k}", "2026-12-01T10:00:00Z")
    merged = merge.merge(merge.sources_from("", artifacts), "2026-12-01T11:00:00Z")
    assert merged["hosts"] == whole["hosts"]
    assert merged["summary"] == whole["summary"]
    assert merged["effective"] == whole["effective"]
    assert merged["merge"]["hosts"] == len(hosts)
    assert merged["merge"]["runs"] == ["job_0", "job_1", "job_2", "job_3"]
    assert merged["merge"]["duplicates"] == []


def test_rows_round_trip_exactly_and_compactly() -> None:
    rows = model.build_report(_fleet(40), "2026-12-01T10:00:00Z")["hosts"]
    packed = merge.pack_rows(rows)
    assert merge.unpack_rows(packed) == json.loads(json.dumps(rows))
    assert len(packed) < len(json.dumps(rows)) / 5


def test_a_host_seen_twice_keeps_the_newer_row_and_says_so() -> None:
    old_facts = make_facts("h00", values={"server_require": False})
    new_facts = make_facts("h00", values=ALL_ON)
    older = merge.sources_from("a", _run([("h00", old_facts, None)], "a", "2026-12-01T10:00:00Z"))
    newer = merge.sources_from("b", _run([("h00", new_facts, None)], "b", "2026-12-02T10:00:00Z"))
    for sources in (older + newer, newer + older):
        merged = merge.merge(sources, "2026-12-03T00:00:00Z")
        assert [r["status"] for r in merged["hosts"]] == ["compliant"]
        (dup,) = merged["merge"]["duplicates"]
        assert dup["host"] == "h00"
        assert dup["kept"] == {"source": "b", "generated_at": "2026-12-02T10:00:00Z"}
        assert dup["set_aside"] == [{"source": "a", "generated_at": "2026-12-01T10:00:00Z"}]
        assert "1 hosts seen twice, the newer row kept: h00" in merge.coverage_line(merged)


def test_equally_new_rows_keep_the_later_source() -> None:
    when = "2026-12-01T10:00:00Z"
    first = merge.sources_from("a", _run([("h00", make_facts("h00"), None)], "a", when))
    second = merge.sources_from(
        "b", _run([("h00", make_facts("h00", values=ALL_ON), None)], "b", when)
    )
    merged = merge.merge(first + second, when)
    assert merged["merge"]["duplicates"][0]["kept"]["source"] == "b"


def test_different_baselines_are_refused_with_the_sources_named() -> None:
    stig = make_facts("h01")
    stig["baseline"] = "stig"
    cis = merge.sources_from(
        "slice-a", _run([("h00", make_facts("h00"), None)], "a", "2026-12-01T10:00:00Z")
    )
    other = merge.sources_from("slice-b", _run([("h01", stig, None)], "b", "2026-12-01T10:00:00Z"))
    with pytest.raises(
        merge.MergeError, match=r"different baselines \(cis: slice-a; stig: slice-b\)"
    ):
        merge.merge(cis + other, "2026-12-01T11:00:00Z")


def test_empty_sources_are_merged_and_listed() -> None:
    hosts = _fleet(4)
    full = merge.sources_from("full", model.build_report(hosts, "2026-12-01T10:00:00Z"))
    empty_report = model.build_report(hosts, "2026-12-01T10:00:00Z")
    empty_report["hosts"] = []
    empty = merge.sources_from("empty", empty_report)
    merged = merge.merge(full + empty, "2026-12-01T11:00:00Z")
    assert merged["merge"]["empty_sources"] == ["empty"]
    assert merged["summary"]["hosts"] == len(hosts)
    assert "1 empty: empty" in merge.coverage_line(merged)


def test_reports_and_runs_carry_their_run_and_info() -> None:
    report = model.build_report(_fleet(3), "2026-12-01T10:00:00Z")
    report["run"] = {"id": "job_7", "info": {"awx_job_id": 7}}
    (source,) = merge.sources_from("r.json", report)
    assert (source.run, dict(source.info)) == ("job_7", {"awx_job_id": 7})
    merged = merge.merge([source], "2026-12-01T11:00:00Z")
    assert merged["merge"]["sources"][0]["info"] == {"awx_job_id": 7}
    assert merged["merge"]["sources"][0]["hosts_kept"] == 4


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "not a JSON object"),
        ({"a": 1}, "neither an SMB signing report nor artifacts"),
        ({"schema_version": 1, "hosts": []}, "schema_version 1"),
        ({"format": 9, "rows": ""}, "run format 9"),
        ({"smb_signing_run_x": "text"}, "smb_signing_run_x is not a published run"),
    ],
)
def test_unknown_documents_are_refused(doc: Any, message: str) -> None:
    with pytest.raises(merge.MergeError, match=message):
        merge.sources_from("f.json", doc)


def test_damaged_rows_are_refused() -> None:
    run = _run(_fleet(2), "a", "2026-12-01T10:00:00Z")
    run["rows"] = run["rows"][:-8]
    with pytest.raises(merge.MergeError, match="rows cannot be decoded"):
        merge.sources_from("x", run)


def test_no_source_is_refused() -> None:
    with pytest.raises(merge.MergeError, match="no source"):
        merge.merge([], "2026-12-01T11:00:00Z")


@pytest.mark.parametrize(
    ("run_id", "key"),
    [("job_4711", "smb_signing_run_job_4711"), ("a-b.c", "smb_signing_run_a_b_c")],
)
def test_run_keys_are_variable_names(run_id: str, key: str) -> None:
    assert merge.run_key(run_id) == key


def test_a_run_id_without_a_usable_character_is_refused() -> None:
    with pytest.raises(merge.MergeError, match="no letter"):
        merge.run_key("--")
