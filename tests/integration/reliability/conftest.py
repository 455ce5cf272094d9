"""One lab for the whole reliability suite (session scope): 50 generated hosts for the fleet
runs, one host per fault kind, and a host whose GPO name is hostile HTML.

Nothing from the collection is imported at module level: pytest loads this file before
pytest-ansible installs Ansible's collection finder, and an early import would bypass it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Dict, List

import pytest

from lab.client import LabClient
from lab.faults import FAULT_KINDS
from lab.fleet import generate_hosts
from lab.lifecycle import running_lab

FLEET_SIZE = 50
FLEET_GROUP_HOSTS = [f"s{i:05d}" for i in range(FLEET_SIZE)]
HOSTILE_GPO = '<script>alert("gpo")</script><img src=x onerror=alert(1)>'
PASSWORD = "Rel-Secret-7f3a9c2e-Pw"


def fault_host(kind: str) -> str:
    """One member server per fault kind, named after it (at most 15 characters)."""
    return ("fx-" + kind.replace("_", "-"))[:15]


def _fleet() -> Dict[str, Any]:
    hosts: List[Dict[str, Any]] = list(generate_hosts(FLEET_SIZE))
    # Member servers on their OS defaults: the CIS baseline changes several settings on each.
    hosts += [
        {"name": fault_host(k), "os": "windows_server_2022", "domain_role": 3} for k in FAULT_KINDS
    ]
    hosts.append(
        {
            "name": "hostile-gpo",
            "os": "windows_server_2019",
            "domain_role": 3,
            "gpo": [
                {
                    "side": "client",
                    "value": "RequireSecuritySignature",
                    "data": 1,
                    "gpo_name": HOSTILE_GPO,
                    "gpo_id": "{11111111-2222-3333-4444-555555555555}",
                }
            ],
        }
    )
    return {"name": "reliability", "password": PASSWORD, "shared_smbd": True, "hosts": hosts}


@pytest.fixture(scope="session")
def rlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabClient]:
    if shutil.which("smbd") is None and not Path("/usr/sbin/smbd").exists():
        pytest.skip("the lab needs smbd (Debian package samba)")
    with running_lab(_fleet(), tmp_path_factory.mktemp("reliability-lab"), fresh=True) as lab:
        yield lab
