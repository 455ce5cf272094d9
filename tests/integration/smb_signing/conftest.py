"""Each test module gets its own demo lab (its own random loopback subnet), brought up once.

Nothing from the collection is imported at module level: pytest loads this file before
pytest-ansible installs Ansible's collection finder, and an early import would bypass it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

DEMO_FLEET = Path(__file__).resolve().parents[2] / "lab" / "fleets" / "demo.yml"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if shutil.which("smbd") is None and not Path("/usr/sbin/smbd").exists():
        pytest.skip("the lab needs smbd (Debian package samba)")
    from lab.lifecycle import running_lab

    with running_lab(DEMO_FLEET, tmp_path_factory.mktemp("smb-signing-lab")) as client:
        yield client
