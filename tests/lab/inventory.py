"""The YAML Ansible inventory that points at the lab's hosts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import yaml

from lab.fleet import PROFILE_GROUPS


def build_inventory(fleet: Dict[str, Any]) -> Dict[str, Any]:
    windows: Dict[str, Any] = {}
    groups: Dict[str, Dict[str, Any]] = {}
    for host in fleet["hosts"]:
        windows[host["name"]] = {
            "ansible_host": host["address"],
            "ansible_port": fleet["winrm_port"],
            "ansible_connection": "winrm",
            "ansible_winrm_scheme": fleet["scheme"],
            "ansible_winrm_transport": "basic",
            "ansible_winrm_server_cert_validation": "ignore",
            "ansible_user": fleet["user"],
            "ansible_password": fleet["password"],
            # Where this host's smbd listens; the collection's wire probe reads it.
            "smb_signing_probe_port": fleet["smb_port"],
        }
        group = PROFILE_GROUPS[int(host["domain_role"])]
        groups.setdefault(group, {"hosts": {}})["hosts"][host["name"]] = None
    return {"all": {"children": {"windows": {"hosts": windows, "children": groups}}}}


def write_inventory(state_dir: Path, fleet: Dict[str, Any]) -> Path:
    path = state_dir / "inventory.yml"
    text = "# Written by `python -m lab up`; the lab is a simulated Windows fleet.\n"
    text += yaml.safe_dump(build_inventory(fleet), sort_keys=False, default_flow_style=False)
    path.write_text(text)
    return path
