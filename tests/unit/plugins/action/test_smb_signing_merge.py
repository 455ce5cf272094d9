"""The merge action: report files, directories and published runs in; one fleet report out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task
from unit.plugins.plugin_utils.report_samples import ALL_ON, make_facts

from ansible_collections.winhardening.smb.plugins.action import (
    smb_signing_merge,
    smb_signing_report,
)


def _task(args: Dict[str, Any]) -> MagicMock:
    task = MagicMock(Task)
    task.args = args
    task.check_mode = False
    task.async_val = 0
    task.diff = False
    return task


def _report_action(args: Dict[str, Any]) -> smb_signing_report.ActionModule:
    return smb_signing_report.ActionModule(
        _task(args), MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None
    )


def _merge(args: Dict[str, Any]) -> Dict[str, Any]:
    action = smb_signing_merge.ActionModule(
        _task(args), MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None
    )
    result: Dict[str, Any] = action.run(task_vars={})
    return result


HOSTVARS = {
    name: {
        "ansible_facts": {
            "smb_signing": make_facts(
                name,
                values=ALL_ON if i % 2 else {},
                wire_required=bool(i % 2),
            )
            | {"warnings": [f"{name}: skipping audit_unsigned_clients from baseline cis"]}
        }
    }
    for i, name in enumerate(["a1", "a2", "b1", "b2", "c1"])
}


def _report(dest: Path, hosts: list, run_id: str) -> Dict[str, Any]:
    task_vars = {"hostvars": HOSTVARS, "ansible_play_hosts_all": hosts}
    result: Dict[str, Any] = _report_action(
        {"dest": str(dest), "hosts": hosts, "run_id": run_id, "run_info": {"awx_job_id": run_id}}
    ).run(task_vars=task_vars)
    return result


def test_the_report_publishes_its_rows_under_a_key_of_its_own(tmp_path: Path) -> None:
    result = _report(tmp_path, ["a1", "a2"], "job_11")
    assert result["run_key"] == "smb_signing_run_job_11"
    assert set(result["stats"]) == {"smb_signing", "smb_signing_run_job_11"}
    run = result["stats"]["smb_signing_run_job_11"]
    assert (run["run"], run["hosts"], run["info"]) == ("job_11", 2, {"awx_job_id": "job_11"})
    report = json.loads((tmp_path / "smb_signing_report.json").read_text())
    assert report["run"] == {"id": "job_11", "info": {"awx_job_id": "job_11"}}


def test_the_report_makes_a_run_id_when_none_is_given(tmp_path: Path) -> None:
    task_vars = {"hostvars": HOSTVARS, "ansible_play_hosts_all": ["a1"]}
    first = _report_action({"dest": str(tmp_path)}).run(task_vars=task_vars)
    second = _report_action({"dest": str(tmp_path)}).run(task_vars=task_vars)
    assert first["run_key"].startswith("smb_signing_run_ctl_")
    assert first["run_key"] != second["run_key"]


def test_a_warning_of_many_hosts_is_printed_once(tmp_path: Path) -> None:
    result = _report(tmp_path, ["a1", "a2", "b1"], "r")
    assert result["warnings"] == [
        "3 hosts (a1, b1, a2): skipping audit_unsigned_clients from baseline cis"
    ]
    assert result["warning_summary"][0]["count"] == 3
    quiet = _report_action(
        {"dest": str(tmp_path), "hosts": ["a1", "a2"], "summarise_warnings": False}
    ).run(task_vars={"hostvars": HOSTVARS, "ansible_play_hosts_all": ["a1", "a2"]})
    assert "warnings" not in quiet


def test_slice_directories_merge_into_the_whole_report(tmp_path: Path) -> None:
    names = sorted(HOSTVARS)
    whole = _report(tmp_path / "whole", names, "whole")
    for k in range(2):
        _report(tmp_path / "slices" / f"s{k}", names[k::2], f"s{k}")
    (tmp_path / "slices" / "notes.json").write_text('{"not": "a report"}')
    dest = tmp_path / "slices" / "fleet"
    result = _merge({"sources": [str(tmp_path / "slices")], "dest": str(dest)})
    # The run's report says what it saw (coverage); the merge says it in its own result.
    whole_summary = {k: v for k, v in whole["summary"].items() if k != "coverage"}
    assert whole["summary"]["coverage"]["this_run_hosts"] == len(names)
    assert result["summary"] == whole_summary
    merged = json.loads((dest / "smb_signing_report.json").read_text())
    wanted = json.loads((tmp_path / "whole" / "smb_signing_report.json").read_text())
    assert merged["hosts"] == wanted["hosts"]
    assert not any(r["carried"] for r in merged["hosts"])
    assert result["coverage"]["runs"] == ["s0", "s1"]
    assert result["coverage"]["hosts"] == len(names)
    assert any("notes.json" in s for s in result["coverage"]["skipped"])
    assert result["stats"]["smb_signing"] == whole_summary
    assert "5 hosts from 2 sources (2 runs: s0, s1)" in result["msg"]
    # Again: its own output and the merged report are skipped, not merged.
    again = _merge({"sources": [str(tmp_path / "slices")], "dest": str(dest)})
    assert again["coverage"]["hosts"] == len(names)
    assert again["coverage"]["duplicate_hosts"] == []


def test_published_runs_merge_from_artifacts(tmp_path: Path) -> None:
    names = sorted(HOSTVARS)
    artifacts: Dict[str, Any] = {"smb_signing": {"hosts": 2}}
    for k in range(3):
        artifacts.update(_report(tmp_path / f"s{k}", names[k::3], f"job_{k}")["stats"])
    result = _merge({"artifacts": artifacts, "dest": str(tmp_path / "fleet")})
    assert result["summary"]["hosts"] == len(names)
    assert result["coverage"]["runs"] == ["job_0", "job_1", "job_2"]


def test_a_missing_source_fails_naming_it(tmp_path: Path) -> None:
    with pytest.raises(AnsibleActionFail, match=r"cannot merge: .*nowhere: no such file"):
        _merge({"sources": [str(tmp_path / "nowhere")], "dest": str(tmp_path / "out")})


def test_nothing_to_merge_fails(tmp_path: Path) -> None:
    with pytest.raises(AnsibleActionFail, match="give sources"):
        _merge({"dest": str(tmp_path)})
