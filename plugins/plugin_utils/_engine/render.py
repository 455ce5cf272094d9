# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Assessment and decision -> ``ansible_facts.smb_signing``, the result keys and the diff.

FOR INTERNAL COLLECTION USE ONLY. Schema: docs/facts-schema.md.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.winhardening.smb.plugins.module_utils.catalog import SETTINGS

from .assess import AuditEvidence, HostAssessment, SettingAssessment, WireObservation
from .read import AuditLog, RegistryValue

SCHEMA_VERSION = 2

# Every host gets exactly one of these, the same in the facts, the result and the report.
STATUSES = (
    "failed",
    "blocked",
    "unreachable",
    "noncompliant",
    "unverified",
    "waived",
    "compliant",
)
FAILED = "failed"
BLOCKED = "blocked"


def _reg(value: Optional[RegistryValue]) -> Dict[str, Any]:
    return value.to_dict() if value is not None else {"present": False, "type": None, "data": None}


def _benchmarks(s: SettingAssessment, family: str) -> Dict[str, Any]:
    rule = s.setting.stig.get(family)
    return {
        "cis": s.setting.cis,
        "stig": rule.rule_id if rule else None,
        "stig_vuln_id": rule.v_id if rule else None,
        "cce": s.setting.cce,
    }


def _setting_facts(s: SettingAssessment, family: str) -> Dict[str, Any]:
    return {
        "display_name": s.setting.display_name,
        "supported": s.supported,
        "writable": s.writable,
        "registry": _reg(s.registry),
        "policy_registry": _reg(s.policy_registry) if s.setting.policy_registry_key else None,
        "cmdlet_value": s.cmdlet_value,
        "value": s.value,
        "owner": s.owner,
        "gpo": s.gpo.to_dict() if s.gpo else None,
        "os_default": s.os_default,
        "expected": s.expected,
        "compliant": s.compliant,
        "reason": s.reason,
        "smb1_only": s.setting.smb1_only,
        "benchmarks": _benchmarks(s, family),
        "waiver": s.waiver.to_dict() if s.waiver else None,
    }


def _log(log: AuditLog) -> Dict[str, Any]:
    return {
        "available": log.available,
        "error": log.error,
        "count": log.count,
        "peers": [
            {"peer": p.peer, "count": p.count, "last": p.last, "peer_field": p.peer_field}
            for p in log.peers
        ],
        "peers_total": log.peers_total,
        "peers_left_out": log.peers_left_out,
        "truncated": log.truncated,
        "ids": dict(log.ids),
    }


def _events(audit: Optional[AuditEvidence]) -> Optional[Dict[str, Any]]:
    if audit is None:
        return None
    return {"since": audit.window_start, "server": _log(audit.server), "client": _log(audit.client)}


def _waivers(a: HostAssessment) -> List[Dict[str, Any]]:
    """Each waiver that stands for this host (running or expired), once."""
    seen: Dict[int, Dict[str, Any]] = {}
    for s in a.settings.values():
        if s.waiver is not None:
            seen.setdefault(s.waiver.waiver.index, s.waiver.to_dict())
    return [seen[i] for i in sorted(seen)]


def wire_facts(wire: Optional[WireObservation]) -> Optional[Dict[str, Any]]:
    if wire is None:
        return None
    return {
        "address": wire.address,
        "port": wire.port,
        "reachable": wire.reachable,
        "dialect": wire.dialect,
        "signing_enabled": wire.signing_enabled,
        "signing_required": wire.signing_required,
        "error": wire.error,
        "detail": wire.detail,
        "agrees_with_config": wire.agrees_with_config,
        "message": wire.message,
    }


def facts(
    assessment: HostAssessment,
    *,
    status: Optional[str] = None,
    reasons: Optional[List[str]] = None,
    warnings: Optional[List[str]] = None,
) -> Dict[str, Any]:
    """``ansible_facts.smb_signing`` (docs/facts-schema.md, version 2). status and reasons:
    the task's final status when it is not the assessment's verdict (blocked, failed)."""
    a = assessment
    family = a.os_info.family
    os_facts = dict(a.os)
    os_facts["family"] = family
    final = status or a.verdict.status
    return {
        "schema_version": SCHEMA_VERSION,
        "computer_name": a.computer_name,
        "os": os_facts,
        "domain_role": a.domain_role,
        "profile": a.profile,
        "baseline": a.baseline,
        "status": final,
        "status_reasons": list(reasons if reasons is not None else a.verdict.reasons),
        "verdict": a.verdict.status,
        "compliant": final == "compliant",
        "noncompliant": [s.name for s in a.settings.values() if s.compliant is False],
        "settings": {s.name: _setting_facts(a.settings[s.name], family) for s in SETTINGS},
        "smb1": {"server_enabled": a.smb1_server_enabled},
        "audit": {
            "supported": {
                "server": a.settings["audit_unsigned_clients"].supported,
                "client": a.settings["audit_unsigned_servers"].supported,
            },
            "auditing_on_since": a.audit_on_since,
            "events": _events(a.audit),
            "spn_audit": {
                "registry": _reg(a.spn_audit.registry),
                "policy_registry": _reg(a.spn_audit.policy_registry),
                "enabled": a.spn_audit.enabled,
            },
        },
        "rsop": {"available": a.rsop_available, "error": a.rsop_error},
        "posture": a.posture(),
        "observed": wire_facts(a.wire),
        "waivers": _waivers(a),
        "warnings": list(warnings or []),
    }


def _label(value: Optional[bool]) -> str:
    if value is None:
        return "Not supported"
    return "Enabled" if value else "Disabled"


def settings_result(
    desired: Mapping[str, Optional[bool]], before: HostAssessment, after: HostAssessment
) -> Dict[str, Any]:
    """Per setting: managed, before and after (the read-back), changed, and the owner after and
    before (what a report keeps so that a rollback can restore exactly this run's changes)."""
    out: Dict[str, Any] = {}
    for s in SETTINGS:
        was, now = before.settings[s.name], after.settings[s.name]
        out[s.name] = {
            "display_name": s.display_name,
            "managed": desired.get(s.name) is not None,
            "before": was.value,
            "after": now.value,
            "changed": was.value != now.value,
            "owner": now.owner,
            "owner_before": was.owner,
            "gpo": now.gpo.to_dict() if now.gpo else None,
        }
    return out


def diff(
    host: str, desired: Mapping[str, Optional[bool]], before: HostAssessment, after: HostAssessment
) -> Dict[str, Any]:
    managed = [s for s in SETTINGS if desired.get(s.name) is not None]
    return {
        "before_header": f"{host} (before)",
        "after_header": f"{host} (after)",
        "before": {s.display_name: _label(before.value(s.name)) for s in managed},
        "after": {s.display_name: _label(after.value(s.name)) for s in managed},
    }
