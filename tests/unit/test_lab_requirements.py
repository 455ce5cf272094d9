"""tests/lab/requirements.txt declares every third-party package the lab and its tests import,
and requirements-dev.txt (what `make bootstrap` installs) pins each of them or pulls it in."""

from __future__ import annotations

import ast
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "tests" / "lab"
# import name -> distribution name, where they differ
DISTRIBUTIONS = {"yaml": "pyyaml", "winrm": "pywinrm"}


def requirements(path: Path) -> set[str]:
    names = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(canonicalize_name(Requirement(line).name))
    return names


def third_party_imports() -> set[str]:
    found = set()
    for path in LAB.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top not in sys.stdlib_module_names and top not in {"lab", "__future__"}:
                    found.add(canonicalize_name(DISTRIBUTIONS.get(top, top)))
    return found


def test_lab_requirements_cover_its_imports() -> None:
    missing = third_party_imports() - requirements(LAB / "requirements.txt")
    assert not missing, f"tests/lab/requirements.txt lacks {sorted(missing)}"


def test_bootstrap_installs_the_lab_requirements() -> None:
    pinned = requirements(REPO / "requirements-dev.txt")
    for name in requirements(LAB / "requirements.txt"):
        if name not in pinned:
            # not pinned itself: it must come in with a pinned package (requests with pywinrm)
            metadata.distribution(name)
