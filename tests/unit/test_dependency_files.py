"""The dependency files follow the rules that EE builders and certification apply.

ansible-builder reads requirements.txt/bindep.txt (or the meta/ee-* files) straight into an
execution environment, where a pinned or capped version breaks the image's resolver and an
``ansible-core`` line fights the base image (Ansible partner certification: "must not list
ansible or ansible-core", "must not use upper bounds or pinned versions"). Each dependency
carries a comment so a reader can tell why it is there before removing or upgrading it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON_FILES = ("requirements.txt", "meta/ee-requirements.txt")
SYSTEM_FILES = ("bindep.txt", "meta/ee-bindep.txt")
FORBIDDEN_PYTHON = {"ansible", "ansible-core", "ansible-base"}
UPPER_BOUND_OPERATORS = {"<", "<=", "==", "===", "~="}
# bindep: NAME [profiles] [version constraints], see the bindep README.
BINDEP_LINE = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9+._-]*)\s*(?:\[[^\]]*\])?\s*(?P<rest>.*)$"
)


@dataclass(frozen=True)
class Entry:
    """One dependency line and the comment text that explains it."""

    line_no: int
    text: str
    comment: str


def entries(path: Path) -> list[Entry]:
    """Pair each dependency line with its inline comment or the comment block right above it."""
    found: list[Entry] = []
    block: list[str] = []
    for line_no, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            block = []
        elif line.startswith("#"):
            block.append(line.lstrip("#").strip())
        else:
            text, _, inline = line.partition(" #")
            found.append(Entry(line_no, text.strip(), " ".join([*block, inline]).strip()))
            block = []
    return found


def python_name(entry: Entry, path: str) -> Requirement:
    try:
        return Requirement(entry.text)
    except InvalidRequirement as exc:
        pytest.fail(f"{path}:{entry.line_no}: not a valid requirement {entry.text!r}: {exc}")


def bindep_name(entry: Entry, path: str) -> tuple[str, str]:
    match = BINDEP_LINE.match(entry.text)
    if match is None:
        pytest.fail(f"{path}:{entry.line_no}: not a bindep line: {entry.text!r}")
    return match["name"], match["rest"]


@pytest.mark.parametrize("path", PYTHON_FILES + SYSTEM_FILES)
def test_each_dependency_has_a_comment_naming_it(path: str) -> None:
    deps = entries(REPO_ROOT / path)
    assert deps, f"{path} lists no dependency"
    for entry in deps:
        name = (
            python_name(entry, path).name if path in PYTHON_FILES else bindep_name(entry, path)[0]
        )
        assert name.lower() in entry.comment.lower(), (
            f"{path}:{entry.line_no}: {name} needs a comment that names it and says why"
        )


@pytest.mark.parametrize("path", PYTHON_FILES)
def test_python_requirements_have_no_ansible_core_and_no_upper_bound(path: str) -> None:
    for entry in entries(REPO_ROOT / path):
        req = python_name(entry, path)
        assert canonicalize_name(req.name) not in FORBIDDEN_PYTHON, (
            f"{path}:{entry.line_no}: {req.name} belongs to the base image, not to this file"
        )
        capped = [str(s) for s in req.specifier if s.operator in UPPER_BOUND_OPERATORS]
        assert not capped, f"{path}:{entry.line_no}: {req.name} has an upper bound or pin {capped}"


@pytest.mark.parametrize("path", SYSTEM_FILES)
def test_system_requirements_have_no_version_cap(path: str) -> None:
    for entry in entries(REPO_ROOT / path):
        name, rest = bindep_name(entry, path)
        assert "<" not in rest, f"{path}:{entry.line_no}: {name} has an upper bound: {rest!r}"
        assert "==" not in rest, f"{path}:{entry.line_no}: {name} is pinned: {rest!r}"


def test_collection_ee_metadata_points_at_the_ee_files() -> None:
    """ansible-builder's introspect step reads these two paths from the installed collection."""
    import yaml

    meta = yaml.safe_load((REPO_ROOT / "meta/execution-environment.yml").read_text("utf-8"))
    deps = meta["dependencies"]
    assert deps == {"python": "meta/ee-requirements.txt", "system": "meta/ee-bindep.txt"}
    for rel in deps.values():
        assert (REPO_ROOT / rel).is_file(), f"meta/execution-environment.yml names missing {rel}"


def test_the_parser_catches_what_the_rules_forbid(tmp_path: Path) -> None:
    """Guard the checker itself: a cap, an uncommented line and ansible-core are all seen."""
    bad = tmp_path / "requirements.txt"
    bad.write_text("# something else\nfoo<2\n\nansible-core>=2.16\n", encoding="utf-8")
    parsed = entries(bad)
    assert [e.text for e in parsed] == ["foo<2", "ansible-core>=2.16"]
    assert "foo" not in parsed[0].comment
    assert parsed[1].comment == ""
    assert {s.operator for s in Requirement(parsed[0].text).specifier} <= UPPER_BOUND_OPERATORS
