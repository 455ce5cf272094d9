"""The test tooling writes nothing outside the checkout (and the system temp directory).

The tools run here as `make test`, `make demo` and `make docs` run them: with the environment
the Makefile exports (`make print-env`), the checkout's configuration (.ansible-lint offline,
scripts/antsibull-docs.cfg), and HOME pointed at an empty directory that must stay empty. Before
this, ansible-lint installed the collection into ~/.ansible/collections (which then shadowed a
user's own install), and ~/antsibull.log, ~/.cache/ansible-lint, ~/.ansible/tmp and
~/.ansible/test filled up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TIMEOUT_S = 300

PLAY = """
- name: A trivial local play (module, remote temp and local temp files)
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Run a command through a module
      ansible.builtin.command: "true"
      changed_when: false
"""


def checkout_env(home: Optional[Path] = None) -> Dict[str, str]:
    """The variables the Makefile exports to keep the tools' files in the checkout (as make
    computes them with HOME at ``home``)."""
    env = dict(os.environ)
    if home is not None:
        env["HOME"] = str(home)
    proc = subprocess.run(
        ["make", "-s", "--no-print-directory", "print-env"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    pairs = [line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line]
    return {name: value for name, value in pairs}


def written(home: Path) -> List[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*"))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    if not (BIN / "ansible-lint").exists():
        pytest.skip(f"the dev tools are not installed next to {sys.executable}")
    home = tmp_path_factory.mktemp("empty-home")
    real_home = Path.home()
    result = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANSIBLE_", "MOLECULE_", "XDG_", "ANTSIBULL_"))
    }
    result.update(checkout_env(home))
    result["HOME"] = str(home)
    result["PATH"] = f"{BIN}{os.pathsep}{result.get('PATH', '')}"
    # pyenv's shims find their versions through PYENV_ROOT, which defaults to ~/.pyenv.
    if "PYENV_ROOT" not in result and (real_home / ".pyenv").is_dir():
        result["PYENV_ROOT"] = str(real_home / ".pyenv")
    result["ANSIBLE_NOCOLOR"] = "1"
    result["NO_COLOR"] = "1"
    return result


def test_the_makefile_points_every_writer_into_the_checkout() -> None:
    values = checkout_env()
    for name in ("ANSIBLE_HOME", "ANSIBLE_REMOTE_TMP", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        assert Path(values[name]).resolve().is_relative_to(REPO.resolve()), (name, values[name])


# (name, command): each runs from the checkout with the empty HOME.
TOOLS = [
    ("ansible-lint", ["ansible-lint", "meta/runtime.yml"]),
    ("antsibull-changelog", ["antsibull-changelog", "lint"]),
    (
        "antsibull-docs",
        [
            "antsibull-docs",
            "--config-file",
            "scripts/antsibull-docs.cfg",
            "lint-collection-docs",
            "--check-extra-docs-refs",
            ".",
        ],
    ),
    ("ansible-galaxy", ["ansible-galaxy", "collection", "list", "winhardening.smb"]),
    ("molecule", ["molecule", "list", "--scenario-name", "default"]),
]

# Exit codes that mean "ran, and found something in the content".
LINT_FINDINGS = {
    "ansible-lint": {0, 2},
    "antsibull-changelog": {0, 3},
    "antsibull-docs": {0, 3},
}


@pytest.mark.parametrize(("name", "command"), TOOLS, ids=[t[0] for t in TOOLS])
def test_tool_leaves_home_empty(name: str, command: List[str], env: Dict[str, str]) -> None:
    proc = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    # Whether the content passes is `make lint`'s business; here the tool only has to run.
    output = proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.returncode in LINT_FINDINGS.get(name, {0}), output
    assert "Traceback" not in proc.stderr, output
    assert written(Path(env["HOME"])) == [], f"{name} wrote into HOME"
    if name == "ansible-lint":
        # offline (.ansible-lint): no copy of the collection in its cache to go stale.
        installed = Path(env["ANSIBLE_HOME"]) / "collections" / "ansible_collections"
        assert not (installed / "winhardening").exists(), "ansible-lint installed the collection"


def test_playbook_leaves_home_empty(env: Dict[str, str], tmp_path: Path) -> None:
    play = tmp_path / "play.yml"
    play.write_text(PLAY, encoding="utf-8")
    proc = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            "localhost,",
            "-e",
            "ansible_python_interpreter={{ ansible_playbook_python }}",
            str(play),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert written(Path(env["HOME"])) == [], "ansible-playbook wrote into HOME"


def test_molecule_scratch_is_in_the_checkout(env: Dict[str, str]) -> None:
    """molecule keys its scratch directory on the folder name only
    (<cache>/tmp/molecule.<hash of the name>.<scenario>); with ANSIBLE_HOME in the checkout two
    checkouts called main no longer share it, and the lab's state is in build/ anyway."""
    code = (
        "from pathlib import Path\n"
        "from molecule.app import get_app\n"
        "print(get_app(Path('.')).runtime.cache_dir)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    cache_dir = Path(proc.stdout.strip().splitlines()[-1])
    assert cache_dir.resolve().is_relative_to(REPO.resolve()), cache_dir
    molecule_yml = (REPO / "extensions/molecule/default/molecule.yml").read_text(encoding="utf-8")
    assert "${MOLECULE_PROJECT_DIRECTORY}/build/molecule/default/lab" in molecule_yml
    assert written(Path(env["HOME"])) == [], "molecule wrote into HOME"


def test_chromium_leaves_home_empty(env: Dict[str, str], tmp_path: Path) -> None:
    """The report test renders the HTML report with headless Chromium, whose crash reporter
    keeps its settings under XDG_CONFIG_HOME (~/.config/chromium before the Makefile moved it);
    its profile is a temporary directory, as in tests/integration/role/test_audit.py."""
    chromium = shutil.which("chromium", path=env.get("PATH"))
    if chromium is None:
        pytest.skip("chromium is not installed (Debian package chromium)")
    page = tmp_path / "page.html"
    page.write_text("<!DOCTYPE html><title>t</title><p>page</p>", encoding="utf-8")
    proc = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={tmp_path / 'page.png'}",
            page.as_uri(),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "page.png").stat().st_size > 0
    assert written(Path(env["HOME"])) == [], "chromium wrote into HOME"


def test_the_built_collection_tests_keep_ansible_home_out_of_home() -> None:
    """tests/integration/test_built_collection.py runs Ansible without the checkout's ANSIBLE_*
    variables (so nothing points back at the checkout); it must give Ansible a home of its own,
    or ansible-galaxy and ansible-doc write ~/.ansible/tmp and ~/.ansible/galaxy_cache."""
    source = (REPO / "tests" / "integration" / "test_built_collection.py").read_text()
    isolated = source[source.index("def isolated_env(") :]
    isolated = isolated[: isolated.index("return env")]
    assert 'not k.startswith("ANSIBLE_")' in isolated
    assert "ANSIBLE_HOME=" in isolated


@pytest.mark.lab
@pytest.mark.slow
def test_the_demo_leaves_home_empty(env: Dict[str, str]) -> None:
    """What `make demo` runs after its bootstrap: the lab up, audit, enforce and verify through
    ansible-playbook over WinRM, Samba on the wire, the report, the lab down."""
    proc = subprocess.run(
        ["bash", "scripts/demo.sh"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "7 of 7 hosts compliant" in proc.stdout, proc.stdout[-3000:]
    assert written(Path(env["HOME"])) == [], "the demo wrote into HOME"
