"""Hand-built host answers (target protocol version 2) for the engine's unit tests.

``read_state(...)`` and ``apply(...)`` return the JSON objects the scripts print, as dicts, with
keyword knobs for the parts a test is about; ``state(...)`` and ``outcome(...)`` parse them with
the engine's own parsers. The names below are written out by hand (not taken from the catalog),
so a test also notices when the engine looks a value up in the wrong place.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ansible_collections.winhardening.smb.plugins.plugin_utils._engine import assess, read
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.options import (
    ENFORCE_ARGUMENT_SPEC,
    FACTS_ARGUMENT_SPEC,
    TaskOptions,
    parse_options,
)

# The clock of every test that needs one: gate and window arithmetic are checked against it.
NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=timezone.utc)

# setting -> (side, cmdlet property = value name under Parameters)
KEYS: Dict[str, Tuple[str, str]] = {
    "server_require": ("server", "RequireSecuritySignature"),
    "server_enable": ("server", "EnableSecuritySignature"),
    "client_require": ("client", "RequireSecuritySignature"),
    "client_enable": ("client", "EnableSecuritySignature"),
    "audit_unsigned_clients": ("server", "AuditClientDoesNotSupportSigning"),
    "audit_unsigned_servers": ("client", "AuditServerDoesNotSupportSigning"),
}
SERVER_AUDIT = "AuditClientDoesNotSupportSigning"
CLIENT_AUDIT = "AuditServerDoesNotSupportSigning"

SERVER_PARAMETERS_RSOP = "MACHINE\\System\\CurrentControlSet\\Services\\LanManServer\\Parameters"
CLIENT_PARAMETERS_RSOP = (
    "MACHINE\\System\\CurrentControlSet\\Services\\LanmanWorkstation\\Parameters"
)
POLICY_KEYS = {
    "server": "Software\\Policies\\Microsoft\\Windows\\LanmanServer",
    "client": "Software\\Policies\\Microsoft\\Windows\\LanmanWorkstation",
}

OS: Dict[str, Dict[str, Any]] = {
    "ws2019": {
        "caption": "Microsoft Windows Server 2019 Datacenter",
        "version": "10.0.17763",
        "build": 17763,
        "product_type": 3,
        "edition_id": "ServerDatacenter",
        "display_version": "1809",
    },
    "ws2022": {
        "caption": "Microsoft Windows Server 2022 Datacenter",
        "version": "10.0.20348",
        "build": 20348,
        "product_type": 3,
        "edition_id": "ServerDatacenter",
        "display_version": "21H2",
    },
    "ws2025": {
        "caption": "Microsoft Windows Server 2025 Datacenter",
        "version": "10.0.26100",
        "build": 26100,
        "product_type": 3,
        "edition_id": "ServerDatacenter",
        "display_version": "24H2",
    },
}

# Sentinel: leave this property out of a cmdlet view (an OS without it).
ABSENT = object()

Stored = Union[None, int, str, Mapping[str, Any]]
PeerSpec = Union[Tuple[str, int], Tuple[str, int, str], Mapping[str, Any]]


def stored(data: Any, kind: str = "DWord") -> Dict[str, Any]:
    """A registry value that exists."""
    return {"type": kind, "data": data}


def _value(v: Stored) -> Optional[Dict[str, Any]]:
    if v is None or isinstance(v, Mapping):
        return None if v is None else dict(v)
    return stored(v)


def registry(
    server: Optional[Mapping[str, Stored]] = None,
    client: Optional[Mapping[str, Stored]] = None,
    server_policy: Optional[Mapping[str, Stored]] = None,
    client_policy: Optional[Mapping[str, Stored]] = None,
) -> Dict[str, Dict[str, Any]]:
    """The four registry groups, every value absent unless given (an int is a DWord)."""
    out: Dict[str, Dict[str, Any]] = {
        "server": {
            "RequireSecuritySignature": None,
            "EnableSecuritySignature": None,
            SERVER_AUDIT: None,
            "AuditClientSpnSupport": None,
        },
        "client": {
            "RequireSecuritySignature": None,
            "EnableSecuritySignature": None,
            CLIENT_AUDIT: None,
        },
        "server_policy": {SERVER_AUDIT: None, "AuditClientSpnSupport": None},
        "client_policy": {CLIENT_AUDIT: None},
    }
    for group, values in (
        ("server", server),
        ("client", client),
        ("server_policy", server_policy),
        ("client_policy", client_policy),
    ):
        for name, v in (values or {}).items():
            out[group][name] = _value(v)
    return out


def rsop_value(
    name: str, gpo_name: str = "SMB hardening", gpo_id: str = "{GPO-1}"
) -> Dict[str, Any]:
    """A winning RSOP_RegistryValue for a setting's value under Parameters."""
    side, value = KEYS[name]
    key = SERVER_PARAMETERS_RSOP if side == "server" else CLIENT_PARAMETERS_RSOP
    return {
        "class": "RSOP_RegistryValue",
        "path": key + "\\" + value,
        "data": "1",
        "gpo_id": gpo_id,
        "gpo_name": gpo_name,
    }


def rsop_policy(name: str, gpo_name: str = "SMB audit", gpo_id: str = "{GPO-2}") -> Dict[str, Any]:
    """A winning RSOP_RegistryPolicySetting for an audit setting's Policies value."""
    side, value = KEYS[name]
    return {
        "class": "RSOP_RegistryPolicySetting",
        "key": POLICY_KEYS[side],
        "value_name": value,
        "data": 1,
        "gpo_id": gpo_id,
        "gpo_name": gpo_name,
    }


def peer(
    name: str,
    count: int,
    last: str = "2026-11-24T10:00:00.0000000Z",
    peer_field: str = "ClientName",
) -> Dict[str, Any]:
    return {"peer": name, "count": count, "last": last, "peer_field": peer_field}


def log(
    *,
    available: bool = True,
    error: Optional[str] = None,
    peers: Sequence[PeerSpec] = (),
    count: Optional[int] = None,
    peers_total: Optional[int] = None,
    truncated: bool = False,
    ids: Optional[Mapping[str, int]] = None,
) -> Dict[str, Any]:
    """One side's audit log; count and peers_total default to what the peers add up to, and the
    events per id to all of them under one id."""
    items: List[Dict[str, Any]] = []
    for p in peers:
        if isinstance(p, Mapping):
            items.append(dict(p))
        else:
            items.append(peer(*p))
    total = sum(int(p["count"]) for p in items) if count is None else count
    return {
        "available": available,
        "error": error,
        "count": total,
        "peers_total": len(items) if peers_total is None else peers_total,
        "peers": items,
        "truncated": truncated,
        "ids": dict(ids) if ids is not None else ({"3021": total} if total else {}),
    }


def events(
    server: Optional[Mapping[str, Any]] = None, client: Optional[Mapping[str, Any]] = None
) -> Dict[str, Any]:
    return {"server": dict(server or log()), "client": dict(client or log())}


def _configs(
    settings: Mapping[str, bool], audit_parameters: bool
) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    server: Dict[str, Any] = {
        "RequireSecuritySignature": False,
        "EnableSecuritySignature": False,
        "EnableSMB1Protocol": False,
    }
    client: Dict[str, Any] = {"RequireSecuritySignature": False, "EnableSecuritySignature": True}
    if audit_parameters:
        server[SERVER_AUDIT] = False
        client[CLIENT_AUDIT] = False
    for name, value in settings.items():
        side, prop = KEYS[name]
        (server if side == "server" else client)[prop] = value
    return server, client


def _merge(base: Dict[str, Any], extra: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    for k, v in (extra or {}).items():
        if v is ABSENT:
            base.pop(k, None)
        else:
            base[k] = v
    return base


def _stored_settings(settings: Mapping[str, bool]) -> Dict[str, Dict[str, Stored]]:
    out: Dict[str, Dict[str, Stored]] = {"server": {}, "client": {}}
    for name, value in settings.items():
        side, prop = KEYS[name]
        out[side][prop] = int(value)
    return out


def read_state(
    *,
    computer_name: str = "HOST01",
    os: Union[str, Mapping[str, Any]] = "ws2022",
    domain_role: Any = 3,
    settings: Optional[Mapping[str, bool]] = None,
    store: bool = True,
    registry_values: Optional[Mapping[str, Mapping[str, Stored]]] = None,
    server_config: Optional[Mapping[str, Any]] = None,
    client_config: Optional[Mapping[str, Any]] = None,
    audit_parameters: bool = True,
    parameters: Optional[Mapping[str, Iterable[str]]] = None,
    rsop_available: bool = True,
    rsop_error: Optional[str] = None,
    rsop_entries: Sequence[Mapping[str, Any]] = (),
    events: Optional[Mapping[str, Any]] = None,
    marker: Optional[str] = None,
) -> Dict[str, Any]:
    """A read_state v2 answer.

    settings: setting name -> value as the Set- cmdlets leave it: the cmdlet view shows it and,
    with store (the default), Parameters holds it as a DWord. registry_values (group -> value
    name -> int/dict/None), server_config and client_config (ABSENT drops a property) are laid
    over that. audit_parameters: the host's cmdlets have both audit parameters (and show both
    properties); parameters replaces the parameter lists outright.
    """
    settings = dict(settings or {})
    server_cfg, client_cfg = _configs(settings, audit_parameters)
    groups: Dict[str, Dict[str, Stored]] = _stored_settings(settings) if store else {}
    for group, values in (registry_values or {}).items():
        groups.setdefault(group, {}).update(values)
    if parameters is None:
        params = (
            {"server": [SERVER_AUDIT], "client": [CLIENT_AUDIT]}
            if audit_parameters
            else {"server": [], "client": []}
        )
    else:
        params = {side: list(names) for side, names in parameters.items()}
    return {
        "op": "read_state",
        "v": 2,
        "computer_name": computer_name,
        "os": dict(OS[os]) if isinstance(os, str) else dict(os),
        "domain_role": domain_role,
        "registry": registry(**groups),
        "server_config": _merge(server_cfg, server_config),
        "client_config": _merge(client_cfg, client_config),
        "parameters": params,
        "rsop": {
            "available": rsop_available,
            "error": rsop_error,
            "entries": [dict(e) for e in rsop_entries],
        },
        "events": copy.deepcopy(dict(events)) if events is not None else None,
        "markers": {"audit_unsigned_clients_since": marker},
    }


def write_result(
    side: str, prop: str, value: bool, ok: bool = True, error: Optional[str] = None
) -> Dict[str, Any]:
    return {"side": side, "property": prop, "value": value, "ok": ok, "error": error}


def apply(
    *,
    results: Sequence[Mapping[str, Any]] = (),
    settings: Optional[Mapping[str, bool]] = None,
    store: bool = True,
    registry_values: Optional[Mapping[str, Mapping[str, Stored]]] = None,
    server_config: Optional[Mapping[str, Any]] = None,
    client_config: Optional[Mapping[str, Any]] = None,
    marker: Optional[str] = None,
    marker_error: Optional[str] = None,
) -> Dict[str, Any]:
    """An apply v2 answer: each write's report and the read-back (same knobs as read_state)."""
    settings = dict(settings or {})
    server_cfg, client_cfg = _configs(settings, True)
    groups: Dict[str, Dict[str, Stored]] = _stored_settings(settings) if store else {}
    for group, values in (registry_values or {}).items():
        groups.setdefault(group, {}).update(values)
    return {
        "op": "apply",
        "v": 2,
        "results": [dict(r) for r in results],
        "server_config": _merge(server_cfg, server_config),
        "client_config": _merge(client_cfg, client_config),
        "registry": registry(**groups),
        "markers": {"audit_unsigned_clients_since": marker},
        "marker_error": marker_error,
    }


def state(**knobs: Any) -> read.TargetState:
    return read.parse_read_state(read_state(**knobs))


def outcome(**knobs: Any) -> read.ApplyOutcome:
    return read.parse_apply(apply(**knobs))


ALL_ON = {name: True for name in KEYS}
# The cis baseline's targets, written out: every setting on.
CIS = dict(ALL_ON)


def probe_answer(
    required: Optional[bool],
    *,
    reachable: bool = True,
    error: Optional[str] = None,
    detail: Optional[str] = None,
    address: str = "host01",
    port: int = 445,
) -> Dict[str, Any]:
    """What the wire probe hands the engine (ProbeResult.to_dict, the fields it reads)."""
    return {
        "address": address,
        "port": port,
        "reachable": reachable,
        "dialect": "3.1.1" if required is not None else None,
        "signing_enabled": True if required is not None else None,
        "signing_required": required,
        "error": error,
        "detail": detail,
    }


def assessed(
    *,
    baseline: str = "cis",
    targets: Optional[Mapping[str, Optional[bool]]] = None,
    probe: Optional[Mapping[str, Any]] = None,
    window_start: Optional[str] = None,
    **knobs: Any,
) -> assess.HostAssessment:
    """assess() of read_state(**knobs), against the cis targets unless given."""
    return assess.assess(
        state(**knobs),
        baseline=baseline,
        targets=CIS if targets is None else targets,
        probe=probe,
        window_start=window_start,
    )


def _with_defaults(
    spec: Mapping[str, Mapping[str, Any]], args: Mapping[str, Any]
) -> Dict[str, Any]:
    out = {name: opt.get("default") for name, opt in spec.items()}
    out.update(args)
    return out


def enforce_options(
    *, check_mode: bool = False, probe: bool = False, now: datetime = NOW, **args: Any
) -> TaskOptions:
    """win_smb_signing's options: the spec's defaults (as Ansible fills them in), then args."""
    full = _with_defaults(ENFORCE_ARGUMENT_SPEC, {"probe": probe, **args})
    return parse_options(full, check_mode=check_mode, default_probe_address="host01", now=now)


def facts_options(*, probe: bool = False, now: datetime = NOW, **args: Any) -> TaskOptions:
    """win_smb_signing_facts's options, as enforce_options."""
    full = _with_defaults(FACTS_ARGUMENT_SPEC, {"probe": probe, **args})
    return parse_options(full, check_mode=False, default_probe_address="host01", now=now)
