"""Where the report goes by default under ansible-runner, the way AWX and AAP run jobs.

ansible-runner tells the playbook its artifacts directory in AWX_ISOLATED_DATA_DIR
(``config/_base.py``: ``<private data dir>/artifacts/<ident>`` on the host, or
``/runner/artifacts/<ident>`` inside a container, mounted from the host's artifacts directory),
so the report lands among the job's artifacts and outlives the run and its container. An AWX job
(``awx_job_id`` among the extra variables) gets no default: AWX deletes the job's private data
directory when the job ends, so the role fails before touching a host until
smb_signing_report_dir is set.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from integration.playbook import BIN, REPO, REPORT_JSON, WIDE_WINDOW, ansible_env

from lab.client import LabClient

pytestmark = [pytest.mark.lab, pytest.mark.slow]

PROJECT = REPO / "examples" / "awx" / "project"
HOST = "ms2022"
IDENT = "7"


def _runner(lab: LabClient, private: Path, extravars: Dict[str, Any]) -> Tuple[int, str, Path]:
    """``ansible-runner run`` of the example project's audit.yml on one lab host; returns its
    exit code, the job's stdout and the job's artifacts directory."""
    (private / "project").mkdir(parents=True)
    for name in ("audit.yml", "enforce.yml"):
        (private / "project" / name).write_text((PROJECT / name).read_text())
    (private / "inventory").mkdir()
    (private / "inventory" / "hosts.yml").write_text(lab.inventory.read_text())
    env = ansible_env(private, keep_log=False)
    (private / "env").mkdir()
    (private / "env" / "extravars").write_text(
        json.dumps({"smb_signing_audit_window": WIDE_WINDOW, **extravars})
    )
    (private / "env" / "envvars").write_text(
        json.dumps({k: env[k] for k in env if k.startswith("ANSIBLE_") or k == "PYTHONPATH"})
    )
    cmd: List[str] = [str(BIN / "ansible-runner"), "run", str(private), "-p", "audit.yml"]
    cmd += ["--ident", IDENT, "--limit", HOST]
    proc = subprocess.run(
        cmd, env=env, cwd=private, capture_output=True, text=True, timeout=600, check=False
    )
    artifacts = private / "artifacts" / IDENT
    stdout = (artifacts / "stdout").read_text(errors="replace")
    return proc.returncode, stdout, artifacts


def test_under_ansible_runner_the_report_goes_to_the_job_artifacts(
    demo_lab: LabClient, tmp_path: Path
) -> None:
    private = tmp_path / "private"
    rc, stdout, artifacts = _runner(demo_lab, private, {})
    assert rc == 0, stdout[-4000:]
    report = artifacts / "smb_signing_report" / REPORT_JSON
    assert report.is_file(), stdout[-4000:]
    assert [h["host"] for h in json.loads(report.read_text())["hosts"]] == [HOST]
    assert str(artifacts / "smb_signing_report") in stdout
    # Nowhere else: not next to the project's playbook, not in the runner's working directory.
    found = sorted(p.relative_to(private) for p in private.rglob(REPORT_JSON))
    assert found == [report.relative_to(private)]


def test_an_awx_job_without_a_report_directory_fails_before_any_host(
    demo_lab: LabClient, tmp_path: Path
) -> None:
    before = len(demo_lab.records(HOST)["scripts"])
    rc, stdout, _ = _runner(demo_lab, tmp_path / "private", {"awx_job_id": 4242})
    assert rc != 0
    assert "smb_signing_report_dir is not set, and this is an AWX job (awx_job_id 4242)" in stdout
    assert "AWX_CLEANUP_PATHS" in stdout
    assert len(demo_lab.records(HOST)["scripts"]) == before


def test_an_awx_job_with_a_report_directory_writes_it_there(
    demo_lab: LabClient, tmp_path: Path
) -> None:
    target = tmp_path / "mounted" / "reports"
    rc, stdout, artifacts = _runner(
        demo_lab,
        tmp_path / "private",
        {"awx_job_id": 4243, "smb_signing_report_dir": str(target)},
    )
    assert rc == 0, stdout[-4000:]
    assert (target / REPORT_JSON).is_file()
    assert not (artifacts / "smb_signing_report").exists()
