"""Every shipped Python file carries the collection's one licence header, and the file it cites
exists: the collection ships COPYING, not a LICENSES/ directory (an earlier header style pointed
at a file that was never there)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import List

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADER = (
    "# Copyright: contributors to winhardening.smb\n"
    "# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)\n"
)
# "see <file> or <url>" in any licence line of the tree.
CITED = re.compile(r"\(see (\S+) or https://www\.gnu\.org/licenses/gpl-3\.0\.txt\)")


def _tracked(*patterns: str) -> List[Path]:
    out = subprocess.run(
        ["git", "ls-files", "--", *patterns],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [ROOT / line for line in out.splitlines() if line]


# Empty package markers carry nothing to license.
SHIPPED = [p for p in _tracked("plugins/*.py") if p.read_text(encoding="utf-8").strip()]
# Module files start with the interpreter line ansible-test's sanity asks of modules.
SHEBANG = "#!/usr/bin/python\n"


def test_the_cited_licence_file_exists() -> None:
    assert (ROOT / "COPYING").is_file()
    assert "GNU GENERAL PUBLIC LICENSE" in (ROOT / "COPYING").read_text(encoding="utf-8")[:200]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_shipped_python_file_has_the_header(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if path.parent.name == "modules":
        assert text.startswith(SHEBANG), path
        text = text[len(SHEBANG) :]
    assert text.startswith(HEADER), f"{path.relative_to(ROOT)}: the header is not the collection's"


def test_every_licence_citation_in_the_tree_names_a_file_that_exists() -> None:
    files = [p for p in _tracked("*.py", "*.ps1", "*.yml", "*.yaml", "*.sh") if p.is_file()]
    assert len(files) > 50
    missing = sorted(
        f"{p.relative_to(ROOT)}: {cited}"
        for p in files
        for cited in CITED.findall(p.read_text(encoding="utf-8", errors="replace"))
        if not (ROOT / cited).exists()
    )
    assert not missing, missing
