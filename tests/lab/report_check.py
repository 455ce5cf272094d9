"""Compare a host's state in the lab with its row in the collection's fleet report.

The setting-to-property names are the lab's own, written out here rather than imported from the
collection, so that a mistake in either shows. The reliability suite and the bench both use this.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Tuple

from lab.model import HostModel

# Setting name -> (side, Get-Smb*Configuration property).
CONFIG_PROPERTY: Dict[str, Tuple[str, str]] = {
    "server_require": ("server", "RequireSecuritySignature"),
    "server_enable": ("server", "EnableSecuritySignature"),
    "client_require": ("client", "RequireSecuritySignature"),
    "client_enable": ("client", "EnableSecuritySignature"),
    "audit_unsigned_clients": ("server", "AuditClientDoesNotSupportSigning"),
    "audit_unsigned_servers": ("client", "AuditServerDoesNotSupportSigning"),
}


def report_differences(model: HostModel, row: Mapping[str, Any]) -> List[str]:
    """What the report row says that the lab's state does not: setting names, or ``wire``."""
    differences: List[str] = []
    for name, (side, prop) in CONFIG_PROPERTY.items():
        reported = row["settings"][name]
        if prop not in model.properties(side):
            if reported.get("supported") is not False:
                differences.append(f"{name} (reported as supported)")
            continue
        if reported.get("value") != model.config_value(side, prop):
            differences.append(name)
    if (row.get("wire") or {}).get("signing_required") != model.server_requires_signing:
        differences.append("wire")
    return differences
