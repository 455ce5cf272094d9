"""AWX played by ansible-runner: a sliced audit job, its artifacts merged, then the merge node.

What AWX does, and where (awx/main in github.com/ansible/awx):
- slicing: ``Inventory.get_sliced_hosts`` takes the enabled hosts ordered by name and keeps
  ``hosts[slice_number - 1::slice_count]``, host index modulo N; each slice is a job of its own
  (its own ``awx_job_id``), run side by side in a workflow job;
- extra variables: ``UnifiedJob.awx_meta_vars`` gives each job ``awx_job_id`` (and
  ``tower_job_id``), and ``awx_workflow_job_id`` when a workflow started it; no slice number;
- artifacts: ``set_stats`` data arrives as the ``artifact_data`` of the ``playbook_on_stats``
  event (``tasks/callback.py``); ``WorkflowJob.get_effective_artifacts`` merges the slices'
  artifacts with ``dict.update`` ordered by (finished, id), and the next workflow node gets the
  result as extra variables.

The same 60-host lab fleet is audited once unsliced and once as 4 slices; the merge node's report
must equal the unsliced run's, host by host, with the same summary and fleet matrix.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from integration.playbook import BIN, REPO, REPORT_JSON, ansible_env, run_playbook

from lab.client import LabClient
from lab.fleet import generate_fleet
from lab.lifecycle import running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]

FLEET_SIZE = 60
SLICES = 4
FORKS = 15
PROJECT = REPO / "examples" / "awx" / "project"
WORKFLOW_JOB_ID = 900
RUN_PREFIX = "smb_signing_run_"


def _slice_inventory(inventory: Dict[str, Any], hosts: List[str]) -> Dict[str, Any]:
    """The lab's inventory cut down to some hosts, as AWX writes a slice's inventory."""
    keep = set(hosts)
    windows = inventory["all"]["children"]["windows"]
    groups = {
        name: {"hosts": {h: None for h in group["hosts"] if h in keep}}
        for name, group in windows["children"].items()
    }
    return {
        "all": {
            "children": {
                "windows": {
                    "hosts": {h: v for h, v in windows["hosts"].items() if h in keep},
                    "children": {n: g for n, g in groups.items() if g["hosts"]},
                }
            }
        }
    }


class Job:
    """One AWX job: its own private data directory, inventory and extra variables."""

    def __init__(
        self,
        base: Path,
        job_id: int,
        playbook: str,
        inventory: Dict[str, Any],
        extravars: Dict[str, Any],
    ) -> None:
        self.job_id = job_id
        self.dir = base / f"job{job_id}"
        shutil.copytree(PROJECT, self.dir / "project")
        (self.dir / "inventory").mkdir(parents=True)
        (self.dir / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory))
        self.report_dir = self.dir / "report"
        self.extravars = {
            **extravars,
            "awx_job_id": job_id,
            "tower_job_id": job_id,
            "smb_signing_report_dir": str(self.report_dir),
        }
        self.playbook = playbook
        self.finished = 0.0
        self.rc: Any = None
        self.status = ""
        self.artifacts: Dict[str, Any] = {}
        self.stdout = ""

    def start(self) -> None:
        """``ansible-runner run`` in a process of its own, as an AWX execution node runs a job."""
        env = ansible_env(self.dir, keep_log=False)
        (self.dir / "env").mkdir()
        (self.dir / "env" / "extravars").write_text(json.dumps(self.extravars))
        (self.dir / "env" / "envvars").write_text(
            json.dumps({k: env[k] for k in env if k.startswith("ANSIBLE_") or k == "PYTHONPATH"})
        )
        cmd = [str(BIN / "ansible-runner"), "run", str(self.dir), "-p", self.playbook]
        cmd += ["--ident", str(self.job_id), "--forks", str(FORKS)]
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )

    def wait(self) -> None:
        self.proc.wait(timeout=600)
        self.finished = time.monotonic()
        artifacts = self.dir / "artifacts" / str(self.job_id)
        self.rc = self.proc.returncode
        self.status = (artifacts / "status").read_text().strip()
        self.stdout = (artifacts / "stdout").read_text(errors="replace")
        for path in (artifacts / "job_events").glob("*.json"):
            event = json.loads(path.read_text())
            if event.get("event") == "playbook_on_stats":
                self.artifacts = event["event_data"].get("artifact_data") or {}

    def run(self) -> None:
        self.start()
        self.wait()

    def report(self) -> Dict[str, Any]:
        data: Dict[str, Any] = json.loads((self.report_dir / REPORT_JSON).read_text())
        return data

    def tail(self) -> str:
        return f"job {self.job_id}: rc {self.rc} {self.status}\n{self.stdout[-4000:]}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabClient]:
    if shutil.which("smbd") is None and not Path("/usr/sbin/smbd").exists():
        pytest.skip("the lab needs smbd (Debian package samba)")
    if not (BIN / "ansible-runner").exists():
        pytest.fail("ansible-runner is missing: make bootstrap installs requirements-dev.txt")
    fleet = generate_fleet(FLEET_SIZE)
    # Every third host already signs on both sides and audits: a fleet of mixed statuses.
    for host in fleet["hosts"][::3]:
        host["registry"] = {
            "server": {"RequireSecuritySignature": 1, "EnableSecuritySignature": 1},
            "client": {"RequireSecuritySignature": 1, "EnableSecuritySignature": 1},
        }
    with running_lab(fleet, tmp_path_factory.mktemp("awx-lab"), fresh=True) as running:
        yield running


@pytest.fixture(scope="module")
def awx(lab: LabClient, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    base = tmp_path_factory.mktemp("awx")
    inventory = yaml.safe_load(lab.inventory.read_text())
    names = sorted(inventory["all"]["children"]["windows"]["hosts"])
    started = time.monotonic()

    unsliced = Job(base, 100, "audit.yml", inventory, {})
    unsliced.run()

    # The sliced job: a workflow job whose nodes are the slices, run side by side.
    slices = [
        Job(
            base,
            101 + k,
            "audit.yml",
            _slice_inventory(inventory, names[k::SLICES]),
            {"awx_workflow_job_id": WORKFLOW_JOB_ID, "awx_workflow_job_name": "SMB signing"},
        )
        for k in range(SLICES)
    ]
    for job in slices:
        job.start()
    # Note when each one finishes, in the order they finish.
    pending = list(slices)
    while pending:
        for job in [j for j in pending if j.proc.poll() is not None]:
            job.wait()
            pending.remove(job)
        time.sleep(0.05)

    # get_effective_artifacts: dict.update in finish order (then id).
    artifacts: Dict[str, Any] = {}
    for job in sorted(slices, key=lambda j: (j.finished, j.job_id)):
        artifacts.update(job.artifacts)

    # The merge node gets the merged artifacts as extra variables.
    merge = Job(base, 110, "merge_reports.yml", {"all": {}}, artifacts)
    merge.run()
    return {
        "names": names,
        "unsliced": unsliced,
        "slices": slices,
        "artifacts": artifacts,
        "merge": merge,
        "wall_s": time.monotonic() - started,
    }


def _timeless(row: Dict[str, Any]) -> Dict[str, Any]:
    """A row without the time its run read the audit logs from (now minus the window)."""
    row = json.loads(json.dumps(row))
    if row.get("audit_events"):
        row["audit_events"]["since"] = None
    return row


def test_every_job_succeeds(awx: Dict[str, Any]) -> None:
    for job in [awx["unsliced"], *awx["slices"], awx["merge"]]:
        assert job.status == "successful", job.tail()


def test_slices_are_host_index_modulo_n(awx: Dict[str, Any]) -> None:
    seen = [sorted(r["host"] for r in job.report()["hosts"]) for job in awx["slices"]]
    assert seen == [awx["names"][k::SLICES] for k in range(SLICES)]
    assert sum(len(s) for s in seen) == FLEET_SIZE


def test_artifacts_keep_every_slice(awx: Dict[str, Any]) -> None:
    artifacts = awx["artifacts"]
    keys = sorted(k for k in artifacts if k.startswith(RUN_PREFIX))
    assert keys == [f"{RUN_PREFIX}job_{job.job_id}" for job in awx["slices"]]
    for job in awx["slices"]:
        run = artifacts[f"{RUN_PREFIX}job_{job.job_id}"]
        assert str(run["info"]["awx_job_id"]) == str(job.job_id)
        assert str(run["info"]["awx_workflow_job_id"]) == str(WORKFLOW_JOB_ID)
        assert run["hosts"] == len(job.report()["hosts"])
    # The one shared key holds only the slice that finished last: what the merge is for.
    last = max(awx["slices"], key=lambda j: (j.finished, j.job_id))
    assert artifacts["smb_signing"]["hosts"] == len(last.report()["hosts"]) < FLEET_SIZE


def _fleet(summary: Dict[str, Any]) -> Dict[str, Any]:
    """A summary without ``coverage``, which only one run's own report has (the hosts it saw and
    any rows carried from an earlier report); a merged report states its coverage under
    ``merge`` instead."""
    return {k: v for k, v in summary.items() if k != "coverage"}


def test_merged_report_equals_the_unsliced_report(awx: Dict[str, Any]) -> None:
    unsliced = awx["unsliced"].report()
    merged = awx["merge"].report()
    assert [r["host"] for r in merged["hosts"]] == [r["host"] for r in unsliced["hosts"]]
    for ours, theirs in zip(merged["hosts"], unsliced["hosts"]):
        assert _timeless(ours) == _timeless(theirs), ours["host"]
    assert _fleet(merged["summary"]) == _fleet(unsliced["summary"])
    assert merged["effective"] == unsliced["effective"]
    statuses = {r["status"] for r in unsliced["hosts"]}
    assert len(statuses) > 1, statuses  # the fleet is not all of one status
    assert (merged["baseline"], merged["mode"]) == (unsliced["baseline"], unsliced["mode"])


def test_merge_states_its_coverage(awx: Dict[str, Any]) -> None:
    merged = awx["merge"].report()["merge"]
    assert merged["hosts"] == FLEET_SIZE
    assert merged["runs"] == sorted(f"job_{job.job_id}" for job in awx["slices"])
    assert merged["duplicates"] == []
    assert merged["empty_sources"] == []
    assert sorted(s["hosts"] for s in merged["sources"]) == sorted(
        len(job.report()["hosts"]) for job in awx["slices"]
    )
    stats = awx["merge"].artifacts
    assert _fleet(stats["smb_signing"]) == _fleet(awx["unsliced"].report()["summary"])
    assert stats["smb_signing_merge"]["hosts"] == FLEET_SIZE
    assert "60 hosts from 4 sources" in awx["merge"].stdout


def test_artifact_size_per_host(awx: Dict[str, Any]) -> None:
    """What a slice adds to AWX's artifacts per host (docs/docsite/rst/guide_awx.rst)."""
    total = sum(
        len(json.dumps(v, separators=(",", ":")))
        for k, v in awx["artifacts"].items()
        if k.startswith(RUN_PREFIX)
    )
    per_host = total / FLEET_SIZE
    row_bytes = sum(
        len(json.dumps(r, separators=(",", ":"))) for r in awx["unsliced"].report()["hosts"]
    )
    whole = sum(
        len(json.dumps(v, separators=(",", ":")))
        for k, v in awx["unsliced"].artifacts.items()
        if k.startswith(RUN_PREFIX)
    )
    print(
        f"\nartifacts: {total} bytes for {FLEET_SIZE} hosts in {SLICES} slices, "
        f"{per_host:.0f} bytes per host; {whole / FLEET_SIZE:.0f} bytes per host in one "
        f"{FLEET_SIZE}-host run; rows as plain JSON: {row_bytes / FLEET_SIZE:.0f} bytes per host; "
        f"the six jobs took {awx['wall_s']:.1f} s"
    )
    assert per_host < 400


def test_merge_from_report_files_keeps_the_newer_rows(awx: Dict[str, Any], tmp_path: Path) -> None:
    """smb_signing_merge_sources: the unsliced report and the slices' report directories; the
    slices ran later, so each host's row comes from its slice, and the report says so."""
    unsliced = awx["unsliced"]
    sources = [str(unsliced.report_dir / REPORT_JSON)]
    sources += [str(job.report_dir) for job in awx["slices"]]
    run = run_playbook(
        "winhardening.smb.merge_reports",
        Path("localhost,"),
        tmp_path,
        extra_vars={"smb_signing_merge_sources": sources},
        report_dir=tmp_path / "fleet",
    )
    assert run.rc == 0, run.tail()
    merged = run.report()
    duplicates = merged["merge"]["duplicates"]
    assert sorted(d["host"] for d in duplicates) == awx["names"]
    kept = {d["kept"]["source"] for d in duplicates}
    assert kept == {str(job.report_dir / REPORT_JSON) for job in awx["slices"]}
    assert _fleet(merged["summary"]) == _fleet(unsliced.report()["summary"])
    assert f"{FLEET_SIZE} hosts seen twice, the newer row kept" in run.stdout
