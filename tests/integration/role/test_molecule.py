"""molecule's default scenario (extensions/molecule/default) passes: lab up, converge,
idempotence, verify, lab down. The windows scenario, run with its variables unset or wrong, stops
at create and names what to set, before anything connects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from integration.playbook import REPO

pytestmark = [pytest.mark.lab, pytest.mark.slow]

MOLECULE_TIMEOUT_S = 600


def test_molecule_default_scenario() -> None:
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "molecule").exists():
        pytest.skip(f"molecule is not installed next to {sys.executable}")
    env = dict(os.environ)
    # molecule shells out to ansible-config and friends: only works with the venv's bin on PATH.
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_NOCOLOR"] = "1"
    env["NO_COLOR"] = "1"
    proc = subprocess.run(
        [str(bin_dir / "molecule"), "test", "--scenario-name", "default"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=MOLECULE_TIMEOUT_S,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    for action in ("create", "converge", "idempotence", "verify", "destroy"):
        assert f"{action}: Executed: Successful" in output, action


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        pytest.param(
            {},
            "Set SMB_SIGNING_WIN_HOST, SMB_SIGNING_WIN_USER, SMB_SIGNING_WIN_PASSWORD",
            id="nothing-set",
        ),
        pytest.param(
            {
                "SMB_SIGNING_WIN_HOST": "win.example.invalid",
                "SMB_SIGNING_WIN_USER": "admin",
                "SMB_SIGNING_WIN_PASSWORD": "x",
                "SMB_SIGNING_WIN_CONNECTION": "ssh",
            },
            "SMB_SIGNING_WIN_CONNECTION must be one of winrm, psrp",
            id="unknown-connection",
        ),
    ],
)
def test_molecule_windows_scenario_names_what_to_set(settings: dict, named: str) -> None:
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "molecule").exists():
        pytest.skip(f"molecule is not installed next to {sys.executable}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMB_SIGNING_")}
    env.update(settings)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_NOCOLOR"] = "1"
    env["NO_COLOR"] = "1"
    proc = subprocess.run(
        [str(bin_dir / "molecule"), "create", "--scenario-name", "windows"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=MOLECULE_TIMEOUT_S,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-4000:]
    assert named in " ".join(output.split()), output[-4000:]
    assert "Traceback" not in output, output[-4000:]
