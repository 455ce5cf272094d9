"""The repository's execution-environment.yml produces a usable ansible-builder build context.

No container runtime is needed: ``ansible-builder create`` only writes the Containerfile and the
``_build`` folder, which is what an image build would consume. The check is that the collection's
own Python and system requirements reach that context, that the collection tarball goes in, and
that nothing pins ansible-core (the base image owns it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EE_FILE = REPO_ROOT / "execution-environment.yml"
TIMEOUT = 300


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.skip(f"{name} is not installed next to this Python (requirements-dev.txt has it)")
    return str(path)


def requirement_names(path: Path) -> list[str]:
    """First token of every non-comment line: the package name in pip and bindep files alike."""
    names = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            names.append(line.split("[", 1)[0].split(" ", 1)[0].split(">", 1)[0].strip())
    return names


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def collection_tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tarball")
    run(
        [tool("ansible-galaxy"), "collection", "build", "--output-path", str(out), str(REPO_ROOT)],
        cwd=out,
    )
    (tarball,) = out.glob("winhardening-smb-*.tar.gz")
    return tarball


@pytest.fixture(scope="module")
def build_context(tmp_path_factory: pytest.TempPathFactory, collection_tarball: Path) -> Path:
    """Lay out the definition and the files it names as in a checkout, then run create."""
    project = tmp_path_factory.mktemp("ee-project")
    definition = yaml.safe_load(EE_FILE.read_text(encoding="utf-8"))
    shutil.copy2(EE_FILE, project / EE_FILE.name)
    for kind in ("python", "system"):
        rel = definition["dependencies"][kind]
        assert isinstance(rel, str), f"dependencies.{kind} should name the collection's file"
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, project / rel)
    for entry in definition.get("additional_build_files", []):
        if entry["src"].endswith(".tar.gz"):
            (project / entry["src"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(collection_tarball, project / entry["src"])
    context = project / "context"
    run(
        [
            tool("ansible-builder"),
            "create",
            "--file",
            EE_FILE.name,
            "--context",
            str(context),
            "--output-filename",
            "Containerfile",
        ],
        cwd=project,
    )
    return context


def test_definition_is_version_3_on_a_named_base_image_without_core_pin() -> None:
    definition = yaml.safe_load(EE_FILE.read_text(encoding="utf-8"))
    assert definition["version"] == 3
    assert definition["images"]["base_image"]["name"].count("/") >= 2, "use a registry image name"
    core = definition["dependencies"].get("ansible_core", {}).get("package_pip", "ansible-core")
    assert core.strip() == "ansible-core", f"ansible_core must not be pinned: {core!r}"


def test_python_requirements_reach_the_build_context(build_context: Path) -> None:
    wanted = requirement_names(REPO_ROOT / "meta/ee-requirements.txt")
    got = requirement_names(build_context / "_build/requirements.txt")
    assert wanted
    assert set(wanted) <= set(got)
    assert "pywinrm" in got


def test_system_requirements_reach_the_build_context(build_context: Path) -> None:
    wanted = requirement_names(REPO_ROOT / "meta/ee-bindep.txt")
    got = requirement_names(build_context / "_build/bindep.txt")
    assert wanted
    assert set(wanted) <= set(got)


def test_collection_tarball_is_installed_by_the_galaxy_stage(build_context: Path) -> None:
    galaxy = yaml.safe_load((build_context / "_build/requirements.yml").read_text("utf-8"))
    (entry,) = galaxy["collections"]
    assert entry["type"] == "file"
    # The galaxy stage runs in /build, where _build/ is copied.
    in_context = build_context / "_build" / Path(entry["name"]).relative_to("/build")
    with tarfile.open(in_context) as tar:
        manifest_file = tar.extractfile("MANIFEST.json")
        assert manifest_file is not None
        info = json.load(manifest_file)["collection_info"]
    assert (info["namespace"], info["name"]) == ("winhardening", "smb")
    containerfile = (build_context / "Containerfile").read_text(encoding="utf-8")
    assert "ansible-galaxy collection install" in containerfile


def test_nothing_pins_ansible_core(build_context: Path) -> None:
    for path in [build_context / "Containerfile", *(build_context / "_build").glob("*.txt")]:
        text = path.read_text(encoding="utf-8").lower()
        assert "ansible-core=" not in text, path.name
        assert "ansible-core<" not in text, path.name
    assert "ansible-core" not in requirement_names(build_context / "_build/requirements.txt")


def test_installed_collection_declares_its_requirements(
    tmp_path: Path, collection_tarball: Path
) -> None:
    """The build's introspect step must find the requirements inside the installed tarball."""
    collections = tmp_path / "collections"
    run(
        [
            tool("ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "--force",
            "-p",
            str(collections),
            str(collection_tarball),
        ],
        cwd=tmp_path,
        # Not the checkout's .collections link, or galaxy finds the collection "already installed".
        env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections)},
    )
    out = tmp_path / "introspected"
    out.mkdir()
    run(
        [
            tool("ansible-builder"),
            "introspect",
            "--write-pip",
            str(out / "req.txt"),
            "--write-bindep",
            str(out / "bindep.txt"),
            str(collections),
        ],
        cwd=tmp_path,
    )
    pip_text = (out / "req.txt").read_text(encoding="utf-8")
    bindep_text = (out / "bindep.txt").read_text(encoding="utf-8")
    assert "from collection winhardening.smb" in pip_text
    for name in requirement_names(REPO_ROOT / "meta/ee-requirements.txt"):
        assert name in pip_text, pip_text
    for name in requirement_names(REPO_ROOT / "meta/ee-bindep.txt"):
        assert name in bindep_text, bindep_text


def test_base_image_is_pinned() -> None:
    """A moving tag (latest, or none) would change ansible-core under an unchanged definition."""
    definition = yaml.safe_load(EE_FILE.read_text(encoding="utf-8"))
    name = definition["images"]["base_image"]["name"]
    if "@sha256:" in name:
        return
    repository, _, tag = name.rpartition(":")
    assert "/" in repository, f"{name}: no registry path"
    assert tag, f"{name}: no tag"
    assert tag != "latest", f"{name}: pin a version tag"
    assert any(c.isdigit() for c in tag), f"{name}: pin a version tag"
