"""Every ansible-core minor that meta/runtime.yml claims is tested: sanity, the plugins' unit
tests, and this end-to-end smoke test, which runs the collection's audit and enforce playbooks
(the role: its checks, win_smb_signing over Ansible's real winrm connection, the wire probe,
the report) against the lab with each release's ansible-playbook.

The claim and the matrix are checked against each other here: raising or lowering
requires_ansible without a venv, a sanity run and a unit run for every minor fails.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import yaml
from integration.playbook import BIN, DEMO_FLEET, REPO, WIDE_WINDOW, run_playbook

from lab.client import LabClient
from lab.inventory import FILES
from lab.lifecycle import running_lab

# minor -> the venv whose ansible-core it is (bootstrap makes them).
VENVS: Dict[str, Path] = {
    "2.19": REPO / ".venv-core2.19",
    "2.20": REPO / ".venv-core2.20",
    "2.21": BIN.parent,
}
# Each release enforces a different host of the demo fleet, so each write is its own.
ENFORCED = {"2.19": "ms2016", "2.20": "ms2019", "2.21": "web01"}


def _minor(version: str) -> Tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def _claimed_floor() -> Tuple[int, int]:
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    match = re.fullmatch(r">=\s*(\d+\.\d+)\.\d+", runtime["requires_ansible"])
    assert match, f"requires_ansible is no plain floor: {runtime['requires_ansible']!r}"
    return _minor(match.group(1))


def _core_version(venv: Path) -> str:
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import ansible.release as r; print(r.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_the_matrix_covers_every_claimed_minor() -> None:
    floor = _claimed_floor()
    newest = max(_minor(m) for m in VENVS)
    claimed = [f"2.{m}" for m in range(floor[1], newest[1] + 1)]
    assert sorted(VENVS, key=_minor) == claimed
    sanity = (REPO / "scripts" / "sanity.sh").read_text()
    makefile = (REPO / "Makefile").read_text()
    bootstrap = (REPO / "scripts" / "bootstrap.sh").read_text()
    for minor, venv in VENVS.items():
        name = venv.relative_to(REPO).as_posix()
        assert f"run_sanity {name} " in sanity, f"sanity does not run on {minor}"
        if name != ".venv":
            assert minor in re.search(r"UNIT_CORES := (.*)", makefile).group(1).split()  # type: ignore[union-attr]
            assert f"make_venv {name} " in bootstrap, f"bootstrap makes no venv for {minor}"


@pytest.mark.parametrize("minor", sorted(VENVS, key=_minor))
def test_each_venv_holds_its_release(minor: str) -> None:
    venv = VENVS[minor]
    assert (venv / "bin" / "ansible-playbook").exists(), f"{venv} is missing: make bootstrap"
    assert _minor(_core_version(venv)) == _minor(minor)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabClient]:
    with running_lab(DEMO_FLEET, tmp_path_factory.mktemp("core-matrix-lab"), fresh=True) as lab:
        yield lab


@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.parametrize("minor", sorted(VENVS, key=_minor))
def test_audit_and_enforce_on_each_claimed_release(
    lab: LabClient, minor: str, tmp_path: Path
) -> None:
    venv = VENVS[minor]
    assert _minor(_core_version(venv)) == _minor(minor)
    audit = run_playbook(
        "winhardening.smb.audit",
        lab.inventory,
        tmp_path / "audit",
        report_dir=tmp_path / "audit-report",
        extra_vars={"smb_signing_audit_window": WIDE_WINDOW},
        bin_dir=venv / "bin",
    )
    assert audit.rc == 0, audit.tail()
    hosts: List[str] = sorted(r["host"] for r in audit.report()["hosts"])
    assert hosts == sorted(lab.hosts())

    host = ENFORCED[minor]
    writes_before = len(lab.records(host)["writes"])
    enforce = run_playbook(
        "winhardening.smb.enforce",
        lab.inventory,
        tmp_path / "enforce",
        limit=host,
        report_dir=tmp_path / "enforce-report",
        extra_vars={"smb_signing_audit_window": WIDE_WINDOW},
        bin_dir=venv / "bin",
    )
    assert enforce.rc == 0, enforce.tail()
    row = enforce.report()["hosts"][0]
    assert (row["host"], row["status"]) == (host, "compliant"), row["status_reasons"]
    assert len(lab.records(host)["writes"]) > writes_before


@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.parametrize("minor", sorted(VENVS, key=_minor))
def test_audit_over_psrp_on_each_claimed_release(
    lab: LabClient, minor: str, tmp_path: Path
) -> None:
    """The psrp connection hands the script to the bootstrap as pipeline input: one string on
    older releases, one string per line from 2.19 (docs/dev/target-protocol.md). Each claimed
    release reads every host over psrp, and the lab saw PSRP pipelines, not WinRS commands."""
    venv = VENVS[minor]
    before = {h: len(lab.records(h)["scripts"]) for h in lab.hosts()}
    audit = run_playbook(
        "winhardening.smb.audit",
        lab.inventory.with_name(FILES["psrp"]),
        tmp_path / "audit",
        report_dir=tmp_path / "audit-report",
        extra_vars={"smb_signing_audit_window": WIDE_WINDOW},
        bin_dir=venv / "bin",
    )
    assert audit.rc == 0, audit.tail()
    rows = {r["host"]: r for r in audit.report()["hosts"]}
    assert sorted(rows) == sorted(lab.hosts())
    assert all(r["status"] in ("compliant", "noncompliant") for r in rows.values()), rows
    for host in lab.hosts():
        new = lab.records(host)["scripts"][before[host] :]
        assert [(s["op"], s["transport"]) for s in new] == [("read_state", "psrp")], host
