"""scripts/check-changelog-fragments.sh: code changes need a fragment, counted since the release.

Each test builds a small git history in a temporary directory with a copy of the script, so the
rules are checked on real commits: before any release, after `antsibull-changelog release` has
consumed the fragments (the release is found from changelogs/changelog.yaml, not from a tag, since
a clone need not carry tags), and on a change made after the release.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check-changelog-fragments.sh"
NO_RELEASE = "---\nancestor: null\nreleases: {}\n"
RELEASED = (
    "---\nancestor: null\nreleases:\n  0.1.0:\n    changes:\n      minor_changes:\n"
    "      - x - something.\n    release_date: '2026-12-02'\n"
)


class Repo:
    def __init__(self, path: Path) -> None:
        self.path = path
        (path / "scripts").mkdir(parents=True)
        shutil.copy(SCRIPT, path / "scripts" / SCRIPT.name)
        self.git("init", "-q", "-b", "main")
        self.write("changelogs/changelog.yaml", NO_RELEASE)
        self.write("README.md", "x\n")
        self.commit("start")

    def git(self, *args: str) -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        done = subprocess.run(
            ["git", *args], cwd=self.path, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout

    def write(self, rel: str, text: str) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def check(self) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "CHANGELOG_BASE"}
        env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
        return subprocess.run(
            ["bash", "scripts/check-changelog-fragments.sh"],
            cwd=self.path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    if shutil.which("git") is None:
        pytest.fail("git is needed to test the fragment check (make bootstrap installs it)")
    return Repo(tmp_path / "repo")


def test_a_code_change_without_a_fragment_fails_naming_the_file(repo: Repo) -> None:
    repo.write("plugins/action/a.py", "A = 1\n")
    repo.commit("code")
    done = repo.check()
    assert done.returncode == 1
    assert "plugins/action/a.py" in done.stderr
    assert "since the first commit (no release yet)" in done.stderr


def test_a_fragment_makes_it_pass(repo: Repo) -> None:
    repo.write("plugins/action/a.py", "A = 1\n")
    repo.write("changelogs/fragments/a.yml", "minor_changes:\n  - a - new.\n")
    repo.commit("code with fragment")
    done = repo.check()
    assert done.returncode == 0, done.stderr
    assert "changelogs/fragments/a.yml" in done.stdout


def test_the_count_restarts_at_the_release_that_consumed_the_fragments(repo: Repo) -> None:
    repo.write("plugins/action/a.py", "A = 1\n")
    repo.write("changelogs/fragments/a.yml", "minor_changes:\n  - a - new.\n")
    repo.commit("code with fragment")
    # What antsibull-changelog release does: record the release, delete the fragments.
    (repo.path / "changelogs/fragments/a.yml").unlink()
    repo.write("changelogs/changelog.yaml", RELEASED)
    repo.write("CHANGELOG.rst", "x\n")
    repo.commit("Release 0.1.0")
    done = repo.check()
    assert done.returncode == 0, done.stderr
    assert "no change under plugins/ or roles/ since the release in" in done.stdout

    repo.write("roles/r/tasks/main.yml", "---\n[]\n")
    repo.commit("role change after the release")
    after = repo.check()
    assert after.returncode == 1
    assert "roles/r/tasks/main.yml" in after.stderr
    assert "since the release in" in after.stderr
    assert "plugins/action/a.py" not in after.stderr


def test_an_uncommitted_change_counts_too(repo: Repo) -> None:
    repo.write("plugins/modules/m.py", "M = 1\n")
    done = repo.check()
    assert done.returncode == 1
    assert "plugins/modules/m.py" in done.stderr
