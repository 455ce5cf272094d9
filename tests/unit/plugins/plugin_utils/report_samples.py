"""Facts in the shape of docs/facts-schema.md, for the report tests.

Built by hand rather than taken from the lab, so the report tests do not depend on the lab's
OS tables; the integration tests compare the report with the lab's real facts.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from ansible_collections.winhardening.smb.plugins.module_utils import catalog


def _benchmarks(setting: catalog.Setting) -> Dict[str, Optional[str]]:
    """settings.<name>.benchmarks as the facts give them, for the sample's Windows Server 2022."""
    rule = setting.stig.get("windows_server_2022")
    return {
        "cis": setting.cis,
        "stig": rule.rule_id if rule else None,
        "stig_vuln_id": rule.v_id if rule else None,
        "cce": setting.cce,
    }


def make_facts(
    name: str,
    profile: str = "member_server",
    *,
    values: Optional[Dict[str, Optional[bool]]] = None,
    expected: Optional[Dict[str, Optional[bool]]] = None,
    gpo: Optional[Dict[str, str]] = None,
    wire_required: Optional[bool] = None,
    smb1: bool = False,
    unsigned_peers: Optional[Dict[str, int]] = None,
    status: Optional[str] = None,
) -> Dict[str, Any]:
    """One host's ansible_facts.smb_signing; the verdict is computed the simple way (a miss or a
    wire contradiction is noncompliant, nothing judged is unverified), unless status is given."""
    values = {s.name: False for s in catalog.SETTINGS} | (values or {})
    expected = {s.name: True for s in catalog.SETTINGS} | (expected or {})
    gpo = gpo or {}
    settings = {}
    for s in catalog.SETTINGS:
        want, have = expected[s.name], values[s.name]
        compliant = None if want is None or have is None else want == have
        settings[s.name] = {
            "display_name": s.display_name,
            "supported": have is not None,
            "registry": None,
            "policy_registry": None,
            "cmdlet_value": have,
            "value": have,
            "owner": "gpo" if s.name in gpo else "local",
            "gpo": {"name": gpo[s.name], "id": "{00000000-0000-0000-0000-000000000001}"}
            if s.name in gpo
            else None,
            "os_default": False,
            "expected": want,
            "compliant": compliant,
            "reason": f"{s.name}: want {want}, have {have}",
            "smb1_only": s.smb1_only,
            "benchmarks": _benchmarks(s),
        }
    noncompliant = [n for n, d in settings.items() if d["compliant"] is False]
    peers = unsigned_peers or {}
    observed = None
    if wire_required is not None:
        observed = {
            "address": "127.0.0.1",
            "port": 445,
            "reachable": True,
            "dialect": "3.1.1",
            "signing_enabled": True,
            "signing_required": wire_required,
            "error": None,
            "agrees_with_config": wire_required == values["server_require"],
            "message": None
            if wire_required == values["server_require"]
            else "the wire says required={} but the configuration says {}".format(
                wire_required, values["server_require"]
            ),
        }
    verdict = "compliant"
    if all(d["compliant"] is None for d in settings.values()):
        verdict = "unverified"
    if noncompliant or (observed is not None and observed["agrees_with_config"] is False):
        verdict = "noncompliant"
    return {
        "schema_version": 2,
        "status": status or verdict,
        "status_reasons": []
        if (status or verdict) == "compliant"
        else [f"{name} is {status or verdict}"],
        "verdict": verdict,
        "computer_name": name.upper(),
        "os": {"caption": "Microsoft Windows Server 2022", "family": "windows_server_2022"},
        "domain_role": 3,
        "profile": profile,
        "baseline": "cis",
        "settings": settings,
        "smb1": {"server_enabled": smb1},
        "audit": {
            "supported": {"server": True, "client": True},
            "events": {
                "since": "2026-11-17T00:00:00Z",
                "server": {
                    "available": True,
                    "count": sum(peers.values()),
                    "peers": [
                        {"peer": p, "count": c, "last": "2026-11-24T10:00:00Z"}
                        for p, c in peers.items()
                    ],
                },
                "client": {"available": True, "count": 0, "peers": []},
            },
        },
        "posture": {
            "server": {
                # The engine takes the server side from the wire where there is an answer.
                "requires_signing_smb2": (
                    values["server_require"] if wire_required is None else wire_required
                ),
                "requires_signing_smb1": (
                    values["server_require"] if wire_required is None else wire_required
                ),
            },
            "client": {
                "requires_signing_smb2": values["client_require"],
                "requires_signing_smb1": values["client_require"],
            },
        },
        "compliant": not noncompliant,
        "noncompliant": noncompliant,
        "observed": observed,
        "warnings": [],
    }


ALL_ON = {s.name: True for s in catalog.SETTINGS}
