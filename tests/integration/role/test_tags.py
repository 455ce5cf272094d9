"""The role's tags: what --list-tags shows, what each tag selects, and the tag choices refused.

The role has one task per host for every setting, so a rule tag selects that task (and the
report); given only rule tags, the task handles just their settings (the chosen baseline's
values for them as a custom baseline). The checks that refuse a tag choice run once for the play
before any host is contacted, so those tests need no lab: the inventory's host is a closed port.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Set

import pytest
import yaml
from integration.playbook import REPO, WIDE_WINDOW, Run, run_playbook

from lab.client import LabClient

ROLE = REPO / "roles" / "smb_signing"
CHECK_TASK = "Check the tags given and the report directory"
MAIN_TASK = "Read (audit) or converge and verify (enforce) SMB signing"


def _role_vars() -> Dict[str, object]:
    data: Dict[str, object] = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    return data


def _rule_tags() -> Dict[str, str]:
    tags = _role_vars()["smb_signing__rule_tags"]
    assert isinstance(tags, dict)
    return {str(k): str(v) for k, v in tags.items()}


def _whole_task_tags() -> Set[str]:
    tags = _role_vars()["smb_signing__whole_task_tags"]
    assert isinstance(tags, list)
    return set(tags) - {"all", "tagged"}


@pytest.fixture
def closed_inventory(tmp_path: Path) -> Path:
    """One Windows host on a closed local port: any task that contacts it is unreachable."""
    inventory = tmp_path / "inventory.yml"
    host = {
        "ansible_host": "127.0.0.1",
        "ansible_port": 9,
        "ansible_connection": "winrm",
        "ansible_winrm_scheme": "http",
        "ansible_user": "nobody",
        "ansible_password": "unused",
    }
    tree = {"all": {"children": {"windows": {"hosts": {"h1": host}}}}}
    inventory.write_text(yaml.safe_dump(tree))
    return inventory


def _listed_tags(run: Run) -> List[str]:
    match = re.search(r"TASK TAGS: \[([^\]]*)\]", run.stdout)
    assert match, run.tail()
    return [t.strip() for t in match.group(1).split(",") if t.strip()]


@pytest.mark.parametrize("playbook", ["audit", "enforce"])
def test_list_tags(playbook: str, closed_inventory: Path, tmp_path: Path) -> None:
    """--list-tags shows always, audit, enforce, the CIS level tags and every rule tag.

    `report` is on the report tasks (the role's files show it), but ansible-playbook's listing
    walks only a block's main tasks (cli/playbook.py, _process_block over ``b.block``), and the
    report sits in the block's ``always`` section, so the listing cannot show it."""
    run = run_playbook(
        f"winhardening.smb.{playbook}",
        closed_inventory,
        tmp_path / "work",
        args=["--list-tags"],
    )
    assert run.rc == 0, run.tail()
    expected = {"always"} | _whole_task_tags() | set(_rule_tags())
    assert sorted(_listed_tags(run)) == sorted(expected)
    assert {"rule_2.3.9.2", "WN22-SO-000190", "V-254463", "rule_18.6.7.2"} <= expected


def test_report_tasks_carry_the_report_tag_and_every_selecting_tag() -> None:
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    block = next(t for t in tasks if "block" in t)
    main = block["block"][0]
    report = block["always"][0]
    assert main["name"] == MAIN_TASK
    assert "report" not in main["tags"]
    assert set(report["tags"]) == set(main["tags"]) | {"report"}
    assert set(main["tags"]) == _whole_task_tags() | set(_rule_tags())
    always = [t for t in tasks if "block" not in t]
    assert [t["tags"] for t in always] == [["always"], ["always"]]


@pytest.mark.parametrize(
    ("playbook", "args", "message"),
    [
        ("enforce", ["--tags", "audit"], "--tags audit on a run whose smb_signing_mode is enforce"),
        ("audit", ["--tags", "enforce"], "--tags enforce on a run whose smb_signing_mode is audit"),
        ("audit", ["--skip-tags", "rule_2.3.9.3"], "--skip-tags rule_2.3.9.3 would skip the one"),
        ("audit", ["--skip-tags", "enforce"], "--skip-tags enforce would skip the one task"),
        ("audit", ["--tags", "report"], "--tags report alone writes a report of nothing"),
    ],
)
def test_refused_tag_choices(
    playbook: str, args: List[str], message: str, closed_inventory: Path, tmp_path: Path
) -> None:
    """Tag choices that would silently do something else fail before any host is contacted."""
    run = run_playbook(
        f"winhardening.smb.{playbook}",
        closed_inventory,
        tmp_path / "work",
        report_dir=tmp_path / "report",
        args=args,
    )
    assert run.rc != 0, run.tail()
    assert message in run.fatal().get("h1", ""), run.tail()
    assert f"TASK [winhardening.smb.smb_signing : {CHECK_TASK}]" in run.stdout
    assert MAIN_TASK not in run.stdout
    assert run.recap_of("h1")["unreachable"] == 0


@pytest.mark.parametrize(
    "args",
    [["--tags", "report,audit"], ["--skip-tags", "report"], ["--tags", "rule_2.3.9.2,audit"]],
)
def test_accepted_tag_choices_pass_the_check(
    args: List[str], closed_inventory: Path, tmp_path: Path
) -> None:
    """Accepted choices pass the check and reach the host (unreachable here)."""
    run = run_playbook(
        "winhardening.smb.audit",
        closed_inventory,
        tmp_path / "work",
        report_dir=tmp_path / "report",
        args=args,
    )
    assert f"TASK [winhardening.smb.smb_signing : {MAIN_TASK}]" in run.stdout, run.tail()
    assert run.recap_of("h1")["unreachable"] == 1, run.tail()


# On the lab: rule tags narrow what the one task judges and writes.

SELECTED = {"server_require", "client_require"}


@pytest.mark.lab
@pytest.mark.slow
def test_rule_tags_restrict_the_audit(demo_lab: LabClient, tmp_path: Path) -> None:
    """--tags rule_2.3.9.2,WN22-SO-000160: only server_require and client_require are judged, at
    the CIS values; the others are reported with no expected value."""
    report_dir = tmp_path / "report"
    run = run_playbook(
        "winhardening.smb.audit",
        demo_lab.inventory,
        tmp_path / "work",
        report_dir=report_dir,
        extra_vars={"smb_signing_audit_window": WIDE_WINDOW},
        args=["--tags", "rule_2.3.9.2,WN22-SO-000160"],
    )
    assert all(s["failed"] == 0 for s in run.recap().values()), run.tail()
    rows = {r["host"]: r for r in run.report()["hosts"]}
    assert sorted(rows) == sorted(demo_lab.hosts())
    for host, row in rows.items():
        assert row["baseline"] == "custom", host
        for name, cell in row["settings"].items():
            if name in SELECTED:
                assert cell["expected"] is True, (host, name)
            else:
                assert cell["expected"] is None, (host, name, cell)
                assert cell["compliant"] is None, (host, name, cell)


@pytest.mark.lab
@pytest.mark.slow
def test_a_rule_tag_restricts_enforce(demo_lab: LabClient, tmp_path: Path) -> None:
    """--tags rule_2.3.8.1 on enforce writes client RequireSecuritySignature and nothing else,
    on every host, where the unrestricted run writes the server side and the SMB1 pair too."""
    before = {h: len(demo_lab.records(h)["writes"]) for h in demo_lab.hosts()}
    run = run_playbook(
        "winhardening.smb.enforce",
        demo_lab.inventory,
        tmp_path / "work",
        report_dir=tmp_path / "report",
        extra_vars={"smb_signing_audit_window": WIDE_WINDOW},
        args=["--tags", "rule_2.3.8.1"],
    )
    writes = {h: demo_lab.records(h)["writes"][before[h] :] for h in demo_lab.hosts()}
    written = {(w["side"], w["property"]) for ws in writes.values() for w in ws}
    assert written == {("client", "RequireSecuritySignature")}, (written, run.tail())
    rows = {r["host"]: r for r in run.report()["hosts"]}
    for host, row in rows.items():
        assert row["settings"]["server_require"]["expected"] is None, host
        assert row["settings"]["client_require"]["expected"] is True, host
