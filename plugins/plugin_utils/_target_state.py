# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed, validated forms of the two scripts' JSON answers (docs/dev/target-protocol.md).

FOR INTERNAL COLLECTION USE ONLY.

Everything the action plugins decide rests on these objects, so a field of the wrong type is
refused here with the path of the field, instead of surfacing later as a KeyError or a wrong
verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Tuple, Union

REGISTRY_GROUPS = ("server", "client", "server_policy", "client_policy")
SIDES = ("server", "client")

RegistryData = Union[int, str, List[Any], None]


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
class AuditEvent:
    id: int
    time: str
    peer: str


@dataclass(frozen=True)
class AuditLog:
    available: bool
    count: int
    sample: Tuple[AuditEvent, ...]


@dataclass(frozen=True)
class TargetState:
    """The read_state answer."""

    computer_name: str
    os: Mapping[str, Any] = field(hash=False)
    domain_role: int
    registry: Mapping[str, Mapping[str, Optional[RegistryValue]]] = field(hash=False)
    server_config: Mapping[str, bool] = field(hash=False)
    client_config: Mapping[str, bool] = field(hash=False)
    parameters: Mapping[str, FrozenSet[str]] = field(hash=False)
    rsop: Rsop
    events: Optional[Mapping[str, AuditLog]] = field(hash=False)

    def config(self, side: str) -> Mapping[str, bool]:
        return self.server_config if side == "server" else self.client_config


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


def _config(value: Any, where: str) -> Dict[str, bool]:
    obj = _mapping(value, where)
    return {str(k): _bool(v, f"{where}.{k}") for k, v in obj.items()}


def _registry_value(value: Any, where: str) -> Optional[RegistryValue]:
    if value is None:
        return None
    obj = _mapping(value, where)
    kind = _get(obj, "type", where)
    if not isinstance(kind, str) or not kind:
        raise ProtocolError(f"{where}.type: expected a RegistryValueKind name, got {kind!r}")
    return RegistryValue(type=kind, data=obj.get("data"))


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
    return Rsop(
        available=_bool(_get(obj, "available", "rsop"), "rsop.available"),
        error=_opt_str(obj.get("error"), "rsop.error"),
        entries=tuple(entries),
    )


def _events(value: Any) -> Optional[Dict[str, AuditLog]]:
    if value is None:
        return None
    obj = _mapping(value, "events")
    logs = {}
    for side in SIDES:
        where = "events." + side
        log = _mapping(_get(obj, side, "events"), where)
        sample = []
        for i, raw in enumerate(_list(_get(log, "sample", where), where + ".sample")):
            ev = _mapping(raw, f"{where}.sample[{i}]")
            sample.append(
                AuditEvent(
                    id=_int(_get(ev, "id", where), where + ".id"),
                    time=str(ev.get("time") or ""),
                    peer=str(ev.get("peer") or ""),
                )
            )
        logs[side] = AuditLog(
            available=_bool(_get(log, "available", where), where + ".available"),
            count=_int(_get(log, "count", where), where + ".count"),
            sample=tuple(sample),
        )
    return logs


def parse_read_state(data: Mapping[str, Any]) -> TargetState:
    """Check and convert a read_state answer; ProtocolError names the first bad field."""
    os_obj = _mapping(_get(data, "os", "read_state"), "os")
    for key in ("caption", "version", "build", "product_type"):
        _get(os_obj, key, "os")
    registry_obj = _mapping(_get(data, "registry", "read_state"), "registry")
    registry: Dict[str, Dict[str, Optional[RegistryValue]]] = {}
    for group in REGISTRY_GROUPS:
        values = _mapping(_get(registry_obj, group, "registry"), "registry." + group)
        registry[group] = {
            str(name): _registry_value(v, f"registry.{group}.{name}") for name, v in values.items()
        }
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
        registry=registry,
        server_config=_config(_get(data, "server_config", "read_state"), "server_config"),
        client_config=_config(_get(data, "client_config", "read_state"), "client_config"),
        parameters=parameters,
        rsop=_rsop(_get(data, "rsop", "read_state")),
        events=_events(data.get("events")),
    )


def parse_apply(data: Mapping[str, Any]) -> ApplyOutcome:
    """Check and convert an apply answer; ProtocolError names the first bad field."""
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
    )
