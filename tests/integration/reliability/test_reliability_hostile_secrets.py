"""Hostile inventory data is escaped in the report; the lab's password leaks nowhere, even at -vvv.

One audit run at -vvv over an inventory whose host name is a script tag (aliasing a lab host)
and a host whose owning GPO is named with HTML, plus one enforce task at -vvv, serve both
checks: the report must show the hostile text escaped, and the password must appear in no
output, report, log or lab record.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from integration.playbook import Run, run_playbook, run_tasks
from integration.reliability.conftest import HOSTILE_GPO, PASSWORD

from lab.client import LabClient

pytestmark = [pytest.mark.lab, pytest.mark.slow]

HOSTILE_HOST = "<script>alert('host')</script>"
ALIASED = "s00002"
# The plugins read no host variable: the lab's SMB port is passed as the role passes it.
ENFORCE_ARGS = {"baseline": "cis", "probe_port": "{{ smb_signing_probe_port }}"}


def _hostile_inventory(lab: LabClient, path: Path) -> Path:
    data = yaml.safe_load(lab.inventory.read_text())
    hosts = data["all"]["children"]["windows"]["hosts"]
    inventory = {
        "all": {
            "children": {
                "windows": {
                    "hosts": {HOSTILE_HOST: hosts[ALIASED], "hostile-gpo": hosts["hostile-gpo"]}
                }
            }
        }
    }
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def verbose_runs(rlab: LabClient, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    work = tmp_path_factory.mktemp("hostile")
    inventory = _hostile_inventory(rlab, work / "hostile-inventory.yml")
    audit = run_playbook(
        "winhardening.smb.audit",
        inventory,
        work / "audit",
        forks=2,
        extra_vars={"smb_signing_report_dir": str(work / "report")},
        args=["-vvv"],
    )
    enforce = run_tasks(
        [{"name": "Enforce", "winhardening.smb.win_smb_signing": ENFORCE_ARGS}],
        rlab.inventory,
        limit="hostile-gpo",
        args=["-vvv", "--diff"],
    )
    return {"audit": audit, "enforce": enforce, "report_dir": work / "report"}


def test_hostile_names_are_escaped_in_the_html_report(verbose_runs: Dict[str, Any]) -> None:
    audit: Run = verbose_runs["audit"]
    assert audit.rc == 0, audit.tail()
    page = (verbose_runs["report_dir"] / "smb_signing_report.html").read_text()
    for hostile in (HOSTILE_HOST, HOSTILE_GPO):
        assert hostile not in page
        assert html.escape(hostile, quote=False) in page or html.escape(hostile) in page, hostile
    # No markup from the data survives anywhere in the page.
    assert "<script>alert" not in page
    assert "<img src=x" not in page


def test_hostile_names_reach_the_report_intact(verbose_runs: Dict[str, Any]) -> None:
    """Escaped, not dropped: the JSON report keeps the names as they are."""
    text = (verbose_runs["report_dir"] / "smb_signing_report.json").read_text()
    assert "alert('host')" in text
    assert "onerror=alert(1)" in text


def _files_under(*roots: Path) -> List[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def test_password_appears_nowhere(rlab: LabClient, verbose_runs: Dict[str, Any]) -> None:
    audit: Run = verbose_runs["audit"]
    enforce: Run = verbose_runs["enforce"]
    # The runs really were verbose, and the enforce task really ran.
    assert "<winrm>" in audit.stdout or "ESTABLISH WINRM" in audit.stdout, audit.tail()
    assert "hostile-gpo" in enforce.results, enforce.tail()
    outputs = {
        "audit stdout": audit.stdout,
        "audit stderr": audit.stderr,
        "audit ansible.log": audit.log_text,
        "enforce stdout": enforce.stdout,
        "enforce stderr": enforce.stderr,
        "enforce ansible.log": enforce.log_text,
        "enforce result": repr(enforce.results),
    }
    leaks = [name for name, text in outputs.items() if PASSWORD in text]
    lab_dir = rlab.state_dir
    files = _files_under(verbose_runs["report_dir"], lab_dir / "records")
    files += [lab_dir / "lab.log"]
    assert len(files) > 3, files
    leaks += [str(p) for p in files if p.exists() and PASSWORD in p.read_text(errors="replace")]
    assert leaks == []
