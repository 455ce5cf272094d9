"""The YAML Ansible inventories that point at the lab's hosts: one per connection plugin.

``inventory-winrm.yml`` reaches every host over ``winrm``, ``inventory-psrp.yml`` the same hosts,
with the same credentials, port and scheme, over ``psrp`` (lab/psrp_host.py). ``inventory.yml``,
the one ``up`` prints, is the fleet's ``connection`` (default winrm). A test or a user picks the
connection with the fleet key or by picking the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

import yaml

from lab.fleet import PROFILE_GROUPS

CONNECTIONS = ("winrm", "psrp")
FILES = {"winrm": "inventory-winrm.yml", "psrp": "inventory-psrp.yml"}
DEFAULT_FILE = "inventory.yml"


def _connection_vars(fleet: Dict[str, Any], connection: str) -> Dict[str, Any]:
    if connection == "winrm":
        return {
            "ansible_connection": "winrm",
            "ansible_winrm_scheme": fleet["scheme"],
            "ansible_winrm_transport": "basic",
            "ansible_winrm_server_cert_validation": "ignore",
        }
    if connection == "psrp":
        psrp = {
            "ansible_connection": "psrp",
            "ansible_psrp_protocol": fleet["scheme"],
            "ansible_psrp_auth": "basic",
            "ansible_psrp_cert_validation": "ignore",
        }
        if fleet["scheme"] == "http":
            # pypsrp refuses Basic over plain HTTP unless message encryption is off (it can
            # encrypt only with NTLM, Kerberos or CredSSP); a real host would also need
            # AllowUnencrypted, as for the winrm connection.
            psrp["ansible_psrp_message_encryption"] = "never"
        return psrp
    raise ValueError(f"connection must be one of {', '.join(CONNECTIONS)}, got {connection!r}")


def build_inventory(fleet: Dict[str, Any], connection: Optional[str] = None) -> Dict[str, Any]:
    """The inventory over ``connection``, by default the fleet's (a fleet.json of a lab started
    before the key existed has none: winrm)."""
    connection = connection or fleet.get("connection") or "winrm"
    windows: Dict[str, Any] = {}
    groups: Dict[str, Dict[str, Any]] = {}
    for host in fleet["hosts"]:
        windows[host["name"]] = {
            "ansible_host": host["address"],
            "ansible_port": fleet["winrm_port"],
            **_connection_vars(fleet, connection),
            "ansible_user": fleet["user"],
            "ansible_password": fleet["password"],
            # Where this host's smbd listens; the collection's wire probe reads it.
            "smb_signing_probe_port": fleet["smb_port"],
        }
        group = PROFILE_GROUPS[int(host["domain_role"])]
        groups.setdefault(group, {"hosts": {}})["hosts"][host["name"]] = None
    return {"all": {"children": {"windows": {"hosts": windows, "children": groups}}}}


def write_inventory(state_dir: Path, fleet: Dict[str, Any]) -> Path:
    """Write one inventory per connection, and inventory.yml over the fleet's; return that."""
    default = fleet.get("connection") or "winrm"
    for connection in CONNECTIONS:
        text = (
            f"# Written by `python -m lab up`; the lab is a simulated Windows fleet, reached "
            f"here over {connection}.\n"
        )
        text += yaml.safe_dump(
            build_inventory(fleet, connection), sort_keys=False, default_flow_style=False
        )
        (state_dir / FILES[connection]).write_text(text)
        if connection == default:
            (state_dir / DEFAULT_FILE).write_text(text)
    return state_dir / DEFAULT_FILE
