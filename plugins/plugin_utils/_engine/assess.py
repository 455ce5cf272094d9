# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's state and verdict, derived once per state: every setting's value in force, owner,
OS default and verdict; the client x server posture; the wire; and the host's status.

FOR INTERNAL COLLECTION USE ONLY.

The status never claims more than the evidence: a wire answer that contradicts the
configuration makes the host noncompliant, and missing evidence (no wire answer, an owner RSoP
could not name) makes it unverified, with the missing piece named.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.winhardening.smb.plugins.module_utils import (
    compliance,
    defaults,
    domain_role,
    effective,
)
from ansible_collections.winhardening.smb.plugins.module_utils.catalog import SETTINGS, Setting
from ansible_collections.winhardening.smb.plugins.module_utils.os_info import OsInfo

from .read import AuditLog, RegistryValue, RsopEntry, TargetState
from .waivers import AppliedWaiver

OWNER_LOCAL = "local"
OWNER_GPO = "gpo"
OWNER_DEFAULT = "default"
OWNER_UNKNOWN = "unknown"

COMPLIANT = "compliant"
NONCOMPLIANT = "noncompliant"
UNVERIFIED = "unverified"
WAIVED = "waived"

# Read and shown, never counted as signing audit (SpnAuditValue).
SPN_AUDIT_VALUE = "AuditClientSpnSupport"

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
class SettingAssessment:
    """One setting on one host: stored, in force, owned by whom, and judged how."""

    setting: Setting
    # The host has the setting (the cmdlet's parameter, or for an audit setting a stored value
    # the SMB service reads); writable: the cmdlet has the parameter.
    supported: bool
    writable: bool
    registry: Optional[RegistryValue]
    policy_registry: Optional[RegistryValue]
    cmdlet_value: Optional[bool]
    value: Optional[bool]
    owner: str
    gpo: Optional[GpoRef]
    os_default: bool
    expected: Optional[bool]
    compliant: Optional[bool]
    reason: str
    # The waiver that stands for this setting on this host, running or expired.
    waiver: Optional[AppliedWaiver] = None
    # The value the owning GPO sets, where its RSoP entry says (None: not a GPO, or not read).
    gpo_value: Optional[bool] = None

    @property
    def name(self) -> str:
        return self.setting.name

    @property
    def waived(self) -> bool:
        """A running waiver covers the setting: it is not judged, and enforce leaves it."""
        return self.waiver is not None and self.waiver.active

    @property
    def waived_miss(self) -> bool:
        """Waived, and its value misses the target: what makes the host waived."""
        return (
            self.waived
            and self.value is not None
            and self.expected is not None
            and self.value != self.expected
        )

    @property
    def judged(self) -> bool:
        return self.compliant is not None

    @property
    def policy_value(self) -> Optional[bool]:
        """The Policies value (audit settings), which outranks anything a write can change."""
        return _registry_bool(self.policy_registry)

    @property
    def owner_label(self) -> str:
        if self.owner == OWNER_GPO and self.gpo is not None:
            return f"GPO {self.gpo.label}"
        return self.owner


@dataclass(frozen=True)
class WireObservation:
    """The SMB negotiate from the controller and whether it agrees with the configuration."""

    address: str
    port: int
    reachable: bool
    dialect: Optional[str]
    signing_enabled: Optional[bool]
    signing_required: Optional[bool]
    error: Optional[str]
    detail: Optional[str]
    agrees_with_config: Optional[bool]
    message: Optional[str]

    @property
    def answered(self) -> bool:
        return self.reachable and self.signing_required is not None

    @property
    def where(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True)
class AuditEvidence:
    """The audit logs over the window, and since when the host's record says server-side
    auditing has been on (None: no record)."""

    window_start: str
    server: AuditLog
    client: AuditLog
    audit_on_since: Optional[str]


@dataclass(frozen=True)
class Finding:
    """One reason a host is not compliant: what it is about (a setting's name, "wire",
    "owner" or "judged") and what it says."""

    status: str
    subject: str
    text: str


@dataclass(frozen=True)
class Verdict:
    """compliant, noncompliant or unverified, and every finding (none when compliant)."""

    status: str
    findings: Tuple[Finding, ...] = ()

    @property
    def reasons(self) -> Tuple[str, ...]:
        return tuple(f.text for f in self.findings)


@dataclass(frozen=True)
class SpnAuditValue:
    """AuditClientSpnSupport under LanmanServer\\Parameters and its Policies twin. KB5066913
    lists it beside the signing audit policy, but what it turns on (signing or EPA auditing) is
    not documented (docs/dev/windows-behaviour.md, REG-8): it is shown, and named when the gate
    waits for signing audit, but never counted as signing audit, since a wrong yes would trust
    a log that cannot show unsigned clients."""

    registry: Optional[RegistryValue]
    policy_registry: Optional[RegistryValue]

    def _in_force(self) -> Tuple[Optional[str], Optional[bool]]:
        """(key, value) in force, as for the audit settings: a Policies value decides when
        present, else the Parameters value (REG-4); (None, None) when neither is a number."""
        for key, stored in (
            ("Policies\\Microsoft\\Windows\\LanmanServer", self.policy_registry),
            ("LanmanServer\\Parameters", self.registry),
        ):
            value = _registry_bool(stored)
            if value is not None:
                return key, value
        return None, None

    @property
    def where(self) -> Optional[str]:
        return self._in_force()[0]

    @property
    def enabled(self) -> bool:
        return bool(self._in_force()[1])


@dataclass(frozen=True)
class HostAssessment:
    computer_name: str
    os: Mapping[str, Any] = field(hash=False)
    os_info: OsInfo = field(hash=False)
    domain_role: int
    profile: str
    baseline: str
    # The target of each setting for this host (None: not judged), as assessed.
    targets: Mapping[str, Optional[bool]] = field(hash=False)
    settings: Mapping[str, SettingAssessment] = field(hash=False)
    smb1_server_enabled: Optional[bool]
    rsop_available: bool
    rsop_error: Optional[str]
    audit: Optional[AuditEvidence]
    audit_on_since: Optional[str]
    spn_audit: SpnAuditValue
    wire: Optional[WireObservation]
    verdict: Verdict

    def value(self, name: str) -> Optional[bool]:
        return self.settings[name].value

    def with_wire(self, probe: Optional[Mapping[str, Any]]) -> HostAssessment:
        """This assessment with the probe's answer: the wire and the verdict, nothing else."""
        wire = observe_wire(probe, self.settings["server_require"].value)
        return replace(self, wire=wire, verdict=judge(self.settings, wire, self.rsop_error))

    def values(self) -> Dict[str, Optional[bool]]:
        return {name: s.value for name, s in self.settings.items()}

    def posture(self) -> Dict[str, Dict[str, Any]]:
        """This host's signing as a server and as a client, from the seed's tables.

        "Requires" is asked of the tables against a peer that does not require signing
        (SMB2/3, where only the "always" settings count) and against an SMB1 peer that cannot
        sign. The server side uses the wire's answer where there is one: that is what a client,
        or an attacker relaying to it, meets.
        """

        def val(name: str) -> bool:
            return bool(self.settings[name].value)

        server_require = val("server_require")
        source = "configuration"
        if self.wire is not None and self.wire.answered:
            server_require = bool(self.wire.signing_required)
            source = "wire"
        return {
            "server": {
                "requires_signing_smb2": effective.effective_signing(False, server_require),
                "requires_signing_smb1": effective.effective_signing_smb1(
                    False, False, val("server_enable"), server_require
                )
                == effective.REFUSED,
                "from": source,
            },
            "client": {
                "requires_signing_smb2": effective.effective_signing(val("client_require"), False),
                "requires_signing_smb1": effective.effective_signing_smb1(
                    val("client_enable"), val("client_require"), False, False
                )
                == effective.REFUSED,
                "from": "configuration",
            },
        }


def _registry_bool(value: Optional[RegistryValue]) -> Optional[bool]:
    """A DWORD (or QWORD) as on/off; any other kind is not a value the SMB service reads as one
    (docs/dev/windows-behaviour.md), so it decides nothing."""
    if value is None or value.type not in ("DWord", "QWord"):
        return None
    data = value.data
    if isinstance(data, bool) or not isinstance(data, int):
        return None
    return data != 0


def _rsop_bool(data: Any) -> Optional[bool]:
    """An RSoP entry's data as on/off: RSOP_RegistryValue gives text ("1"), the policy class a
    number; anything else is not read as a value."""
    if isinstance(data, str) and data.strip().isdigit():
        return int(data) != 0
    if isinstance(data, int) and not isinstance(data, bool):
        return data != 0
    return None


def _winning_entry(s: Setting, entries: Iterable[RsopEntry]) -> Optional[RsopEntry]:
    """The GPO entry that delivers this setting, through either channel: Security Options
    (RSOP_RegistryValue, by full path) or Administrative Templates (RSOP_RegistryPolicySetting,
    by key and value name), whose key is the Policies key or, as Set-GPRegistryValue writes
    it, the Parameters key itself."""
    target = normalize_key(s.registry_path)
    keys = {normalize_key(s.registry_key)}
    if s.policy_registry_key:
        keys.add(normalize_key(s.policy_registry_key))
    for entry in entries:
        if entry.cls == "RSOP_RegistryValue" and entry.path:
            if normalize_key(entry.path) == target:
                return entry
        elif (
            entry.cls == "RSOP_RegistryPolicySetting"
            and entry.key
            and normalize_key(entry.key) in keys
            and (entry.value_name or "").lower() == s.registry_value.lower()
        ):
            return entry
    return None


def _owner(
    s: Setting, state: TargetState, stored: bool
) -> Tuple[str, Optional[GpoRef], Optional[bool]]:
    """(owner, GPO, the GPO's value). A winning RSoP entry means Group Policy re-applies its
    value, whatever is stored now; a stored value without one was set locally; nothing stored
    means the OS default is in force. Without RSoP a stored value's owner is unknown (a GPO
    writes the same registry value a local change does), while nothing stored is still the
    default."""
    if state.rsop.available:
        entry = _winning_entry(s, state.rsop.entries)
        if entry is not None:
            gpo = GpoRef(name=entry.gpo_name, id=entry.gpo_id)
            return OWNER_GPO, gpo, _rsop_bool(entry.data)
    if not stored:
        return OWNER_DEFAULT, None, None
    return (OWNER_LOCAL if state.rsop.available else OWNER_UNKNOWN), None, None


def _in_force(
    s: Setting,
    cmdlet_value: Optional[bool],
    policy: Optional[bool],
    stored: Optional[bool],
    os_default: bool,
) -> Optional[bool]:
    """The value the SMB service uses. An audit setting's policy value outranks the cmdlet's
    (the service reads the Policies key first; docs/dev/windows-behaviour.md); otherwise the
    cmdlet's answer is Microsoft's supported reading (the registry value may be absent while
    signing is on), then the stored value, then the OS default."""
    if policy is not None:
        return policy
    if cmdlet_value is not None:
        return cmdlet_value
    if stored is not None:
        return stored
    return os_default


def _setting(
    s: Setting,
    state: TargetState,
    *,
    os_info: OsInfo,
    profile: str,
    baseline: str,
    target: Optional[bool],
    waiver: Optional[AppliedWaiver] = None,
) -> SettingAssessment:
    registry = state.registry.get(s.side, {}).get(s.registry_value)
    policy = None
    if s.policy_registry_key:
        policy = state.registry.get(s.side + "_policy", {}).get(s.registry_value)
    cmdlet_value = state.config(s.side).get(s.cmdlet_property)
    writable = s.kind != "audit" or s.cmdlet_property in state.parameters.get(s.side, frozenset())
    # Hosts with the KB5066913 back-port may have server-side auditing set by policy or in the
    # registry while the cmdlet lacks the parameter: the service still reads the value.
    supported = writable or cmdlet_value is not None or policy is not None or registry is not None
    os_default = defaults.os_default(s.name, os_info, profile)
    owner, gpo, gpo_value = _owner(s, state, registry is not None or policy is not None)
    value = (
        _in_force(s, cmdlet_value, _registry_bool(policy), _registry_bool(registry), os_default)
        if supported
        else None
    )
    expected = target if supported else None
    # Judged against the target itself, so an unsupported setting the baseline sets reads
    # "required by cis; not supported on this host" (no verdict either way).
    verdict = compliance.evaluate(
        {s.name: value}, {s.name: target}, baseline=baseline, sources={s.name: owner}
    )[s.name]
    compliant, reason = verdict.compliant, verdict.reason
    if waiver is not None and waiver.active and compliant is not None:
        w = waiver.waiver
        compliant = None
        reason = f"waived by {w.owner} until {w.expires.isoformat()}: {w.justification}; {reason}"
    elif waiver is not None and compliant is False:
        reason = f"{reason}; {waiver.waiver.label} has expired"
    return SettingAssessment(
        setting=s,
        supported=supported,
        writable=writable,
        registry=registry,
        policy_registry=policy,
        cmdlet_value=cmdlet_value,
        value=value,
        owner=owner,
        gpo=gpo,
        os_default=os_default,
        expected=expected,
        compliant=compliant,
        reason=reason,
        waiver=waiver,
        gpo_value=gpo_value,
    )


def observe_wire(
    probe: Optional[Mapping[str, Any]], configured: Optional[bool]
) -> Optional[WireObservation]:
    """The probe's answer and whether it agrees with the configured server requirement."""
    if probe is None:
        return None
    wire = probe.get("signing_required")
    reachable = bool(probe.get("reachable"))
    agrees: Optional[bool] = None
    message: Optional[str] = None
    where = "{}:{}".format(probe.get("address"), probe.get("port"))
    if reachable and wire is not None and configured is not None:
        agrees = bool(wire) == configured
        if not agrees:
            message = (
                "configured {} SMB signing, but {} answered the negotiate with signing {} "
                "(dialect {}): another SMB server may own that address or port (a third-party "
                "server, NAT or a port forward), or a change is still pending".format(
                    "to require" if configured else "not to require",
                    where,
                    "NOT required" if configured else "required",
                    probe.get("dialect"),
                )
            )
    return WireObservation(
        address=str(probe.get("address") or ""),
        port=int(probe.get("port") or 0),
        reachable=reachable,
        dialect=probe.get("dialect"),
        signing_enabled=probe.get("signing_enabled"),
        signing_required=wire if isinstance(wire, bool) else None,
        error=probe.get("error"),
        detail=probe.get("detail"),
        agrees_with_config=agrees,
        message=message,
    )


def judge(
    settings: Mapping[str, SettingAssessment],
    wire: Optional[WireObservation],
    rsop_error: Optional[str],
) -> Verdict:
    """The host's verdict: any miss or wire contradiction is noncompliant; otherwise any missing
    evidence is unverified; otherwise compliant."""
    found: List[Finding] = [
        Finding(NONCOMPLIANT, s.name, f"{s.name}: {s.reason}")
        for s in settings.values()
        if s.compliant is False
    ]
    if wire is not None:
        if wire.agrees_with_config is False and wire.message:
            found.append(Finding(NONCOMPLIANT, "wire", "wire: " + wire.message))
        elif not wire.answered:
            found.append(
                Finding(
                    UNVERIFIED,
                    "wire",
                    "wire: the SMB negotiate to {} got no verdict ({}{})".format(
                        wire.where,
                        wire.error or "no answer",
                        f": {wire.detail}" if wire.detail else "",
                    ),
                )
            )
    for s in settings.values():
        # A GPO that sets another value puts it back at the next refresh: the value in force
        # now is not what the host will keep.
        if s.gpo_value is None or s.value is None or s.gpo_value == s.value or s.gpo is None:
            continue
        text = (
            f"{s.name}: GPO {s.gpo.label} sets {s.gpo_value}, not the value in force "
            f"({s.value}); the next policy refresh puts it back"
        )
        misses = s.expected is not None and s.gpo_value != s.expected and not s.waived
        found.append(Finding(NONCOMPLIANT if misses else UNVERIFIED, s.name, text))
    unknown = [
        s.name for s in settings.values() if s.compliant is True and s.owner == OWNER_UNKNOWN
    ]
    if unknown:
        found.append(
            Finding(
                UNVERIFIED,
                "owner",
                "owner unknown for {}: RSoP could not be read ({}), so a GPO may put another "
                "value back".format(", ".join(unknown), rsop_error or "no reason given"),
            )
        )
    waived = [s for s in settings.values() if s.waived_miss and s.waiver is not None]
    if waived:
        names = ", ".join(s.name for s in waived)
        labels = "; ".join(sorted({s.waiver.waiver.label for s in waived if s.waiver}))
        found.append(Finding(WAIVED, "waiver", f"waived: {names} ({labels})"))
    if not any(s.judged or s.waived for s in settings.values()):
        found.append(
            Finding(
                UNVERIFIED, "judged", "no setting was judged: the baseline sets none this host has"
            )
        )
    for status in (NONCOMPLIANT, UNVERIFIED, WAIVED):
        if any(f.status == status for f in found):
            # The worst status first, then every other finding.
            ordered = sorted(found, key=lambda f: f.status != status)
            return Verdict(status, tuple(ordered))
    return Verdict(COMPLIANT)


def assess(
    state: TargetState,
    *,
    baseline: str,
    targets: Mapping[str, Optional[bool]],
    probe: Optional[Mapping[str, Any]] = None,
    window_start: Optional[str] = None,
    waivers: Optional[Mapping[str, AppliedWaiver]] = None,
) -> HostAssessment:
    """The assessment of one state (as read, or after a write). ValueError: an OS or domain
    role this collection does not know."""
    os_info = OsInfo.from_mapping(state.os)
    profile = domain_role.profile_for_domain_role(state.domain_role)
    settings = {
        s.name: _setting(
            s,
            state,
            os_info=os_info,
            profile=profile,
            baseline=baseline,
            target=targets.get(s.name),
            waiver=(waivers or {}).get(s.name),
        )
        for s in SETTINGS
    }
    wire = observe_wire(probe, settings["server_require"].value)
    audit = None
    if state.events is not None and window_start is not None:
        audit = AuditEvidence(
            window_start=window_start,
            server=state.events["server"],
            client=state.events["client"],
            audit_on_since=state.audit_on_since,
        )
    return HostAssessment(
        computer_name=state.computer_name,
        os=state.os,
        os_info=os_info,
        domain_role=state.domain_role,
        profile=profile,
        baseline=baseline,
        targets=dict(targets),
        settings=settings,
        smb1_server_enabled=state.server_config.get("EnableSMB1Protocol"),
        rsop_available=state.rsop.available,
        rsop_error=state.rsop.error,
        audit=audit,
        audit_on_since=state.audit_on_since,
        spn_audit=SpnAuditValue(
            registry=state.registry.get("server", {}).get(SPN_AUDIT_VALUE),
            policy_registry=state.registry.get("server_policy", {}).get(SPN_AUDIT_VALUE),
        ),
        wire=wire,
        verdict=judge(settings, wire, state.rsop.error),
    )
