"""The simulated state of one Windows host, persisted as JSON so it survives a lab restart."""

from __future__ import annotations

import datetime
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from lab import os_table
from lab.busy import Busy
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
# AuditClientSpnSupport: KB5066913 lists it beside the signing audit policy; the lab only stores
# and reports it (set it with server.AuditClientSpnSupport=1): what it turns on is unconfirmed.
SPN_AUDIT = "AuditClientSpnSupport"
REPORTED_VALUES: Dict[str, Tuple[str, ...]] = {
    "server": ("RequireSecuritySignature", "EnableSecuritySignature", SERVER_AUDIT, SPN_AUDIT),
    "client": ("RequireSecuritySignature", "EnableSecuritySignature", CLIENT_AUDIT),
    "server_policy": (SERVER_AUDIT, SPN_AUDIT),
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
# The named EventData field the lab's events carry their peer in, unless event_peer_field says
# otherwise ("#0": no named field). The script tries ClientName, ClientAddress, ServerName.
PEER_FIELD_NAMES = ("ClientName", "ClientAddress", "ServerName", "#0")
PEER_FIELDS = {"server": "ClientName", "client": "ServerName"}
# What Get-WinEvent raises for a record it cannot read (event_read_stops_after).
READ_ERROR = "The RPC server is unavailable"
# The collection's own marker: HKLM\\SOFTWARE\\winhardening.smb, REG_SZ AuditUnsignedClientsSince.
MARKER_KEY = "SOFTWARE\\winhardening.smb"
MARKER_VALUE = "AuditUnsignedClientsSince"


def utc_now() -> str:
    """The lab's clock, as [DateTime]::UtcNow.ToString('o') prints it (7 fraction digits, Z)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


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
    # RSoP unreadable with this error text (e.g. "Access denied"); "" means readable.
    # rsop_available=false keeps meaning "namespace missing".
    rsop_error: str = ""
    # side -> the error text the event query on that side's log raises (the log exists).
    event_log_error: Dict[str, str] = field(default_factory=dict)
    # Sides whose audit log does not exist (Get-WinEvent -ListLog says NoMatchingLogsFound), on
    # top of the release's own rule (event_log_exists).
    event_log_missing: List[str] = field(default_factory=list)
    # side -> the error text Get-WinEvent -ListLog raises for that side's log (it exists but, for
    # example, the caller may not read it: LogInfoNoAccess); the log is then not queried.
    event_list_error: Dict[str, str] = field(default_factory=dict)
    # side -> after how many events (newest first) the query meets a record it cannot read or
    # format: under the Stop preference that error ends the query, and the script keeps the
    # events written before it (-OutVariable) and reports where the read stopped.
    event_read_stops_after: Dict[str, int] = field(default_factory=dict)
    # side -> the named EventData field that carries the peer ("#0": none, so the first event
    # property is the label). Microsoft documents neither (UNCONFIRMED), so it is a knob.
    event_peer_field: Dict[str, str] = field(default_factory=dict)
    # The AuditUnsignedClientsSince marker (REG_SZ text), None when absent.
    audit_marker: Optional[str] = None
    # $ExecutionContext.SessionState.LanguageMode: ConstrainedLanguage models a host under WDAC
    # or AppLocker enforcement (about_Language_Modes), where method calls on non-core types fail.
    language_mode: str = "FullLanguage"
    # How the host's WinRS answers a command's Receives when it is busy (lab/busy.py).
    busy: Busy = field(default_factory=Busy)

    def __post_init__(self) -> None:
        saved: Any = self.busy
        if isinstance(saved, dict):  # from JSON: a model file or a fleet's resolved host
            try:
                self.busy = Busy.from_json(saved)
            except ValueError as exc:
                raise ModelError(f"host {self.name}: {exc}") from None
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
            # Group Policy applies the local GPO on every host, standalone ones too, and logs
            # RSoP data for it, so root\rsop\computer exists everywhere (UNCONFIRMED for hosts
            # outside a domain: docs/dev/windows-behaviour.md). rsop_available=false models a
            # host where it is missing; the collection then calls stored values' owner unknown.
            self.rsop_available = True

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
        if self.rsop_error:
            return {"available": False, "error": self.rsop_error, "entries": []}
        if not self.rsop_available:
            return {
                "available": False,
                "error": "Invalid namespace root\\rsop\\computer (no Group Policy has applied)",
                "entries": [],
            }
        return {"available": True, "error": None, "entries": [dict(e) for e in self.rsop]}

    # -- audit events ---------------------------------------------------------------------------
    def event_log_exists(self, side: str) -> bool:
        """Microsoft-Windows-SMBServer/Audit exists on every release the lab models (Server 2016
        and Windows 10 log SMB1 access there, event 3000); SMBClient/Audit only where the client
        audit parameter exists (UNCONFIRMED: docs/dev/windows-behaviour.md)."""
        if side in self.event_log_missing:
            return False
        return side == "server" or bool(self.parameters()[side])

    def add_event(self, side: str, event_id: int, peer: str, time: str) -> None:
        if side not in EVENT_IDS:
            raise ModelError(f"host {self.name}: event side must be server or client, got {side!r}")
        if event_id not in EVENT_IDS[side]:
            raise ModelError(
                f"host {self.name}: {side} audit event id must be one of {EVENT_IDS[side]}, "
                f"got {event_id}"
            )
        self.events.append({"side": side, "id": event_id, "peer": peer, "time": time})

    def events_view(self, since: str, max_peers: int, max_events: int) -> Dict[str, Any]:
        """read_state v2 ``events``: per log, the newest max_events events in the window
        (Get-WinEvent -MaxEvents; ``truncated`` when the read reached it) grouped by peer label
        (as Group-Object does: case-insensitively, the label spelled as in the newest event),
        sorted by count descending then label, cut to max_peers, with the events per id
        (docs/dev/target-protocol.md)."""
        out: Dict[str, Any] = {}
        for side in ("server", "client"):
            view: Dict[str, Any] = {
                "available": self.event_log_exists(side),
                "error": None,
                "count": 0,
                "peers_total": 0,
                "peers": [],
                "truncated": False,
                "ids": {},
            }
            out[side] = view
            if not view["available"]:
                continue  # -ListLog says NoMatchingLogsFound: the log is not queried
            if self.event_list_error.get(side):
                view["error"] = self.event_list_error[side]
                continue  # -ListLog failed otherwise: an error, not a missing log
            if self.event_log_error.get(side):
                view["error"] = self.event_log_error[side]
                continue
            since_t = parse_time(since)
            matching = [
                e for e in self.events if e["side"] == side and parse_time(e["time"]) >= since_t
            ]
            # Get-WinEvent returns newest first and stops after max_events written events.
            matching.sort(key=lambda e: parse_time(e["time"]), reverse=True)
            matching = matching[: max(0, max_events)]
            stops_after = self.event_read_stops_after.get(side)
            if stops_after is not None and stops_after <= len(matching):
                matching = matching[:stops_after]
                view["error"] = (
                    f"the read stopped after {stops_after} event(s): {READ_ERROR}"
                    if stops_after
                    else READ_ERROR
                )
            field_name = self.event_peer_field.get(side) or PEER_FIELDS[side]
            groups: Dict[str, Dict[str, Any]] = {}
            for e in matching:
                group = groups.setdefault(str(e["peer"]).casefold(), {"peer": str(e["peer"])})
                group["count"] = group.get("count", 0) + 1
                newest = group.get("_last")
                if newest is None or parse_time(e["time"]) > newest:
                    group["_last"] = parse_time(e["time"])
                view["ids"][str(e["id"])] = view["ids"].get(str(e["id"]), 0) + 1
            peers = sorted(groups.values(), key=lambda g: (-g["count"], g["peer"].casefold()))
            view["count"] = len(matching)
            view["truncated"] = len(matching) >= max_events
            view["peers_total"] = len(peers)
            view["peers"] = [
                {
                    "peer": g["peer"],
                    "count": g["count"],
                    "peer_field": field_name,
                    "last": _iso_o(g["_last"]),
                }
                for g in peers[: max(0, max_peers)]
            ]
        return out

    # -- the collection's marker ----------------------------------------------------------------
    def markers_view(self) -> Dict[str, Optional[str]]:
        return {"audit_unsigned_clients_since": self.audit_marker}

    def sync_marker(self, how: str, now: str) -> None:
        """apply v2 ``sync_marker``: 'set' records now unless there is a marker or the
        read-back shows server auditing off; 'clear' removes it."""
        if how == "set":
            if self.audit_marker is None and self.config("server").get(SERVER_AUDIT) is not False:
                self.audit_marker = now
        else:
            self.audit_marker = None

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
        # Registry.pol may name any key: Set-GPRegistryValue on Lanman*\Parameters writes the
        # very value a Security Option writes.
        for side, key in PARAMETERS_PATH.items():
            if str(entry["key"]).lower() == key.lower():
                return side, str(entry["value_name"])
    raise ModelError(f"RSoP entry does not name a LanmanServer/LanmanWorkstation value: {entry!r}")


def rsop_entry(
    side: str, value: str, data: int, *, gpo_name: str, gpo_id: str, policy: Union[bool, str]
) -> Dict[str, Any]:
    """An RSoP entry in the read_state form: RSOP_RegistryValue for the Security Options,
    RSOP_RegistryPolicySetting for Administrative Template values (learn.microsoft.com
    previous-versions aa375052 and RSOP_RegistryPolicySetting). ``policy`` true puts the value
    under the Policies key; ``"parameters"`` is a Registry.pol value on the Parameters key itself
    (what Set-GPRegistryValue -Key on a Lanman* Parameters key writes)."""
    if policy:
        return {
            "class": "RSOP_RegistryPolicySetting",
            "key": PARAMETERS_PATH[side] if policy == "parameters" else POLICY_KEY[side],
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


def parse_time(text: str) -> datetime.datetime:
    """An ISO 8601 time as [datetime] reads it; a time without offset is taken as UTC."""
    t = str(text).strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    # Python before 3.11 takes at most 6 fraction digits; 'o' prints 7.
    t = re.sub(r"(\.\d{6})\d+", r"\1", t)
    moment = datetime.datetime.fromisoformat(t)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def _iso_o(moment: datetime.datetime) -> str:
    """DateTime.ToUniversalTime().ToString('o'): 2026-11-24T10:00:00.0000000Z."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _truthy(value: Dict[str, Any]) -> bool:
    data = value.get("data")
    if isinstance(data, str):
        return data.strip() not in ("", "0")
    return bool(data)
