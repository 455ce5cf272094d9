"""The CSV: one row per host and setting, readable back, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

from unit.plugins.plugin_utils.report_samples import ALL_ON, make_facts

from ansible_collections.winhardening.smb.plugins.module_utils.catalog import SETTING_NAMES
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_carry import with_carried
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_csv import (
    COLUMNS,
    render_csv,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_model import build_report


def _rows(hosts: list) -> list:
    text = render_csv(build_report(hosts, "t"))
    return list(csv.DictReader(io.StringIO(text)))


def test_one_row_per_host_and_setting_with_values() -> None:
    rows = _rows(
        [
            ("ok", make_facts("ok", values=ALL_ON, wire_required=True), None),
            ("bad", make_facts("bad", gpo={"client_require": "Tier1"}), None),
        ]
    )
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == 2 * len(SETTING_NAMES)
    bad = {r["setting"]: r for r in rows if r["host"] == "bad"}
    assert set(bad) == set(SETTING_NAMES)
    assert bad["client_require"]["gpo"] == "Tier1"
    assert bad["client_require"]["owner"] == "gpo"
    assert bad["server_require"]["value"] == "false"
    assert bad["server_require"]["expected"] == "true"
    assert bad["server_require"]["compliant"] == "false"
    assert bad["server_require"]["wire_signing_required"] == ""  # not probed
    ok = [r for r in rows if r["host"] == "ok"]
    assert {r["wire_signing_required"] for r in ok} == {"true"}
    assert {r["status"] for r in ok} == {"compliant"}


def test_host_without_facts_gets_one_row_with_the_failure() -> None:
    rows = _rows([("gone", None, {"failure": "unreachable over WinRM"})])
    assert len(rows) == 1
    assert rows[0]["status"] == "failed"
    assert rows[0]["reason"] == "unreachable over WinRM"


def test_formula_like_cells_are_defused() -> None:
    rows = _rows(
        [
            ("=cmd|' /C calc'!A0", None, {"failure": "+1"}),
            ("-h", make_facts("h", gpo={"server_require": "@SUM(A1)"}), None),
        ]
    )
    hosts = {r["host"] for r in rows}
    assert "'=cmd|' /C calc'!A0" in hosts
    assert "'-h" in hosts
    assert any(r["reason"] == "'+1" for r in rows)
    assert any(r["gpo"] == "'@SUM(A1)" for r in rows)


def test_check_mode_carried_rows_and_benchmark_ids_have_columns() -> None:
    previous = build_report([("old", make_facts("old"), None)], "2026-12-01T00:00:00Z")
    current = build_report([("new", make_facts("new"), None)], "t2", check_mode=True)
    rows = list(csv.DictReader(io.StringIO(render_csv(with_carried(current, previous)))))
    new = {r["setting"]: r for r in rows if r["host"] == "new"}
    old = {r["setting"]: r for r in rows if r["host"] == "old"}
    assert {
        (r["check_mode"], r["seen_by_this_run"], r["row_generated_at"]) for r in new.values()
    } == {("true", "true", "t2")}
    assert {
        (r["check_mode"], r["seen_by_this_run"], r["row_generated_at"]) for r in old.values()
    } == {("false", "false", "2026-12-01T00:00:00Z")}
    assert sorted(n for n, r in new.items() if r["smb1_only"] == "true") == [
        "client_enable",
        "server_enable",
    ]
    assert (new["client_require"]["cis"], new["client_require"]["cce"]) == (
        "2.3.8.1",
        "CCE-36325-9",
    )
    assert new["client_require"]["stig"] == "WN22-SO-000160"
