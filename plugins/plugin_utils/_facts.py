# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn a read_state answer into per-setting views and the ``smb_signing`` facts.

FOR INTERNAL COLLECTION USE ONLY.

Both action plugins judge a host from the same views, so the facts and the enforcer can never
disagree about what is in force or who owns it. Schema: docs/facts-schema.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Dict, Iterable, List, Mapping, Optional

from ansible_collections.winhardening.smb.plugins.module_utils import (
    compliance,
    defaults,
    domain_role,
    effective,
)
from ansible_collections.winhardening.smb.plugins.module_utils.catalog import SETTINGS, Setting
from ansible_collections.winhardening.smb.plugins.module_utils.os_info import OsInfo

from ._overrides import wanted_values
from ._target_state import AuditLog, RegistryValue, RsopEntry, TargetState

SCHEMA_VERSION = 1

SOURCE_LOCAL = "local"
SOURCE_GPO = "gpo"
SOURCE_DEFAULT = "default"

_HIVE_PREFIXES = ("hkey_local_machine\\", "hklm:\\", "hklm\\", "machine\\")


def normalize_key(path: str) -> str:
    """A registry path without its hive prefix, lower-cased: RSoP writes MACHINE\\System\\...,
    the catalog HKLM\\SYSTEM\\..., and Windows compares registry names case-insensitively."""
    text = path.strip().lower()
    for prefix in _HIVE_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


@dataclass(frozen=True)
class GpoRef:
    name: Optional[str]
    id: Optional[str]

    def to_dict(self) -> Dict[str, Optional[str]]:
        return {"name": self.name, "id": self.id}

    @property
    def label(self) -> str:
        if self.name and self.id:
            return f"{self.name} {self.id}"
        return self.name or self.id or "an unnamed GPO"


@dataclass(frozen=True)
class SettingView:
    """One setting on one host: what is stored, what is in force and who owns it."""

    setting: Setting
    supported: bool
    registry: Optional[RegistryValue]
    policy_registry: Optional[RegistryValue]
    cmdlet_value: Optional[bool]
    value: Optional[bool]
    source: str
    gpo: Optional[GpoRef]
    os_default: bool

    @property
    def name(self) -> str:
        return self.setting.name


def _registry_bool(value: Optional[RegistryValue]) -> Optional[bool]:
    if value is None or isinstance(value.data, bool) or not isinstance(value.data, int):
        return None
    return value.data != 0


def _winning_entry(s: Setting, entries: Iterable[RsopEntry]) -> Optional[RsopEntry]:
    target = normalize_key(s.registry_path)
    policy_key = normalize_key(s.policy_registry_key) if s.policy_registry_key else None
    for entry in entries:
        if entry.cls == "RSOP_RegistryValue" and entry.path:
            if normalize_key(entry.path) == target:
                return entry
        elif (
            entry.cls == "RSOP_RegistryPolicySetting"
            and policy_key
            and entry.key
            and (
                normalize_key(entry.key) == policy_key
                and (entry.value_name or "").lower() == s.registry_value.lower()
            )
        ):
            return entry
    return None


def setting_views(state: TargetState, os_info: OsInfo, profile: str) -> Dict[str, SettingView]:
    """A view of every catalog setting, keyed by setting name."""
    views = {}
    for s in SETTINGS:
        group = state.registry.get(s.side, {})
        registry = group.get(s.registry_value)
        policy = None
        if s.policy_registry_key:
            policy = state.registry.get(s.side + "_policy", {}).get(s.registry_value)
        config = state.config(s.side)
        cmdlet_value = config.get(s.cmdlet_property)
        if s.kind == "audit":
            supported = s.cmdlet_property in state.parameters.get(s.side, frozenset())
        else:
            supported = True
        os_default = defaults.os_default(s.name, os_info, profile)
        entry = _winning_entry(s, state.rsop.entries)
        # Ownership: a winning RSoP entry means Group Policy will re-apply its value; a stored
        # value without one was set locally; nothing stored means the OS default is in force.
        if entry is not None:
            source, gpo = SOURCE_GPO, GpoRef(name=entry.gpo_name, id=entry.gpo_id)
        elif registry is not None or policy is not None:
            source, gpo = SOURCE_LOCAL, None
        else:
            source, gpo = SOURCE_DEFAULT, None
        # In force: the cmdlet's answer (Microsoft's supported reading, PrivescCheck#55 shows the
        # registry value may be absent while signing is on); else the policy value, which the
        # SMB services read before Parameters for the audit settings (UNCONFIRMED); else the
        # stored value; else the OS default.
        value: Optional[bool]
        if not supported:
            value = None
        elif cmdlet_value is not None:
            value = cmdlet_value
        else:
            stored = _registry_bool(policy)
            if stored is None:
                stored = _registry_bool(registry)
            value = os_default if stored is None else stored
        views[s.name] = SettingView(
            setting=s,
            supported=supported,
            registry=registry,
            policy_registry=policy,
            cmdlet_value=cmdlet_value,
            value=value,
            source=source,
            gpo=gpo,
            os_default=os_default,
        )
    return views


def current_values(views: Mapping[str, SettingView]) -> Dict[str, Optional[bool]]:
    return {name: view.value for name, view in views.items()}


def posture(views: Mapping[str, SettingView]) -> Dict[str, Dict[str, bool]]:
    """This host's signing as a server and as a client, from the seed's tables.

    "Requires" is asked of the tables against a peer that does not require signing (SMB2/3,
    where only the "always" settings count) and against an SMB1 peer that cannot sign (where a
    requiring side refuses the session).
    """

    def val(name: str) -> bool:
        return bool(views[name].value)

    return {
        "server": {
            "requires_signing_smb2": effective.effective_signing(False, val("server_require")),
            "requires_signing_smb1": effective.effective_signing_smb1(
                False, False, val("server_enable"), val("server_require")
            )
            == effective.REFUSED,
        },
        "client": {
            "requires_signing_smb2": effective.effective_signing(val("client_require"), False),
            "requires_signing_smb1": effective.effective_signing_smb1(
                val("client_enable"), val("client_require"), False, False
            )
            == effective.REFUSED,
        },
    }


def _reg_dict(value: Optional[RegistryValue]) -> Dict[str, Any]:
    return value.to_dict() if value is not None else {"present": False, "type": None, "data": None}


def events_facts(since: Optional[str], events: Optional[Mapping[str, AuditLog]]) -> Any:
    if since is None or events is None:
        return None
    out: Dict[str, Any] = {"since": since}
    for side, log in events.items():
        peers: Dict[str, Dict[str, Any]] = {}
        for ev in log.sample:
            peer = peers.setdefault(ev.peer, {"peer": ev.peer, "count": 0, "last": ev.time})
            peer["count"] += 1
            peer["last"] = max(peer["last"], ev.time)
        out[side] = {
            "available": log.available,
            "count": log.count,
            "sampled": len(log.sample),
            "peers": sorted(peers.values(), key=lambda p: (-p["count"], p["peer"])),
        }
    return out


def observed_facts(
    probe: Optional[Mapping[str, Any]], views: Mapping[str, SettingView]
) -> Optional[Dict[str, Any]]:
    """The wire check, and whether it agrees with the configured server requirement."""
    if probe is None:
        return None
    configured = views["server_require"].value
    wire = probe.get("signing_required")
    reachable = bool(probe.get("reachable")) and wire is not None
    out: Dict[str, Any] = {
        "address": probe.get("address"),
        "port": probe.get("port"),
        "reachable": bool(probe.get("reachable")),
        "dialect": probe.get("dialect"),
        "signing_enabled": probe.get("signing_enabled"),
        "signing_required": wire,
        "error": probe.get("error"),
        "detail": probe.get("detail"),
        "agrees_with_config": None,
        "message": None,
    }
    if not reachable or configured is None:
        return out
    out["agrees_with_config"] = bool(wire) == configured
    if not out["agrees_with_config"]:
        where = "{}:{}".format(probe.get("address"), probe.get("port"))
        if configured:
            out["message"] = (
                f"configured to require SMB signing, but {where} answered the negotiate with "
                f"signing NOT required (dialect {probe.get('dialect')}): another SMB server may "
                "own that address or port (a third-party server, NAT or a port forward), or a "
                "change is still pending"
            )
        else:
            out["message"] = (
                "configured not to require SMB signing, but {} answered the negotiate with "
                "signing required (dialect {}): another SMB server may own that address or "
                "port, or a change is still pending".format(where, probe.get("dialect"))
            )
    return out


def written_views(
    views: Mapping[str, SettingView], written: Mapping[str, Optional[bool]]
) -> Dict[str, SettingView]:
    """The views after a write, from the apply script's read-back: no second read of the host.

    The read-back is the cmdlets' own answer (value and cmdlet_value). A setting that was at its
    OS default is set locally from then on; a GPO still owns what it owned. The registry fields
    stay as the read before the write saw them: where each cmdlet stores each value is not
    confirmed for the audit settings (reference: windows-smb-signing-facts, UNCONFIRMED).
    """
    out = dict(views)
    for name, value in written.items():
        view = views[name]
        if value is None or not view.supported:
            continue
        out[name] = replace(
            view,
            value=value,
            cmdlet_value=value,
            source=SOURCE_GPO if view.source == SOURCE_GPO else SOURCE_LOCAL,
        )
    return out


def build_facts(
    state: TargetState,
    *,
    baseline: str,
    custom: Optional[Mapping[str, Any]],
    events_since: Optional[str],
    probe: Optional[Mapping[str, Any]],
    profile_overrides: Optional[Mapping[str, Any]] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    written: Optional[Mapping[str, Optional[bool]]] = None,
    desired: Optional[Mapping[str, Optional[bool]]] = None,
) -> Dict[str, Any]:
    """``ansible_facts.smb_signing`` for one host (docs/facts-schema.md, version 1).

    written: values a write in this task set (from its read-back), in place of those read.
    desired: the values to judge against, when the caller has worked them out already.
    """
    os_info = OsInfo.from_mapping(state.os)
    profile = domain_role.profile_for_domain_role(state.domain_role)
    views = setting_views(state, os_info, profile)
    if written:
        views = written_views(views, written)
    if desired is None:
        desired = wanted_values(baseline, profile, custom, profile_overrides, overrides)
    current = current_values(views)
    verdicts = compliance.evaluate(
        current,
        desired,
        baseline=baseline,
        sources={name: view.source for name, view in views.items()},
    )
    settings: Dict[str, Any] = {}
    noncompliant: List[str] = []
    for name, view in views.items():
        verdict = verdicts[name]
        if verdict.compliant is False:
            noncompliant.append(name)
        settings[name] = {
            "display_name": view.setting.display_name,
            "supported": view.supported,
            "registry": _reg_dict(view.registry),
            "policy_registry": _reg_dict(view.policy_registry)
            if view.setting.policy_registry_key
            else None,
            "cmdlet_value": view.cmdlet_value,
            "value": view.value,
            "source": view.source,
            "gpo": view.gpo.to_dict() if view.gpo else None,
            "os_default": view.os_default,
            "expected": desired.get(name),
            "compliant": verdict.compliant,
            "reason": verdict.reason,
            "smb1_only": view.setting.smb1_only,
        }
    observed = observed_facts(probe, views)
    warnings: List[str] = []
    if observed is not None and observed["agrees_with_config"] is False:
        warnings.append("{}: {}".format(state.computer_name, observed["message"]))
    os_facts = dict(state.os)
    os_facts["family"] = os_info.family
    return {
        "schema_version": SCHEMA_VERSION,
        "computer_name": state.computer_name,
        "os": os_facts,
        "domain_role": state.domain_role,
        "profile": profile,
        "baseline": baseline,
        "settings": settings,
        "smb1": {"server_enabled": state.server_config.get("EnableSMB1Protocol")},
        "audit": {
            "supported": {
                "server": views["audit_unsigned_clients"].supported,
                "client": views["audit_unsigned_servers"].supported,
            },
            "events": events_facts(events_since, state.events),
        },
        "rsop": {"available": state.rsop.available, "error": state.rsop.error},
        "posture": posture(views),
        "compliant": not noncompliant,
        "noncompliant": noncompliant,
        "observed": observed,
        "warnings": warnings,
    }
