"""The simulated state of one Windows host, persisted as JSON so it survives a lab restart."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from lab import os_table
from lab.os_table import CLIENT_AUDIT, SERVER_AUDIT

# Registry keys (HKLM) behind the two services and their Group Policy twins
# (overview-server-message-block-signing.md; smb-signing-overview.md "SMB signing and
# encryption auditing").
PARAMETERS_PATH = {
    "server": "System\\CurrentControlSet\\Services\\LanManServer\\Parameters",
    "client": "System\\CurrentControlSet\\Services\\LanmanWorkstation\\Parameters",
}
POLICY_KEY = {
    "server": "Software\\Policies\\Microsoft\\Windows\\LanmanServer",
    "client": "Software\\Policies\\Microsoft\\Windows\\LanmanWorkstation",
}
REGISTRY_AREAS = ("server", "client", "server_policy", "client_policy")
# The values read_state reports per area (docs/dev/target-protocol.md).
REPORTED_VALUES: Dict[str, Tuple[str, ...]] = {
    "server": ("RequireSecuritySignature", "EnableSecuritySignature", SERVER_AUDIT),
    "client": ("RequireSecuritySignature", "EnableSecuritySignature", CLIENT_AUDIT),
    "server_policy": (SERVER_AUDIT,),
    "client_policy": (CLIENT_AUDIT,),
}
# Set-SmbServerConfiguration -EnableSMB1Protocol writes LanmanServer\Parameters\SMB1
# (learn.microsoft.com windows-server/storage/file-server/troubleshoot/
# detect-enable-and-disable-smbv1-v2-v3).
CONFIG_REGISTRY_NAME = {"EnableSMB1Protocol": "SMB1"}
BASE_PROPERTIES = {
    "server": ("RequireSecuritySignature", "EnableSecuritySignature", "EnableSMB1Protocol"),
    "client": ("RequireSecuritySignature", "EnableSecuritySignature"),
}
AUDIT_BY_SIDE = {"server": SERVER_AUDIT, "client": CLIENT_AUDIT}
# Get-WinEvent channels that hold the signing audit events (smb-signing-overview.md).
EVENT_IDS = {"server": (3021, 3022), "client": (31998, 31999)}


class ModelError(ValueError):
    """A change the model refuses; the message names the host and the bad input."""


@dataclass
class HostModel:
    """Everything the lab knows about one simulated host."""

    name: str
    os: str
    domain_role: int
    edition: str = ""
    computer_name: str = ""
    audit_backport: bool = False
    rsop_available: Optional[bool] = None
    registry: Dict[str, Dict[str, Dict[str, Any]]] = field(default_factory=dict)
    rsop: List[Dict[str, Any]] = field(default_factory=list)
    events: List[Dict[str, Any]] = field(default_factory=list)
    # "side.Property" names whose Set- call fails with "Access is denied." (a per-property error).
    deny_writes: List[str] = field(default_factory=list)
    # Test-only: force smbd's "server signing" regardless of the model, so the wire can be made
    # to disagree with the configuration (None: follow the model).
    wire_require_signing: Optional[bool] = None

    def __post_init__(self) -> None:
        rel = os_table.release(self.os)
        if self.domain_role not in range(6):
            raise ModelError(
                f"host {self.name}: domain_role must be 0..5, got {self.domain_role!r}"
            )
        if rel.is_server != (self.domain_role >= 2):
            raise ModelError(
                f"host {self.name}: domain_role {self.domain_role} does not fit os {self.os}"
            )
        self.edition = self.edition or rel.default_edition
        self.computer_name = (self.computer_name or self.name).upper()[:15]
        for area in REGISTRY_AREAS:
            self.registry.setdefault(area, {})
        if self.rsop_available is None:
            # The RSoP namespace exists once Group Policy has applied, i.e. on domain members
            # and DCs (Win32_ComputerSystem.DomainRole 1, 3, 4, 5; dsrole DSROLE_MACHINE_ROLE).
            self.rsop_available = self.domain_role in (1, 3, 4, 5)

    # -- OS facts -------------------------------------------------------------------------
    @property
    def release(self) -> os_table.OsRelease:
        return os_table.release(self.os)

    @property
    def product_type(self) -> int:
        if self.domain_role >= 4:
            return os_table.PRODUCT_DOMAIN_CONTROLLER
        return os_table.PRODUCT_SERVER if self.release.is_server else os_table.PRODUCT_WORKSTATION

    def os_info(self) -> Dict[str, Any]:
        rel = self.release
        return {
            "caption": os_table.caption_for(rel, self.edition),
            "version": rel.version,
            "build": rel.build,
            "product_type": self.product_type,
            "edition_id": self.edition,
            "display_version": rel.display_version,
        }

    def parameters(self) -> Dict[str, List[str]]:
        server, client = os_table.audit_parameters(self.release, self.audit_backport)
        return {"server": list(server), "client": list(client)}

    def properties(self, side: str) -> Tuple[str, ...]:
        return BASE_PROPERTIES[side] + tuple(self.parameters()[side])

    # -- registry and cmdlet views ------------------------------------------------------------
    def registry_value(self, area: str, name: str) -> Optional[Dict[str, Any]]:
        return self.registry[area].get(name)

    def set_registry(self, area: str, name: str, value: Optional[Dict[str, Any]]) -> None:
        if area not in REGISTRY_AREAS:
            raise ModelError(f"host {self.name}: unknown registry area {area!r}")
        if value is None:
            self.registry[area].pop(name, None)
        else:
            self.registry[area][name] = value

    def config_value(self, side: str, prop: str) -> bool:
        """What Get-Smb*Configuration reports: the policy value for audits, else Parameters, else
        the OS default. The policy-first order for audit values follows srvnet.sys reading
        Policies before Parameters (UNCONFIRMED; see windows-smb-signing-facts.md 1.2)."""
        reg_name = CONFIG_REGISTRY_NAME.get(prop, prop)
        if prop == AUDIT_BY_SIDE[side]:
            policy = self.registry_value(f"{side}_policy", prop)
            if policy is not None:
                return _truthy(policy)
        local = self.registry_value(side, reg_name)
        if local is not None:
            return _truthy(local)
        return os_table.os_default(self.release, self.edition, side, prop)

    def config(self, side: str) -> Dict[str, bool]:
        return {prop: self.config_value(side, prop) for prop in self.properties(side)}

    def set_config(self, side: str, prop: str, value: bool) -> None:
        """Set-Smb*Configuration -<prop> <value>: writes the Parameters value, as Windows does."""
        if prop not in self.properties(side):
            cmdlet = f"Set-Smb{side.capitalize()}Configuration"
            raise ModelError(
                f"{cmdlet} : A parameter cannot be found that matches parameter name '{prop}'."
            )
        if f"{side}.{prop}" in self.deny_writes:
            raise ModelError("Access is denied.")
        reg_name = CONFIG_REGISTRY_NAME.get(prop, prop)
        self.set_registry(side, reg_name, {"type": "DWord", "data": 1 if value else 0})

    @property
    def server_requires_signing(self) -> bool:
        return self.config_value("server", "RequireSecuritySignature")

    @property
    def smb1_enabled(self) -> bool:
        return self.config_value("server", "EnableSMB1Protocol")

    # -- Group Policy ---------------------------------------------------------------------------
    def policy_refresh(self) -> List[str]:
        """Re-apply every RSoP entry, reverting local changes (gpupdate /force; KB887429)."""
        changed: List[str] = []
        for entry in self.rsop:
            area, name = rsop_target(entry)
            want = {"type": "DWord", "data": int(entry["data"])}
            if self.registry[area].get(name) != want:
                changed.append(f"{area}.{name}")
            self.registry[area][name] = want
        return changed

    def rsop_view(self) -> Dict[str, Any]:
        if not self.rsop_available:
            return {
                "available": False,
                "error": "Invalid namespace root\\rsop\\computer (no Group Policy has applied)",
                "entries": [],
            }
        return {"available": True, "error": None, "entries": [dict(e) for e in self.rsop]}

    # -- audit events ---------------------------------------------------------------------------
    def event_log_exists(self, side: str) -> bool:
        return bool(self.parameters()[side])

    def add_event(self, side: str, event_id: int, peer: str, time: str) -> None:
        if side not in EVENT_IDS:
            raise ModelError(f"host {self.name}: event side must be server or client, got {side!r}")
        if event_id not in EVENT_IDS[side]:
            raise ModelError(
                f"host {self.name}: {side} audit event id must be one of {EVENT_IDS[side]}, "
                f"got {event_id}"
            )
        self.events.append({"side": side, "id": event_id, "peer": peer, "time": time})

    def events_view(self, since: str, max_events: int) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for side in ("server", "client"):
            if not self.event_log_exists(side):
                out[side] = {"available": False, "count": 0, "sample": []}
                continue
            matching = [e for e in self.events if e["side"] == side and e["time"] >= since]
            matching.sort(key=lambda e: e["time"], reverse=True)
            sample = [{"id": e["id"], "time": e["time"], "peer": e["peer"]} for e in matching]
            out[side] = {"available": True, "count": len(matching), "sample": sample[:max_events]}
        return out

    # -- persistence ----------------------------------------------------------------------------
    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> HostModel:
        return cls(**data)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{self.name}.json.tmp"
        tmp.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True))
        os.replace(tmp, directory / f"{self.name}.json")

    @classmethod
    def load(cls, path: Path) -> HostModel:
        return cls.from_json(json.loads(path.read_text()))


def rsop_target(entry: Dict[str, Any]) -> Tuple[str, str]:
    """The registry area and value name an RSoP entry writes."""
    if entry.get("class") == "RSOP_RegistryValue":
        path = str(entry["path"])
        for side, key in PARAMETERS_PATH.items():
            prefix = f"MACHINE\\{key}\\"
            if path.lower().startswith(prefix.lower()):
                return side, path[len(prefix) :]
    elif entry.get("class") == "RSOP_RegistryPolicySetting":
        for side, key in POLICY_KEY.items():
            if str(entry["key"]).lower() == key.lower():
                return f"{side}_policy", str(entry["value_name"])
    raise ModelError(f"RSoP entry does not name a LanmanServer/LanmanWorkstation value: {entry!r}")


def rsop_entry(
    side: str, value: str, data: int, *, gpo_name: str, gpo_id: str, policy: bool
) -> Dict[str, Any]:
    """An RSoP entry in the read_state form: RSOP_RegistryValue for the Security Options,
    RSOP_RegistryPolicySetting for Administrative Template values (learn.microsoft.com
    previous-versions aa375052 and RSOP_RegistryPolicySetting)."""
    if policy:
        return {
            "class": "RSOP_RegistryPolicySetting",
            "key": POLICY_KEY[side],
            "value_name": value,
            "data": int(data),
            "gpo_id": gpo_id,
            "gpo_name": gpo_name,
        }
    return {
        "class": "RSOP_RegistryValue",
        "path": f"MACHINE\\{PARAMETERS_PATH[side]}\\{value}",
        "data": str(int(data)),
        "gpo_id": gpo_id,
        "gpo_name": gpo_name,
    }


def _truthy(value: Dict[str, Any]) -> bool:
    data = value.get("data")
    if isinstance(data, str):
        return data.strip() not in ("", "0")
    return bool(data)
