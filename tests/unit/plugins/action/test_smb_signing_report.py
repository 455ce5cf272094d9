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


def test_written_in_check_mode_too(tmp_path: Path) -> None:
    result = _action({"dest": str(tmp_path)}, check_mode=True).run(task_vars=_task_vars(HOSTVARS))
    assert (tmp_path / "smb_signing_report.html").exists()
    assert result["changed"] is False


def test_replaces_an_existing_report(tmp_path: Path) -> None:
    (tmp_path / "smb_signing_report.json").write_text("old")
    _action({"dest": str(tmp_path), "formats": ["json"]}).run(task_vars=_task_vars(HOSTVARS))
    assert json.loads((tmp_path / "smb_signing_report.json").read_text())["schema_version"] == 2


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
