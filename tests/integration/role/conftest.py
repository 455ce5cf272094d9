"""Fixtures for the role's end-to-end tests: a lab per test module, and ansible-playbook runs.

Nothing from the collection is imported at module level: pytest loads this file before
pytest-ansible installs Ansible's collection finder, and an early import would bypass it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Dict

import pytest
from integration.playbook import DEMO_FLEET, WIDE_WINDOW, Run, run_adhoc, run_playbook

from lab.client import LabClient
from lab.lifecycle import running_lab


@pytest.fixture(scope="module")
def demo_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabClient]:
    """The demo fleet, fresh for each test module."""
    with running_lab(DEMO_FLEET, tmp_path_factory.mktemp("role-lab"), fresh=True) as lab:
        yield lab


def role_playbook(lab: LabClient, report_dir: Path, name: str, *extra: str) -> Run:
    """ansible-playbook winhardening.smb.NAME against a lab, the report written to report_dir."""
    return run_playbook(
        f"winhardening.smb.{name}", lab.inventory, report_dir=report_dir, args=extra
    )


@pytest.fixture
def playbook(demo_lab: LabClient, tmp_path: Path) -> Callable[..., Run]:
    """Run a collection playbook against the demo lab; the report goes to tmp_path/report."""

    def run(name: str, *extra: str) -> Run:
        return role_playbook(demo_lab, tmp_path / "report", name, *extra)

    return run


@pytest.fixture(scope="module")
def audited(demo_lab: LabClient, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One audit run on a fresh demo fleet, shared by a module's tests (its report with it)."""
    report_dir = tmp_path_factory.mktemp("audit-report")
    run = role_playbook(
        demo_lab, report_dir, "audit", "-e", f"smb_signing_audit_window={WIDE_WINDOW}"
    )
    assert run.rc == 0, run.tail()
    return run


def facts_with_cli(inventory: Path, tree: Path) -> Dict[str, Dict[str, Any]]:
    """Every host's ansible_facts.smb_signing, read by the `ansible` command; its --tree option
    (the builtin tree callback) leaves one JSON result file per host."""
    run = run_adhoc(
        inventory,
        "windows",
        "winhardening.smb.win_smb_signing_facts",
        f"audit_window={WIDE_WINDOW} probe_port={{{{ smb_signing_probe_port }}}}",
        tree=tree,
    )
    assert run.rc == 0, run.tail()
    return {host: r["ansible_facts"]["smb_signing"] for host, r in run.results.items()}


@pytest.fixture(params=["pytest-ansible", "ansible-cli"])
def read_facts(
    request: pytest.FixtureRequest, demo_lab: LabClient, tmp_path: Path
) -> Callable[[], Dict[str, Dict[str, Any]]]:
    """Read every host's facts, through pytest-ansible's ansible_adhoc fixture when that plugin
    is loaded, and through the `ansible` command otherwise. pytest-ansible has announced its end
    of life (December 2026), so the suite never depends on it."""
    if request.param == "ansible-cli":
        return lambda: facts_with_cli(demo_lab.inventory, tmp_path / "tree")
    if not request.config.pluginmanager.hasplugin("ansible"):
        pytest.skip("pytest-ansible is not loaded; the ansible-cli variant covers this")
    adhoc = request.getfixturevalue("ansible_adhoc")

    def read() -> Dict[str, Dict[str, Any]]:
        manager = adhoc(inventory=str(demo_lab.inventory), host_pattern="windows")
        module = getattr(manager.windows, "winhardening.smb.win_smb_signing_facts")
        result = module(audit_window=WIDE_WINDOW, probe_port=demo_lab.fleet["smb_port"])
        return {h: r["ansible_facts"]["smb_signing"] for h, r in result.contacted.items()}

    return read
