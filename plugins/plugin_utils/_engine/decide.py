# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""From an assessment and the targets to a decision: what to write, what to refuse, the gate,
and the warnings, as data. Nothing here talks to the host.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Mapping, Optional, Tuple

from ansible_collections.winhardening.smb.plugins.module_utils import compliance
from ansible_collections.winhardening.smb.plugins.module_utils.catalog import setting, settings_for
from ansible_collections.winhardening.smb.plugins.module_utils.domain_role import (
    DOMAIN_CONTROLLER,
)

from .assess import OWNER_GPO, OWNER_UNKNOWN, HostAssessment
from .errors import TaskFailed
from .gate import AUDIT_SETTING, GATED_SETTING, GateClosed, check_gate
from .options import TaskOptions

AUDIT_SETTINGS = tuple(s.name for s in settings_for(kind="audit"))
# Where each audit parameter comes from ("SMB signing overview", auditing section; KB5066913,
# which back-ports server-side signing auditing to Windows Server 2012 and later).
AUDIT_AVAILABILITY = {
    "audit_unsigned_clients": (
        "Windows Server 2025 and Windows 11 24H2 add it; the 2025-09-09 update (KB5066913) "
        "back-ports server-side signing auditing to Windows Server 2012 and later"
    ),
    "audit_unsigned_servers": "Windows Server 2025 and Windows 11 24H2 add it",
}
# Group Policy re-applies what it owns: security policy at least every 16 hours even when no GPO
# changed (KB 277543), background refresh about every 5 minutes on domain controllers and about
# every 90 minutes (plus up to 30) on members (the refresh-interval policies' help text).
REFRESH_DC = "about every 5 minutes on domain controllers"
REFRESH_MEMBER = "about every 90 minutes (plus a random offset of up to 30) on member computers"


@dataclass(frozen=True)
class Decision:
    """What this run does to one host, before it does it."""

    desired: Mapping[str, Optional[bool]]
    changes: Tuple[compliance.Change, ...]
    # Changes to settings a GPO owns, or whose owner RSoP could not name (written anyway).
    contested: Tuple[str, ...]
    gate: Optional[GateClosed]
    # The host's record of since when server-side auditing is on: "set" (auditing is on after
    # this run and there is no record), "clear" (it is off and there is one), or None.
    sync_marker: Optional[str]
    warnings: Tuple[str, ...]
    # Rollback: the settings whose value is no longer what the recorded run wrote, left alone.
    left_alone: Tuple[str, ...] = ()

    @property
    def writes(self) -> bool:
        return bool(self.changes) or self.sync_marker is not None

    def planned_writes(self) -> List[Tuple[str, str, bool]]:
        """(side, cmdlet property, value) of each change, for the state check mode shows."""
        return [
            (setting(c.name).side, setting(c.name).cmdlet_property, c.after) for c in self.changes
        ]

    def apply_request(self) -> Dict[str, object]:
        request: Dict[str, object] = dict(compliance.Plan(self.changes).apply_request())
        request["sync_marker"] = self.sync_marker
        return request


def _desired(
    host: str,
    assessment: HostAssessment,
    options: TaskOptions,
    targets: Mapping[str, Optional[bool]],
    warnings: List[str],
) -> Dict[str, Optional[bool]]:
    """What to write: the targets the host can take (enforce), and the audit settings on where
    the task asks for them. Unwritable settings fail when asked for by name, and are skipped
    with a warning when a baseline or override asks."""
    desired: Dict[str, Optional[bool]] = {name: None for name in assessment.settings}
    if options.rollback:
        return desired  # rollback writes only what it restores (decide)
    if options.mode == "enforce":
        desired.update(targets)
    if options.enable_audit:
        for name in AUDIT_SETTINGS:
            if assessment.settings[name].writable:
                desired[name] = True
    for name, s in assessment.settings.items():
        if s.waived and name not in options.explicit:
            desired[name] = None  # a running waiver: enforce leaves the setting as it is
            continue
        if s.waived and s.waiver is not None:
            warnings.append(
                f"{host}: {name} is under {s.waiver.waiver.label}, but the task sets it by name: "
                "written as asked"
            )
        if s.writable or desired.get(name) is None:
            continue
        if name in options.explicit:
            raise TaskFailed(
                f"{host}: {name} needs the -{s.setting.cmdlet_property} parameter of "
                f"{s.setting.cmdlet}, which this host does not have. {AUDIT_AVAILABILITY[name]}.",
                unsupported=[name],
            )
        warnings.append(
            f"{host}: skipping {name} from baseline {options.baseline}: this host's "
            f"{s.setting.cmdlet} has no -{s.setting.cmdlet_property} parameter "
            f"({AUDIT_AVAILABILITY[name]})"
        )
        desired[name] = None
    return desired


def _contested(
    host: str,
    assessment: HostAssessment,
    options: TaskOptions,
    plan: compliance.Plan,
    warnings: List[str],
) -> Tuple[str, ...]:
    """Changes to settings a GPO owns or whose owner is unknown: refused, warned or ignored."""
    names = tuple(
        c.name
        for c in plan.changes
        if assessment.settings[c.name].owner in (OWNER_GPO, OWNER_UNKNOWN)
    )
    if not names or options.on_gpo_conflict == "ignore":
        return names
    parts = []
    for name in names:
        s = assessment.settings[name]
        if s.owner == OWNER_GPO:
            parts.append(f"{name} (owned by GPO {s.gpo.label if s.gpo else 'unknown'})")
        else:
            parts.append(f"{name} (owner unknown: RSoP could not be read: {assessment.rsop_error})")
    if options.on_gpo_conflict == "fail":
        raise TaskFailed(
            "{}: refusing to change settings a GPO owns or may own: {}. Nothing was written. "
            "Change the GPO instead, or set on_gpo_conflict to warn or ignore.".format(
                host, "; ".join(parts)
            ),
            gpo_owned=list(names),
        )
    refresh = REFRESH_DC if assessment.profile == DOMAIN_CONTROLLER else REFRESH_MEMBER
    warnings.append(
        f"{host}: changing settings a GPO owns or may own: {'; '.join(parts)}. Windows puts a "
        "GPO's value back: security policy is re-applied at least every 16 hours even if no GPO "
        f"changed (KB 277543), and background Group Policy refresh runs {refresh}. Change the "
        "GPO to make this last."
    )
    return names


def decide(
    host: str,
    assessment: HostAssessment,
    options: TaskOptions,
    targets: Mapping[str, Optional[bool]],
    now: Optional[datetime] = None,
) -> Decision:
    """The decision for one host. TaskFailed when the run must write nothing: a weakening
    without allow_weakening, a contested setting with on_gpo_conflict: fail, or an unwritable
    setting asked for by name."""
    warnings: List[str] = []
    desired = _desired(host, assessment, options, targets, warnings)
    current = assessment.values()
    left_alone = []
    for name, (written, before) in options.rollback.items():
        # Only what still holds the recorded run's value goes back; anything changed since
        # (a GPO, another tool, a person) is someone else's decision.
        owner = assessment.settings[name].owner
        if current[name] == written and owner in (OWNER_GPO, OWNER_UNKNOWN):
            left_alone.append(
                f"{name} (changed since; left alone: now owned by "
                f"{assessment.settings[name].owner_label}, which would put its value back)"
            )
        elif current[name] == written:
            desired[name] = before
        else:
            left_alone.append(
                f"{name} (changed since; left alone: the recorded run wrote {written}, the host "
                f"has {current[name]})"
            )
    gate = None
    if (
        options.require_clean_audit
        and options.audit_window is not None
        and desired.get(GATED_SETTING) is True
        and current[GATED_SETTING] is not True
    ):
        turns_on = desired.get(AUDIT_SETTING) is True and current[AUDIT_SETTING] is not True
        gate = check_gate(
            host, assessment, options.audit_window, turns_auditing_on=turns_on, now=now
        )
        if gate is not None:
            desired[GATED_SETTING] = None
    plan = compliance.plan_changes(current, desired, options.allow_weakening)
    if plan.refused:
        raise TaskFailed(
            "{}: {}. Nothing was written.".format(host, "; ".join(r.reason for r in plan.refused)),
            refused=[r.name for r in plan.refused],
            warnings=warnings,
        )
    contested = _contested(host, assessment, options, plan, warnings)
    # Auditing after this run: a Policies value stays in force whatever the cmdlet writes.
    audit = assessment.settings[AUDIT_SETTING]
    planned = {c.name: c.after for c in plan.changes}.get(AUDIT_SETTING, current[AUDIT_SETTING])
    after_audit = audit.policy_value if audit.policy_value is not None else planned
    has_marker = assessment.audit_on_since is not None
    sync_marker = None
    if options.may_write:
        if has_marker and current[AUDIT_SETTING] is not True:
            # Auditing is off now, so the record no longer says since when it has been on, even
            # if this run turns it back on: clear it, and the next run records afresh.
            sync_marker = "clear"
        elif (after_audit is True) != has_marker:
            sync_marker = "set" if after_audit is True else "clear"
    return Decision(
        desired=desired,
        changes=plan.changes,
        contested=contested,
        gate=gate,
        sync_marker=sync_marker,
        warnings=tuple(warnings),
        left_alone=tuple(left_alone),
    )
