# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit-first gate: whether server signing may be required on a host now.

FOR INTERNAL COLLECTION USE ONLY.

Microsoft's rollout advice is to audit unsigned peers before requiring signing (KB5066913;
smb-signing-overview, "SMB signing and encryption auditing"): the server audit log names the
clients that "server: always sign" would turn away. The gate opens only on evidence: auditing
on, the log readable and empty over the whole window, and the host's record of since when
auditing has been on older than the window's start. Anything less keeps it closed, and the
message says what is missing and, where waiting helps, from when it can open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Optional, Tuple

from .assess import SPN_AUDIT_VALUE, HostAssessment
from .options import AuditWindow
from .read import PeerCount

GATED_SETTING = "server_require"
AUDIT_SETTING = "audit_unsigned_clients"


@dataclass(frozen=True)
class GateClosed:
    """Why server_require is withheld on one host, the clients named, and when it may open."""

    host: str
    reason: str
    peers: Tuple[PeerCount, ...] = ()
    peers_left_out: int = 0
    opens_at: Optional[str] = None

    @property
    def message(self) -> str:
        return f"audit-first gate: not requiring server signing on {self.host}: {self.reason}."

    def to_dict(self) -> Dict[str, Any]:
        return {
            "setting": GATED_SETTING,
            "peers": [{"peer": p.peer, "count": p.count, "last": p.last} for p in self.peers],
            "peers_left_out": self.peers_left_out,
            "opens_at": self.opens_at,
            "message": self.message,
        }


def parse_time(text: str) -> Optional[datetime]:
    """A host's ISO 8601 time ('o' format: seven fractional digits) as an aware UTC datetime."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    head, dot, rest = raw.partition(".")
    if dot:
        # Python takes at most six fractional digits; the offset follows the fraction.
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        raw = head + "." + digits[:6].ljust(6, "0") + rest[len(digits) :]
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _peer_list(peers: Tuple[PeerCount, ...], left_out: int) -> str:
    text = ", ".join(
        "{} ({} event{})".format(p.peer, p.count, "" if p.count == 1 else "s") for p in peers
    )
    if left_out:
        text += f", and {left_out} more peer{'' if left_out == 1 else 's'} not listed"
    return text


def _opens_at(window: AuditWindow, since: datetime) -> Tuple[Optional[str], str]:
    if window.length is None:
        return None, (
            f"the window starts at {window.start_text}, before that; choose a window that "
            "starts after it"
        )
    at = _stamp(since + window.length)
    return at, f"the gate can open from {at} (a window of {window.text})"


def _spn_audit_note(assessment: HostAssessment) -> str:
    """What a host set up by KB5066913's registry table may be missing: AuditClientSpnSupport is
    on, but it is not counted as signing audit (SpnAuditValue)."""
    spn = assessment.spn_audit
    if not spn.enabled:
        return ""
    return (
        f"{SPN_AUDIT_VALUE} is on under {spn.where}, which KB5066913 lists beside the signing "
        "audit policy, but whether it turns on signing or EPA auditing is not documented, so it "
        "is not counted; the policy 'Lanman Server\\Audit client does not support signing' is"
    )


def check_gate(
    host: str,
    assessment: HostAssessment,
    window: AuditWindow,
    *,
    turns_auditing_on: bool,
    now: Optional[datetime] = None,
) -> Optional[GateClosed]:
    """None when the gate is open. turns_auditing_on: this run writes audit_unsigned_clients
    on (and records the time), which starts the wait but proves nothing yet."""
    now = now or datetime.now(timezone.utc)
    audit = assessment.settings[AUDIT_SETTING]
    spn_note = _spn_audit_note(assessment)
    if not audit.supported and spn_note:
        # Likely a KB5066913 host set up by the page's registry row: point at what counts, not
        # at turning the gate off.
        return GateClosed(
            host,
            f"no signing audit value this gate counts is set on this host: {spn_note}; set that "
            f"policy, then wait for the window ({window.text}) to pass",
        )
    if not audit.supported:
        return GateClosed(
            host,
            "this host has no signing audit (Windows Server 2025, Windows 11 24H2, or the "
            "2025-09 update KB5066913 for server-side auditing), so no log can show unsigned "
            "clients; check the clients another way, then turn the gate off for this host "
            "(require_clean_audit: false)",
        )
    if audit.value is not True:
        if turns_auditing_on:
            at, when = _opens_at(window, now)
            return GateClosed(
                host,
                "auditing of unsigned clients was off; this run turns it on and records the "
                f"time, and a log proves nothing until it has covered the window: {when}",
                opens_at=at,
            )
        return GateClosed(
            host,
            "auditing of unsigned clients is off, so a clean log proves nothing; turn it on "
            "(audit_unsigned_clients: true, or enable_audit: true) and wait for the window "
            f"({window.text}) to pass" + (f" ({spn_note})" if spn_note else ""),
        )
    evidence = assessment.audit
    if evidence is None:
        return GateClosed(host, "the SMB server audit log was not read")
    log = evidence.server
    if not log.available:
        return GateClosed(
            host,
            "the SMB server audit log (Microsoft-Windows-SMBServer/Audit) does not exist on "
            "this host, so it cannot show unsigned clients",
        )
    if log.error is not None:
        return GateClosed(host, f"the SMB server audit log could not be read: {log.error}")
    if log.count > 0 or log.peers:
        return GateClosed(
            host,
            "{}{} unsigned-client event{} in the SMB server audit log since {}: {}; make them "
            "sign (or retire them) first".format(
                "at least " if log.truncated else "",
                log.count,
                "" if log.count == 1 else "s",
                evidence.window_start,
                _peer_list(log.peers, log.peers_left_out),
            ),
            peers=log.peers,
            peers_left_out=log.peers_left_out,
        )
    since_text = evidence.audit_on_since
    since = parse_time(since_text) if since_text else None
    if since is None:
        at, when = _opens_at(window, now)
        return GateClosed(
            host,
            "since when auditing has been on is unknown (the host has no record of it{}); "
            "runs that write record it, and {}".format(
                f": {since_text!r} is not a time" if since_text else "", when
            ),
            opens_at=at,
        )
    if since > window.start:
        at, when = _opens_at(window, since)
        return GateClosed(
            host,
            f"auditing has been on only since {_stamp(since)}, after the window's start "
            f"({window.start_text}), so the log does not cover the whole window; {when}",
            opens_at=at,
        )
    return None
