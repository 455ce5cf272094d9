"""The report action: collects facts from hostvars, writes the files, returns the summary."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Dict, List, Optional
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task
from unit.plugins.plugin_utils.report_samples import ALL_ON, make_facts

from ansible_collections.winhardening.smb.plugins.action import smb_signing_report


def _action(args: Dict[str, Any], check_mode: bool = False) -> smb_signing_report.ActionModule:
    task = MagicMock(Task)
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    task.diff = False
    return smb_signing_report.ActionModule(
        task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None
    )


def _task_vars(hostvars: Dict[str, Any], play_hosts: Optional[List[str]] = None) -> Dict[str, Any]:
    return {
        "hostvars": hostvars,
        "ansible_play_hosts_all": play_hosts if play_hosts is not None else list(hostvars),
        "inventory_hostname": next(iter(hostvars), "localhost"),
    }


HOSTVARS = {
    "dc01": {
        "ansible_facts": {
            "smb_signing": make_facts(
                "dc01", "domain_controller", values=ALL_ON, wire_required=True
            )
        },
        "smb_signing_outcome": {"mode": "enforce", "changes": ["client_require"]},
    },
    "fs01": {
        "ansible_facts": {"smb_signing": make_facts("fs01", wire_required=False, status="failed")},
        "smb_signing_outcome": {"mode": "enforce", "failure": "changes did not apply: x"},
    },
    "gone": {"ansible_facts": {}},
}


def test_writes_all_three_files_and_returns_the_summary(tmp_path: Path) -> None:
    dest = tmp_path / "new" / "dir"
    result = _action({"dest": str(dest)}).run(task_vars=_task_vars(HOSTVARS))
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert set(result["files"]) == {"json", "csv", "html"}
    for path in result["files"].values():
        assert Path(path).parent == dest
        assert Path(path).stat().st_size > 0
    summary = result["summary"]
    assert summary["hosts"] == 3
    assert summary["compliant_hosts"] == 1
    assert summary["failed_hosts"] == ["fs01"]
    assert summary["unreachable_hosts"] == ["gone"]
    report = json.loads(Path(result["files"]["json"]).read_text())
    assert report["summary"] == summary
    dc01 = next(h for h in report["hosts"] if h["host"] == "dc01")
    assert dc01["outcome"]["changes"] == ["client_require"]
    assert dc01["settings"]["server_require"]["value"] is True
    with Path(result["files"]["csv"]).open() as handle:
        rows = list(csv.DictReader(handle))
    assert {r["host"] for r in rows} == {"dc01", "fs01", "gone"}
    assert str(dest) in result["msg"]
    # Nothing is left behind from the atomic writes.
    # The report files, and the run history every run appends a line to (issue 17).
    assert sorted(p.name for p in dest.iterdir()) == [
        "smb_signing_history.jsonl",
        "smb_signing_report.csv",
        "smb_signing_report.html",
        "smb_signing_report.json",
    ]


def test_formats_hosts_and_basename(tmp_path: Path) -> None:
    args = {"dest": str(tmp_path), "formats": ["json"], "hosts": ["dc01"], "basename": "fleet"}
    result = _action(args).run(task_vars=_task_vars(HOSTVARS))
    assert list(result["files"]) == ["json"]
    assert result["summary"]["hosts"] == 1
    assert (tmp_path / "fleet.json").exists()
    assert not (tmp_path / "fleet.html").exists()


def _csv_rows(path: Path) -> List[Dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_check_mode_writes_its_own_files_and_says_so_in_each(tmp_path: Path) -> None:
    real = _action({"dest": str(tmp_path)}).run(task_vars=_task_vars(HOSTVARS))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if "report" in p.name}
    result = _action({"dest": str(tmp_path)}, check_mode=True).run(task_vars=_task_vars(HOSTVARS))
    assert result["changed"] is False
    # The last real run's files are untouched; the check run's sit beside them.
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in before} == before
    assert result["files"] == {
        fmt: str(tmp_path / f"smb_signing_report.check.{fmt}") for fmt in ("json", "csv", "html")
    }
    assert result["files"] != real["files"]
    assert result["msg"].startswith("SMB signing check-mode report for 3 hosts")
    report = json.loads(Path(result["files"]["json"]).read_text())
    assert report["run"]["check_mode"] is True
    assert all(r["outcome"]["check_mode"] for r in report["hosts"])
    assert {r["check_mode"] for r in _csv_rows(Path(result["files"]["csv"]))} == {"true"}
    assert "Check mode: this run wrote nothing" in Path(result["files"]["html"]).read_text()
    assert {r["check_mode"] for r in _csv_rows(Path(real["files"]["csv"]))} == {"false"}
    assert "Check mode" not in Path(real["files"]["html"]).read_text()
    # The run history records the check run as one that wrote nothing.
    lines = (tmp_path / "smb_signing_history.jsonl").read_text().splitlines()
    assert len(lines) == 2
    entry = json.loads(lines[1])
    assert entry["check_mode"] is True
    assert entry["writes"] == {}


def test_a_run_over_part_of_the_fleet_keeps_the_other_hosts_rows_marked_carried(
    tmp_path: Path,
) -> None:
    whole = _action({"dest": str(tmp_path), "run_id": "whole"}).run(task_vars=_task_vars(HOSTVARS))
    first = json.loads(Path(whole["files"]["json"]).read_text())
    assert first["coverage"]["carried_hosts"] == []
    assert first["coverage"]["this_run_hosts"] == 3

    part = _action({"dest": str(tmp_path), "hosts": ["dc01"], "run_id": "part"}).run(
        task_vars=_task_vars(HOSTVARS)
    )
    report = json.loads(Path(part["files"]["json"]).read_text())
    rows = {r["host"]: r for r in report["hosts"]}
    assert set(rows) == {"dc01", "fs01", "gone"}
    assert rows["dc01"]["carried"] is None
    for host in ("fs01", "gone"):
        assert rows[host]["carried"]["generated_at"] == first["generated_at"]
        assert rows[host]["carried"]["run"] == "whole"
        assert {k: v for k, v in rows[host].items() if k != "carried"} == {
            k: v
            for k, v in next(r for r in first["hosts"] if r["host"] == host).items()
            if k != "carried"
        }
    coverage = report["coverage"]
    assert coverage["this_run_hosts"] == 1
    assert coverage["carried_hosts"] == ["fs01", "gone"]
    assert coverage["carried_from"] == [
        {"generated_at": first["generated_at"], "run": "whole", "hosts": 2}
    ]
    # The whole report's numbers, and this run's own beside them.
    summary = part["summary"]
    assert summary["hosts"] == 3
    assert summary["coverage"] == coverage
    assert coverage["this_run_by_status"]["compliant"] == 1
    assert sum(coverage["this_run_by_status"].values()) == 1
    assert "1 seen by this run, 2 carried over from earlier reports" in part["msg"]
    # What the run publishes for a merge is its own rows only.
    assert part["stats"][part["run_key"]]["hosts"] == 1
    csv_rows = _csv_rows(Path(part["files"]["csv"]))
    seen = {r["host"]: (r["seen_by_this_run"], r["row_generated_at"]) for r in csv_rows}
    assert seen["dc01"] == ("true", report["generated_at"])
    assert seen["fs01"] == ("false", first["generated_at"])
    page = Path(part["files"]["html"]).read_text()
    assert "not seen by this run; from the report of " + first["generated_at"] in page
    assert "Coverage: 3 hosts, 1 seen by this run" in page

    # A second partial run keeps where each carried row came from.
    again = _action({"dest": str(tmp_path), "hosts": ["fs01"], "run_id": "again"}).run(
        task_vars=_task_vars(HOSTVARS)
    )
    rows = {r["host"]: r for r in json.loads(Path(again["files"]["json"]).read_text())["hosts"]}
    assert rows["fs01"]["carried"] is None
    assert rows["dc01"]["carried"]["run"] == "part"
    assert rows["gone"]["carried"]["run"] == "whole"


def test_carried_rows_are_no_writes_of_this_run(tmp_path: Path) -> None:
    written = {
        "mode": "enforce",
        "changes": ["server_require"],
        "settings": {
            "server_require": {
                "changed": True,
                "before": False,
                "after": True,
                "owner_before": "local",
            }
        },
    }
    hostvars = {
        "dc01": HOSTVARS["dc01"],
        "fs01": {**HOSTVARS["fs01"], "smb_signing_outcome": written},
    }
    _action({"dest": str(tmp_path)}).run(task_vars=_task_vars(hostvars))
    _action({"dest": str(tmp_path), "hosts": ["dc01"]}).run(task_vars=_task_vars(hostvars))
    lines = (tmp_path / "smb_signing_history.jsonl").read_text().splitlines()
    assert "fs01" in json.loads(lines[0])["writes"]
    assert json.loads(lines[1])["writes"] == {}


def test_a_check_run_over_part_of_the_fleet_carries_from_the_real_report(tmp_path: Path) -> None:
    _action({"dest": str(tmp_path)}).run(task_vars=_task_vars(HOSTVARS))
    result = _action({"dest": str(tmp_path), "hosts": ["dc01"]}, check_mode=True).run(
        task_vars=_task_vars(HOSTVARS)
    )
    assert result["summary"]["coverage"]["carried_hosts"] == ["fs01", "gone"]
    real = json.loads((tmp_path / "smb_signing_report.json").read_text())
    assert real["coverage"]["this_run_hosts"] == 3


def test_a_report_of_another_baseline_is_replaced_and_the_message_says_so(
    tmp_path: Path,
) -> None:
    _action({"dest": str(tmp_path)}).run(task_vars=_task_vars(HOSTVARS))
    path = tmp_path / "smb_signing_report.json"
    doc = json.loads(path.read_text())
    doc["baseline"] = "stig"
    path.write_text(json.dumps(doc))
    result = _action({"dest": str(tmp_path), "hosts": ["dc01"]}).run(task_vars=_task_vars(HOSTVARS))
    assert result["summary"]["hosts"] == 1
    assert "the previous report of 3 hosts in " + str(path) in result["msg"]
    assert "was replaced: its baseline is stig, this run's cis" in result["msg"]
    report = json.loads(path.read_text())
    assert [r["host"] for r in report["hosts"]] == ["dc01"]
    assert report["coverage"]["replaced"] in result["msg"]
    assert "was replaced" in Path(result["files"]["html"]).read_text()


def test_replaces_an_existing_report(tmp_path: Path) -> None:
    (tmp_path / "smb_signing_report.json").write_text("old")
    result = _action({"dest": str(tmp_path), "formats": ["json"]}).run(
        task_vars=_task_vars(HOSTVARS)
    )
    assert json.loads((tmp_path / "smb_signing_report.json").read_text())["schema_version"] == 2
    assert "was replaced: it is not an SMB signing report" in result["msg"]


def test_each_setting_shows_its_benchmark_ids_and_smb1_only_in_every_format(
    tmp_path: Path,
) -> None:
    result = _action({"dest": str(tmp_path)}).run(task_vars=_task_vars(HOSTVARS))
    report = json.loads(Path(result["files"]["json"]).read_text())
    settings = {s["name"]: s for s in report["settings"]}
    assert settings["server_enable"]["smb1_only"] is True
    assert settings["server_require"]["smb1_only"] is False
    assert (settings["server_require"]["cis"], settings["server_require"]["cce"]) == (
        "2.3.9.2",
        "CCE-37864-6",
    )
    dc01 = next(r for r in report["hosts"] if r["host"] == "dc01")
    assert dc01["settings"]["server_require"]["benchmarks"] == {
        "cis": "2.3.9.2",
        "stig": "WN22-SO-000190",
        "stig_vuln_id": "V-254463",
        "cce": "CCE-37864-6",
    }
    assert dc01["settings"]["client_enable"]["smb1_only"] is True
    assert dc01["settings"]["audit_unsigned_clients"]["benchmarks"]["cce"] is None
    row = next(
        r
        for r in _csv_rows(Path(result["files"]["csv"]))
        if r["host"] == "dc01" and r["setting"] == "server_require"
    )
    assert (row["smb1_only"], row["cis"], row["stig"], row["stig_vuln_id"], row["cce"]) == (
        "false",
        "2.3.9.2",
        "WN22-SO-000190",
        "V-254463",
        "CCE-37864-6",
    )
    smb1 = [
        r["setting"]
        for r in _csv_rows(Path(result["files"]["csv"]))
        if r["host"] == "dc01" and r["smb1_only"] == "true"
    ]
    assert sorted(smb1) == ["client_enable", "server_enable"]
    page = Path(result["files"]["html"]).read_text()
    assert page.count("SMB1 only</span>") == 2
    assert "CIS 2.3.9.2, CCE-37864-6" in page
    assert "CIS 2.3.9.2, STIG WN22-SO-000190 (V-254463), CCE-37864-6" in page


def test_unknown_host_is_named(tmp_path: Path) -> None:
    with pytest.raises(AnsibleActionFail, match="'nope' is not in the inventory"):
        _action({"dest": str(tmp_path), "hosts": ["nope"]}).run(task_vars=_task_vars(HOSTVARS))


def test_unknown_format_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(AnsibleActionFail, match="formats"):
        _action({"dest": str(tmp_path), "formats": ["pdf"]}).run(task_vars=_task_vars(HOSTVARS))


def test_unwritable_dest_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(AnsibleActionFail, match="dest: cannot create"):
        _action({"dest": str(blocker / "sub")}).run(task_vars=_task_vars(HOSTVARS))


def test_empty_play_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AnsibleActionFail, match="no hosts"):
        _action({"dest": str(tmp_path)}).run(task_vars=_task_vars({}, []))


def test_runs_once_without_a_connection() -> None:
    assert smb_signing_report.ActionModule.BYPASS_HOST_LOOP is True
    assert smb_signing_report.ActionModule._requires_connection is False


class _RawOnlyHostVars:
    """Ansible's HostVars: raw_get gives a host's variables untemplated; indexing it would
    template every value, which the report must not pay for on a large play."""

    def __init__(self, data: Dict[str, Dict[str, Any]]) -> None:
        self._data = data
        self.raw_calls: List[str] = []

    def raw_get(self, host: str) -> Any:
        self.raw_calls.append(host)
        return self._data.get(host, object())  # Ansible answers an unknown host with a marker

    def get(self, host: str) -> Any:
        raise AssertionError("the report templated hostvars instead of using raw_get")


def test_reads_hostvars_untemplated_and_a_failed_hosts_facts_from_its_outcome(
    tmp_path: Path,
) -> None:
    # A failed task's facts reach only its registered result: Ansible sets none for the host.
    failed_facts = make_facts("fs01", wire_required=False, status="failed")
    hostvars = _RawOnlyHostVars(
        {
            "dc01": HOSTVARS["dc01"],
            "fs01": {
                "ansible_facts": {},
                "smb_signing_outcome": {
                    "mode": "enforce",
                    "failure": "still not compliant: x",
                    "ansible_facts": {"smb_signing": failed_facts},
                },
            },
        }
    )
    task_vars = {"hostvars": hostvars, "ansible_play_hosts_all": ["dc01", "fs01"]}
    result = _action({"dest": str(tmp_path)}).run(task_vars=task_vars)
    assert not result.get("failed"), result
    assert hostvars.raw_calls == ["dc01", "fs01"]
    rows = {r["host"]: r for r in json.loads(Path(result["files"]["json"]).read_text())["hosts"]}
    assert rows["fs01"]["facts_missing"] is False
    assert rows["fs01"]["computer_name"] == failed_facts["computer_name"]
    assert rows["fs01"]["status"] == "failed"
    assert result["summary"]["failed_hosts"] == ["fs01"]


def test_unknown_host_is_named_with_ansible_hostvars(tmp_path: Path) -> None:
    task_vars = {"hostvars": _RawOnlyHostVars({}), "ansible_play_hosts_all": ["ghost"]}
    with pytest.raises(AnsibleActionFail, match="'ghost' is not in the inventory"):
        _action({"dest": str(tmp_path)}).run(task_vars=task_vars)


def test_report_files_are_owner_only_unless_widened(tmp_path: Path) -> None:
    import stat

    dest = tmp_path / "new"
    result = _action({"dest": str(dest)}).run(task_vars=_task_vars(HOSTVARS))
    assert not result.get("failed"), result
    assert stat.S_IMODE(dest.stat().st_mode) == 0o700
    for path in result["files"].values():
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600, path
    # A file the user widened keeps its mode when it is replaced.
    json_file = Path(result["files"]["json"])
    json_file.chmod(0o640)
    _action({"dest": str(dest)}).run(task_vars=_task_vars(HOSTVARS))
    assert stat.S_IMODE(json_file.stat().st_mode) == 0o640


def test_a_format_that_cannot_be_written_is_named_and_leaves_no_stale_file(
    tmp_path: Path,
) -> None:
    dest = tmp_path / "r"
    first = _action({"dest": str(dest)}).run(task_vars=_task_vars(HOSTVARS))
    assert not first.get("failed"), first
    # The CSV cannot be replaced this time (a directory stands in its way).
    csv_path = Path(first["files"]["csv"])
    csv_path.unlink()
    csv_path.mkdir()
    html = Path(first["files"]["html"])
    html_before = html.stat().st_mtime_ns
    result: Dict[str, Any] = {}
    try:
        result = _action({"dest": str(dest)}).run(task_vars=_task_vars(HOSTVARS))
    except AnsibleActionFail as exc:
        result = {"failed": True, "msg": exc.message}
    assert result["failed"] is True
    assert "smb_signing_report.csv" in result["msg"]
    assert "written:" in result["msg"]
    # The other formats are this run's, not the last run's.
    assert html.stat().st_mtime_ns >= html_before


def test_a_lone_surrogate_in_the_facts_does_not_break_the_files(tmp_path: Path) -> None:
    facts = make_facts("odd", values=ALL_ON, wire_required=True)
    facts["computer_name"] = "ODD\ud800"
    hostvars = {"odd": {"ansible_facts": {"smb_signing": facts}}}
    result = _action({"dest": str(tmp_path)}).run(task_vars=_task_vars(hostvars))
    assert not result.get("failed"), result
    for path in result["files"].values():
        Path(path).read_text(encoding="utf-8")  # valid UTF-8 throughout
