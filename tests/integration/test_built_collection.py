"""The artifact users install works, not only the checkout.

Builds the tarball with ``ansible-galaxy collection build``, installs it into an empty temporary
collections path, and from a directory outside the repository (no ansible.cfg, no PYTHONPATH, no
link to the checkout) runs ``ansible-doc`` on every plugin and role, and the collection's audit
playbook by its fully qualified name against the lab. A file missing from the tarball (a
build_ignore too broad, a module_utils import that only resolves in the checkout) fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FQCN = "winhardening.smb"
TIMEOUT = 600
# Directories of the checkout that must never reach the tarball (galaxy.yml build_ignore).
NOT_SHIPPED = (".venv", ".nox", ".collections", "build/", "tests/", "scripts/", ".ci/", "bench/")
# plugins/<dir> -> ansible-doc plugin type, for the plugin kinds this collection may ship.
DOC_TYPES = {
    "modules": "module",
    "lookup": "lookup",
    "filter": "filter",
    "test": "test",
    "callback": "callback",
    "inventory": "inventory",
    "connection": "connection",
}

pytestmark = pytest.mark.slow


def run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: int = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, (
        f"{' '.join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
        f"\n--- stderr\n{proc.stderr[-4000:]}"
    )
    return proc


def isolated_env(collections: Path) -> dict[str, str]:
    """The environment minus anything that could point Ansible back at the checkout."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "PYTHONPATH"
    }
    env.update(
        # Ansible's own files (local temp, galaxy cache) next to the install, not in ~/.ansible:
        # nothing the tests run writes outside the checkout and the temp directory.
        ANSIBLE_HOME=str(collections.parent / "ansible-home"),
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="false",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def documented_plugins() -> dict[str, list[str]]:
    """What the source tree says ansible-doc must show, by plugin type."""
    found: dict[str, list[str]] = {}
    for directory, doc_type in DOC_TYPES.items():
        names = sorted(
            p.stem
            for p in (REPO_ROOT / "plugins" / directory).glob("*")
            if p.suffix in {".py", ".yml", ".yaml"} and not p.name.startswith("_")
        )
        if names:
            found[doc_type] = sorted(set(names))
    roles = sorted(
        p.parent.parent.name for p in (REPO_ROOT / "roles").glob("*/meta/argument_specs.yml")
    )
    if roles:
        found["role"] = roles
    return found


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory outside the repository."""
    path = tmp_path_factory.mktemp("outside-repo")
    assert REPO_ROOT not in path.resolve().parents
    return path


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory, outside: Path) -> Path:
    out = tmp_path_factory.mktemp("dist")
    env = isolated_env(out / "unused")
    run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out)],
        cwd=REPO_ROOT,
        env=env,
    )
    (built,) = out.glob("winhardening-smb-*.tar.gz")
    return built


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, tarball: Path, outside: Path) -> Path:
    """An empty collections path holding only the installed tarball."""
    collections = tmp_path_factory.mktemp("collections")
    env = isolated_env(collections)
    run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "-p",
            str(collections),
            str(tarball),
        ],
        cwd=outside,
        env=env,
    )
    return collections


def test_tarball_ships_the_collection_and_nothing_of_the_checkout(tarball: Path) -> None:
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert "MANIFEST.json" in names
    assert "meta/runtime.yml" in names
    assert "meta/execution-environment.yml" in names
    leaked = [n for n in names if n.startswith(NOT_SHIPPED)]
    assert not leaked, f"build_ignore lets these into the tarball: {leaked[:10]}"


def test_installed_copy_is_the_one_ansible_sees(installed: Path, outside: Path) -> None:
    proc = run(
        [str(BIN / "ansible-galaxy"), "collection", "list", FQCN, "--format", "json"],
        cwd=outside,
        env=isolated_env(installed),
    )
    listing = json.loads(proc.stdout)
    assert list(listing) == [str(installed / "ansible_collections")], listing
    assert FQCN in listing[str(installed / "ansible_collections")]


def test_ansible_doc_renders_every_plugin(installed: Path, outside: Path) -> None:
    expected = documented_plugins()
    assert expected.get("module"), "no module found under plugins/modules"
    env = isolated_env(installed)
    for doc_type, names in expected.items():
        fqcns = [f"{FQCN}.{name}" for name in names]
        proc = run(
            [str(BIN / "ansible-doc"), "--type", doc_type, "--json", *fqcns], cwd=outside, env=env
        )
        docs = json.loads(proc.stdout)
        missing = sorted(set(fqcns) - set(docs))
        assert not missing, f"ansible-doc has no {doc_type} docs for {missing}"
        for fqcn in fqcns:
            if doc_type == "role":  # roles: {collection, entry_points, path}
                summary = docs[fqcn]["entry_points"]["main"].get("short_description")
                where = docs[fqcn]["path"]
            else:
                summary = docs[fqcn]["doc"].get("short_description")
                where = docs[fqcn]["doc"]["filename"]
            assert summary, f"{fqcn}: no short_description"
            assert str(installed) in where, f"{fqcn} was read from {where}, not the install"
        # Plain-text rendering too: what a user types.
        run([str(BIN / "ansible-doc"), "--type", doc_type, fqcns[0]], cwd=outside, env=env)


@pytest.fixture(scope="module")
def lab_inventory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not (REPO_ROOT / "playbooks" / "audit.yml").is_file():
        pytest.skip("playbooks/audit.yml (winhardening.smb.audit) is not in the collection yet")
    try:
        from lab.lifecycle import running_lab
    except ImportError as exc:
        pytest.skip(f"the lab (tests/lab, lab.lifecycle.running_lab) is not usable yet: {exc}")
    fleet = REPO_ROOT / "tests" / "lab" / "fleets" / "demo.yml"
    with running_lab(fleet, tmp_path_factory.mktemp("lab-state")) as lab:
        yield lab.inventory


@pytest.mark.lab
def test_audit_playbook_by_fqcn_against_the_lab(
    installed: Path, outside: Path, lab_inventory: Path
) -> None:
    report_dir = outside / "report"
    proc = run(
        [
            str(BIN / "ansible-playbook"),
            f"{FQCN}.audit",
            "-i",
            str(lab_inventory),
            "-e",
            f"smb_signing_report_dir={report_dir}",
        ],
        cwd=outside,
        env=isolated_env(installed),
    )
    assert "failed=0" in proc.stdout
    assert "unreachable=0" in proc.stdout
    inventory = yaml.safe_load(lab_inventory.read_text(encoding="utf-8"))
    hosts = set(inventory["all"]["children"]["windows"]["hosts"])
    (report_json,) = report_dir.glob("*.json")
    report = json.loads(report_json.read_text(encoding="utf-8"))
    assert report["summary"]["hosts"] == len(hosts), report["summary"]
