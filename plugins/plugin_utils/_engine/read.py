# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's answers as typed objects (docs/dev/target-protocol.md, version 2).

FOR INTERNAL COLLECTION USE ONLY.

Everything the engine decides rests on these objects, so a field of the wrong type is refused
here with the path of the field, instead of surfacing later as a KeyError or a wrong verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple, Union

from .text import safe_text

REGISTRY_GROUPS = ("server", "client", "server_policy", "client_policy")
SIDES = ("server", "client")

RegistryData = Union[int, str, List[Any], None]
Registry = Mapping[str, Mapping[str, Optional["RegistryValue"]]]


class ProtocolError(ValueError):
    """The JSON is an object but not the shape the protocol promises."""


@dataclass(frozen=True)
class RegistryValue:
    """One registry value that exists: its RegistryValueKind name and data."""

    type: str
    data: RegistryData

    def to_dict(self) -> Dict[str, Any]:
        return {"present": True, "type": self.type, "data": self.data}


@dataclass(frozen=True)
class RsopEntry:
    """A winning (precedence 1) RSoP entry and the GPO it came from."""

    cls: str
    gpo_id: Optional[str]
    gpo_name: Optional[str]
    path: Optional[str] = None  # RSOP_RegistryValue
    key: Optional[str] = None  # RSOP_RegistryPolicySetting
    value_name: Optional[str] = None  # RSOP_RegistryPolicySetting
    data: Any = None


@dataclass(frozen=True)
class Rsop:
    available: bool
    error: Optional[str]
    entries: Tuple[RsopEntry, ...]


@dataclass(frozen=True)
class PeerCount:
    """One peer of an audit log, counted over every event in the window on the host."""

    peer: str
    count: int
    last: str
    # The EventData field the label came from (ClientName, ...), or "#0" for the first event
    # property: Microsoft documents neither for these events (docs/dev/windows-behaviour.md).
    peer_field: str = ""


@dataclass(frozen=True)
class AuditLog:
    """One audit log over the window: whether it exists, any read error, and its peers."""

    available: bool
    error: Optional[str]
    count: int
    peers: Tuple[PeerCount, ...]
    peers_total: int
    # The read reached max_events: count and peers_total are lower bounds.
    truncated: bool = False
    # Events per event id ("3021": n); they add up to count.
    ids: Mapping[str, int] = field(default_factory=dict, hash=False)

    @property
    def readable(self) -> bool:
        return self.available and self.error is None

    @property
    def peers_left_out(self) -> int:
        return max(0, self.peers_total - len(self.peers))


@dataclass(frozen=True)
class TargetState:
    """The read_state answer, or the state after a write (after_write)."""

    computer_name: str
    os: Mapping[str, Any] = field(hash=False)
    domain_role: int
    registry: Registry = field(hash=False)
    server_config: Mapping[str, bool] = field(hash=False)
    client_config: Mapping[str, bool] = field(hash=False)
    parameters: Mapping[str, FrozenSet[str]] = field(hash=False)
    rsop: Rsop
    events: Optional[Mapping[str, AuditLog]] = field(hash=False)
    audit_on_since: Optional[str] = None

    def config(self, side: str) -> Mapping[str, bool]:
        return self.server_config if side == "server" else self.client_config

    def after_write(self, outcome: ApplyOutcome) -> TargetState:
        """This state with the write's read-back: registry, cmdlet view and marker. RSoP, the
        OS and the audit logs are what the read saw; a write changes none of them."""
        return replace(
            self,
            registry=outcome.registry,
            server_config=outcome.server_config,
            client_config=outcome.client_config,
            audit_on_since=outcome.audit_on_since,
        )

    def planned(self, changes: Iterable[Tuple[str, str, bool]]) -> TargetState:
        """The state a write of these (side, property, value) changes would leave, for check
        mode: the cmdlet view shows each value, and Parameters stores it, as the Set- cmdlets
        store the signing values."""
        configs = {"server": dict(self.server_config), "client": dict(self.client_config)}
        registry = {group: dict(values) for group, values in self.registry.items()}
        for side, prop, value in changes:
            configs[side][prop] = value
            registry.setdefault(side, {})[prop] = RegistryValue("DWord", int(value))
        return replace(
            self,
            registry=registry,
            server_config=configs["server"],
            client_config=configs["client"],
        )


@dataclass(frozen=True)
class WriteResult:
    side: str
    property: str
    value: bool
    ok: bool
    error: Optional[str]


@dataclass(frozen=True)
class ApplyOutcome:
    """The apply answer: each write's own report and the read-back that decides."""

    results: Tuple[WriteResult, ...]
    server_config: Mapping[str, bool] = field(hash=False)
    client_config: Mapping[str, bool] = field(hash=False)
    registry: Registry = field(hash=False)
    audit_on_since: Optional[str]
    marker_error: Optional[str]

    def config(self, side: str) -> Mapping[str, bool]:
        return self.server_config if side == "server" else self.client_config


def _get(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise ProtocolError(f"{where}: missing key {key!r}")
    return obj[key]


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProtocolError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> List[Any]:
    if not isinstance(value, list):
        raise ProtocolError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _int(value: Any, where: str) -> int:
    # bool is an int in Python; a true/false here is a wrong answer, not 1/0.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"{where}: expected an integer, got {value!r}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ProtocolError(f"{where}: expected true or false, got {value!r}")
    return value


def _opt_str(value: Any, where: str) -> Optional[str]:
    if value is not None and not isinstance(value, str):
        raise ProtocolError(f"{where}: expected text or null, got {value!r}")
    return value


# Every Windows the collection supports has these in Get-Smb*Configuration; an answer without
# them is not evidence of anything (the OS default would stand in for a value never read).
SIGNING_PROPERTIES = ("RequireSecuritySignature", "EnableSecuritySignature")


def _config(value: Any, where: str) -> Dict[str, bool]:
    obj = _mapping(value, where)
    for name in SIGNING_PROPERTIES:
        _get(obj, name, where)
    return {str(k): _bool(v, f"{where}.{k}") for k, v in obj.items()}


def _registry_value(value: Any, where: str) -> Optional[RegistryValue]:
    if value is None:
        return None
    obj = _mapping(value, where)
    kind = _get(obj, "type", where)
    if not isinstance(kind, str) or not kind:
        raise ProtocolError(f"{where}.type: expected a RegistryValueKind name, got {kind!r}")
    return RegistryValue(type=kind, data=obj.get("data"))


def _registry(value: Any, where: str) -> Dict[str, Dict[str, Optional[RegistryValue]]]:
    obj = _mapping(value, where)
    registry: Dict[str, Dict[str, Optional[RegistryValue]]] = {}
    for group in REGISTRY_GROUPS:
        values = _mapping(_get(obj, group, where), f"{where}.{group}")
        registry[group] = {
            str(name): _registry_value(v, f"{where}.{group}.{name}") for name, v in values.items()
        }
    return registry


def _rsop(value: Any) -> Rsop:
    obj = _mapping(value, "rsop")
    entries = []
    for i, raw in enumerate(_list(_get(obj, "entries", "rsop"), "rsop.entries")):
        where = f"rsop.entries[{i}]"
        item = _mapping(raw, where)
        cls = _get(item, "class", where)
        if cls not in ("RSOP_RegistryValue", "RSOP_RegistryPolicySetting"):
            raise ProtocolError(f"{where}.class: unknown class {cls!r}")
        entries.append(
            RsopEntry(
                cls=cls,
                gpo_id=_opt_str(item.get("gpo_id"), where + ".gpo_id"),
                gpo_name=_opt_str(item.get("gpo_name"), where + ".gpo_name"),
                path=_opt_str(item.get("path"), where + ".path"),
                key=_opt_str(item.get("key"), where + ".key"),
                value_name=_opt_str(item.get("value_name"), where + ".value_name"),
                data=item.get("data"),
            )
        )
    available = _bool(_get(obj, "available", "rsop"), "rsop.available")
    error = _opt_str(obj.get("error"), "rsop.error")
    if not available and entries:
        raise ProtocolError("rsop: entries given although RSoP is not available")
    return Rsop(available=available, error=error, entries=tuple(entries))


def _audit_log(value: Any, where: str) -> AuditLog:
    log = _mapping(value, where)
    peers = []
    for i, raw in enumerate(_list(_get(log, "peers", where), where + ".peers")):
        at = f"{where}.peers[{i}]"
        item = _mapping(raw, at)
        count = _int(_get(item, "count", at), at + ".count")
        if count < 1:
            raise ProtocolError(f"{at}.count: expected at least 1, got {count}")
        peers.append(
            PeerCount(
                peer=str(_get(item, "peer", at) or ""),
                count=count,
                last=str(item.get("last") or ""),
                peer_field=str(item.get("peer_field") or ""),
            )
        )
    count = _int(_get(log, "count", where), where + ".count")
    total = _int(_get(log, "peers_total", where), where + ".peers_total")
    listed = sum(p.count for p in peers)
    # Every peer has at least one event, and with every peer listed their counts are the count.
    if (
        count < 0
        or total < len(peers)
        or total > count
        or listed > count
        or (total == len(peers) and listed != count)
    ):
        raise ProtocolError(
            f"{where}: counts do not add up (count {count}, peers_total {total}, "
            f"{len(peers)} peers with {listed} events)"
        )
    ids = {
        str(k): _int(v, f"{where}.ids.{k}")
        for k, v in _mapping(_get(log, "ids", where), where + ".ids").items()
    }
    if sum(ids.values()) != count or any(n < 1 for n in ids.values()):
        raise ProtocolError(f"{where}.ids: the counts per event id do not add up to {count}")
    truncated = _get(log, "truncated", where)
    return AuditLog(
        available=_bool(_get(log, "available", where), where + ".available"),
        error=_opt_str(log.get("error"), where + ".error"),
        count=count,
        peers=tuple(peers),
        peers_total=total,
        truncated=_bool(truncated, where + ".truncated"),
        ids=ids,
    )


def _events(value: Any) -> Optional[Dict[str, AuditLog]]:
    if value is None:
        return None
    obj = _mapping(value, "events")
    return {side: _audit_log(_get(obj, side, "events"), "events." + side) for side in SIDES}


def _marker(data: Mapping[str, Any], where: str) -> Optional[str]:
    markers = _mapping(_get(data, "markers", where), "markers")
    return _opt_str(
        markers.get("audit_unsigned_clients_since"), "markers.audit_unsigned_clients_since"
    )


def safe_answer(value: Any) -> Any:
    """The answer with every string (keys too) made safe for any sink (text.safe_text)."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, Mapping):
        return {safe_text(str(k)): safe_answer(v) for k, v in value.items()}
    if isinstance(value, list):
        return [safe_answer(v) for v in value]
    return value


def parse_read_state(data: Mapping[str, Any]) -> TargetState:
    """Check and convert a read_state answer; ProtocolError names the first bad field."""
    data = safe_answer(data)
    os_obj = _mapping(_get(data, "os", "read_state"), "os")
    for key in ("caption", "version", "build", "product_type"):
        _get(os_obj, key, "os")
    params_obj = _mapping(_get(data, "parameters", "read_state"), "parameters")
    parameters = {}
    for side in SIDES:
        names = _list(_get(params_obj, side, "parameters"), "parameters." + side)
        parameters[side] = frozenset(str(n) for n in names)
    name = _get(data, "computer_name", "read_state")
    if not isinstance(name, str) or not name:
        raise ProtocolError(f"computer_name: expected a name, got {name!r}")
    return TargetState(
        computer_name=name,
        os=dict(os_obj),
        domain_role=_int(_get(data, "domain_role", "read_state"), "domain_role"),
        registry=_registry(_get(data, "registry", "read_state"), "registry"),
        server_config=_config(_get(data, "server_config", "read_state"), "server_config"),
        client_config=_config(_get(data, "client_config", "read_state"), "client_config"),
        parameters=parameters,
        rsop=_rsop(_get(data, "rsop", "read_state")),
        events=_events(data.get("events")),
        audit_on_since=_marker(data, "read_state"),
    )


def parse_apply(data: Mapping[str, Any]) -> ApplyOutcome:
    """Check and convert an apply answer; ProtocolError names the first bad field."""
    data = safe_answer(data)
    results = []
    for i, raw in enumerate(_list(_get(data, "results", "apply"), "results")):
        where = f"results[{i}]"
        item = _mapping(raw, where)
        side = _get(item, "side", where)
        if side not in SIDES:
            raise ProtocolError(f"{where}.side: expected server or client, got {side!r}")
        prop = _get(item, "property", where)
        if not isinstance(prop, str):
            raise ProtocolError(f"{where}.property: expected a name, got {prop!r}")
        results.append(
            WriteResult(
                side=side,
                property=prop,
                value=_bool(_get(item, "value", where), where + ".value"),
                ok=_bool(_get(item, "ok", where), where + ".ok"),
                error=_opt_str(item.get("error"), where + ".error"),
            )
        )
    return ApplyOutcome(
        results=tuple(results),
        server_config=_config(_get(data, "server_config", "apply"), "server_config"),
        client_config=_config(_get(data, "client_config", "apply"), "client_config"),
        registry=_registry(_get(data, "registry", "apply"), "registry"),
        audit_on_since=_marker(data, "apply"),
        marker_error=_opt_str(data.get("marker_error"), "marker_error"),
    )
