# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit-first gate: whether server signing may be required on a host now.

FOR INTERNAL COLLECTION USE ONLY.

Microsoft's rollout advice is to audit unsigned peers before requiring signing (KB5066913;
smb-signing-overview, "SMB signing and encryption auditing"): the server audit log
(Microsoft-Windows-SMBServer/Audit, events 3021 and 3022) names the clients that a "server:
always sign" setting would turn away. A log that cannot show them (not available, or auditing
off) proves nothing, so it closes the gate too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional


@dataclass(frozen=True)
class GateClosed:
    """Why server_require is withheld on one host, and the clients named."""

    host: str
    reason: str
    peers: List[str]

    @property
    def message(self) -> str:
        return f"audit-first gate: not requiring server signing on {self.host}: {self.reason}"

    def to_dict(self) -> Dict[str, Any]:
        return {"setting": "server_require", "peers": list(self.peers), "message": self.message}


def _peer_list(peers: List[Mapping[str, Any]]) -> str:
    return ", ".join(
        "{} ({} event{})".format(p["peer"], p["count"], "" if int(p["count"]) == 1 else "s")
        for p in peers
    )


def check_gate(
    host: str,
    *,
    events: Optional[Mapping[str, Any]],
    auditing_on: Optional[bool],
    window: str,
) -> Optional[GateClosed]:
    """None when the gate is open; events is the facts' audit.events (with its server log)."""
    server: Mapping[str, Any] = (events or {}).get("server") or {}
    peers: List[Mapping[str, Any]] = list(server.get("peers") or [])
    since = (events or {}).get("since") or window
    if int(server.get("count") or 0) > 0:
        reason = (
            f"unsigned clients in the SMB server audit log since {since}: {_peer_list(peers)}; "
            "make them sign (or retire them) first"
        )
    elif server.get("available") is not True:
        reason = (
            "the SMB server audit log is not available on this host, so it cannot show unsigned "
            "clients; check the clients another way, then turn the gate off for this host "
            "(require_clean_audit: false; the role: smb_signing_require_clean_audit: false)"
        )
    elif auditing_on is not True:
        reason = (
            "auditing of unsigned clients is off, so a clean log proves nothing; turn it on "
            "(audit_unsigned_clients: true; the role: audit mode with smb_signing_enable_audit: "
            f"true) and wait {window}"
        )
    else:
        return None
    return GateClosed(host, reason, [str(p["peer"]) for p in peers])
