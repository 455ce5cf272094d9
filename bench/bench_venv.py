"""The `.venv-bench` venv that holds ansible.windows, for the conventional-approach comparison.

Galaxy cannot be reached from these machines, but the `ansible` package on PyPI ships
ansible.windows (and every other community collection) as plain files under
`site-packages/ansible_collections`. It is installed with `--no-deps` into its own venv, so
that the benchmark runs ansible.windows under the dev venv's ansible-core (one ansible-core for
both sides of the comparison) and the dev venv keeps no collections it does not need.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv-bench"
# A bound on pip: the package is about 50 MB.
INSTALL_TIMEOUT_S = 600


def site_packages(venv: Path = VENV) -> Path:
    py = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return venv / "lib" / py / "site-packages"


def windows_collection_version(venv: Path = VENV) -> str | None:
    manifest = site_packages(venv) / "ansible_collections" / "ansible" / "windows" / "MANIFEST.json"
    try:
        info = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None
    return str(info["collection_info"]["version"])


def ensure(venv: Path = VENV) -> Path:
    """Create the venv and install `ansible` when ansible.windows is missing; return the path to
    put on ANSIBLE_COLLECTIONS_PATH."""
    if windows_collection_version(venv) is None:
        print(f"== installing the `ansible` package into {venv.name} (once; for ansible.windows)")
        if not (venv / "bin" / "python").exists():
            subprocess.run(
                [sys.executable, "-m", "venv", str(venv)], check=True, timeout=INSTALL_TIMEOUT_S
            )
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", "--no-deps", "ansible"],
            check=True,
            timeout=INSTALL_TIMEOUT_S,
        )
        if windows_collection_version(venv) is None:
            raise SystemExit(f"the `ansible` package in {venv.name} has no ansible.windows")
    return site_packages(venv)
