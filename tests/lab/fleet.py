"""Fleet files: which hosts the lab simulates, how they start, and how a client reaches them."""

from __future__ import annotations

import datetime
import random
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import yaml

from lab import busy, os_table
from lab.model import HostModel, ModelError, rsop_entry

PROFILE_GROUPS = {
    0: "standalone_workstations",
    1: "member_workstations",
    2: "standalone_servers",
    3: "member_servers",
    4: "domain_controllers",
    5: "domain_controllers",
}
DEFAULT_DC_POLICY = ("Default Domain Controllers Policy", "{6AC1786C-016F-11D2-945F-00C04fB984F9}")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,14}$")
_FLEET_KEYS = {
    "name",
    "user",
    "password",
    "winrm_port",
    "smb_port",
    "scheme",
    "shared_smbd",
    "subnet",
    "hosts",
    "scale",
    "max_command_line",
    "connection",
}
_HOST_KEYS = {
    "name",
    "os",
    "edition",
    "domain_role",
    "computer_name",
    "audit_backport",
    "rsop_available",
    "registry",
    "gpo",
    "smb1",
    "events",
    "deny_writes",
    *busy.KNOBS,
}


class FleetError(ValueError):
    """A fleet file the lab cannot use; the message names the file, host and key."""


@dataclass
class Fleet:
    name: str
    user: str
    password: str
    winrm_port: int
    smb_port: int
    scheme: str
    shared_smbd: bool
    subnet: Optional[int]
    max_command_line: int = 8191
    # The connection plugin of the inventory.yml that `up` writes (winrm or psrp; both
    # inventories are written either way, lab/inventory.py).
    connection: str = "winrm"
    hosts: List[HostModel] = field(default_factory=list)


def load(path: Path) -> Fleet:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise FleetError(f"fleet file {path}: {exc}") from None
    return parse(data, str(path))


def parse(data: Any, where: str) -> Fleet:
    if not isinstance(data, dict):
        raise FleetError(f"{where}: a fleet file is a mapping")
    unknown = set(data) - _FLEET_KEYS
    if unknown:
        raise FleetError(f"{where}: unknown keys {sorted(unknown)}")
    scheme = data.get("scheme", "http")
    if scheme not in ("http", "https"):
        raise FleetError(f"{where}: scheme must be http or https, got {scheme!r}")
    connection = data.get("connection", "winrm")
    if connection not in ("winrm", "psrp"):
        raise FleetError(f"{where}: connection must be winrm or psrp, got {connection!r}")
    fleet = Fleet(
        name=str(data.get("name", "lab")),
        user=str(data.get("user", "labadmin")),
        password=str(data.get("password", "Lab-Passw0rd")),
        winrm_port=_port(data.get("winrm_port", 55985), where, "winrm_port"),
        smb_port=_port(data.get("smb_port", 14450), where, "smb_port"),
        scheme=scheme,
        shared_smbd=bool(data.get("shared_smbd", False)),
        subnet=data.get("subnet"),
        max_command_line=int(data.get("max_command_line", 8191)),
        connection=connection,
    )
    hosts = list(data.get("hosts") or [])
    if data.get("scale"):
        hosts.extend(generate_hosts(int(data["scale"].get("count", 0))))
    if not hosts:
        raise FleetError(f"{where}: no hosts")
    seen: set[str] = set()
    for i, spec in enumerate(hosts):
        model = _host(spec, f"{where}: hosts[{i}]")
        if model.name in seen:
            raise FleetError(f"{where}: host name {model.name!r} appears twice")
        seen.add(model.name)
        fleet.hosts.append(model)
    return fleet


def _port(value: Any, where: str, key: str) -> int:
    if not isinstance(value, int) or not 1 <= value <= 65535:
        raise FleetError(f"{where}: {key} must be a TCP port number, got {value!r}")
    return value


def _host(spec: Any, where: str) -> HostModel:
    if not isinstance(spec, dict):
        raise FleetError(f"{where}: a host is a mapping")
    unknown = set(spec) - _HOST_KEYS
    if unknown:
        raise FleetError(f"{where}: unknown keys {sorted(unknown)}")
    name = str(spec.get("name", ""))
    if not _NAME.match(name):
        raise FleetError(f"{where}: name must be 1-15 letters, digits or '-', got {name!r}")
    where = f"{where} ({name})"
    try:
        model = HostModel(
            name=name,
            os=str(spec.get("os", "")),
            domain_role=int(spec.get("domain_role", -1)),
            edition=str(spec.get("edition", "")),
            computer_name=str(spec.get("computer_name", "")),
            audit_backport=bool(spec.get("audit_backport", False)),
            rsop_available=spec.get("rsop_available"),
            deny_writes=list(spec.get("deny_writes") or []),
        )
        for area, values in (spec.get("registry") or {}).items():
            for value_name, value in (values or {}).items():
                reg = value if isinstance(value, dict) else {"type": "DWord", "data": int(value)}
                model.set_registry(area, value_name, reg)
        if spec.get("smb1") is not None:
            model.set_registry("server", "SMB1", {"type": "DWord", "data": int(bool(spec["smb1"]))})
        gpos = list(spec.get("gpo") or [])
        if model.domain_role >= 4:
            # The Default Domain Controllers Policy enables both server signing options on every
            # DC: "Digitally sign communications (always)" and "(if client agrees)" each list
            # "Default Domain Controller Policy: Enabled" under "Default values"
            # (learn.microsoft.com,
            # microsoft-network-server-digitally-sign-communications-always and
            # ...-if-client-agrees). A fleet file may give its own entry for either.
            for position, value_name in enumerate(
                ("RequireSecuritySignature", "EnableSecuritySignature")
            ):
                if not any(
                    g.get("value") == value_name and g.get("side") == "server" for g in gpos
                ):
                    gpos.insert(
                        position,
                        {
                            "side": "server",
                            "value": value_name,
                            "data": 1,
                            "gpo_name": DEFAULT_DC_POLICY[0],
                            "gpo_id": DEFAULT_DC_POLICY[1],
                        },
                    )
        for g in gpos:
            model.rsop.append(
                rsop_entry(
                    str(g["side"]),
                    str(g["value"]),
                    int(g.get("data", 1)),
                    gpo_name=str(g["gpo_name"]),
                    gpo_id=str(g.get("gpo_id", "{00000000-0000-0000-0000-000000000000}")),
                    policy=_policy(g.get("policy", str(g["value"]).startswith("Audit"))),
                )
            )
        for knob in busy.KNOBS:
            if spec.get(knob) is not None:
                busy.set_knob(model.busy, knob, spec[knob])
        for e in spec.get("events") or []:
            model.add_event(str(e["side"]), int(e["id"]), str(e["peer"]), event_time(e["time"]))
        model.policy_refresh()
    except (ModelError, ValueError, KeyError, TypeError) as exc:
        raise FleetError(f"{where}: {exc}") from None
    return model


_RELATIVE_TIME = re.compile(r"^-(\d+)([dhm])$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60}


def event_time(value: object) -> str:
    """An event time as ISO 8601 UTC; ``-3d``, ``-5h`` or ``-30m`` count back from now.

    Relative times keep a fleet file's audit events inside a recent window (the demo's gate
    looks back seven days) however long after it was written the fleet is brought up.
    """
    text = str(value)
    match = _RELATIVE_TIME.match(text)
    if not match:
        return text
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def choose_subnet(port: int, wanted: Optional[int]) -> int:
    """The second octet of 127.S.x.y for this fleet: the wanted one, or a free random one."""
    if wanted is not None:
        if not isinstance(wanted, int) or not 2 <= wanted <= 254:
            raise FleetError(f"subnet must be an integer 2..254, got {wanted!r}")
        return wanted
    rng = random.SystemRandom()
    for _ in range(50):
        candidate = rng.randint(32, 250)
        with socket.socket() as s:
            try:
                s.bind((address_for(candidate, 0), port))
            except OSError:
                continue
        return candidate
    raise FleetError("no free 127.S.0.0/16 subnet found after 50 tries")


def address_for(subnet: int, index: int) -> str:
    return f"127.{subnet}.{1 + index // 250}.{1 + index % 250}"


_SCALE_MIX = [
    ("windows_server_2022", 3),
    ("windows_server_2019", 3),
    ("windows_server_2025", 3),
    ("windows_server_2016", 3),
    ("windows_server_2022", 5),
    ("windows_server_2025", 4),
    ("windows_server_2019", 2),
    ("windows_11_24h2", 1),
    ("windows_10", 1),
    ("windows_11_23h2", 1),
]


def generate_hosts(count: int) -> List[Dict[str, Any]]:
    """A deterministic mix of OS versions and roles; every fifth member server already requires
    signing and every seventh has SMB1 on, so a scale run has work and no-ops."""
    if not 1 <= count <= 60000:
        raise FleetError(f"scale count must be 1..60000, got {count}")
    hosts: List[Dict[str, Any]] = []
    for i in range(count):
        os_name, role = _SCALE_MIX[i % len(_SCALE_MIX)]
        host: Dict[str, Any] = {"name": f"s{i:05d}", "os": os_name, "domain_role": role}
        if i % 5 == 0 and role == 3:
            host["registry"] = {"server": {"RequireSecuritySignature": 1}}
        if i % 7 == 0 and os_table.release(os_name).is_server:
            host["smb1"] = True
        hosts.append(host)
    return hosts


def generate_fleet(count: int) -> Dict[str, Any]:
    return {"name": f"scale-{count}", "shared_smbd": count > 16, "hosts": generate_hosts(count)}


def _policy(value: Any) -> Union[bool, str]:
    """A GPO entry's channel: false (Security Options), true (Administrative Templates, the
    Policies key) or "parameters" (Registry.pol on the Lanman* Parameters key)."""
    if value == "parameters":
        return "parameters"
    if isinstance(value, bool):
        return value
    raise ValueError(f"gpo policy must be true, false or 'parameters', got {value!r}")
