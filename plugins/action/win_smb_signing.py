# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_smb_signing: enforce SMB signing with check mode, diff, GPO awareness and a weakening
guard. One round trip when nothing changes; two (read, then write plus read-back) otherwise."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, List, Mapping, Optional

from ansible.errors import AnsibleConnectionFailure

from ansible_collections.winhardening.smb.plugins.module_utils import baselines, compliance
from ansible_collections.winhardening.smb.plugins.module_utils.catalog import (
    SETTING_NAMES,
    SETTINGS,
    setting,
)
from ansible_collections.winhardening.smb.plugins.module_utils.domain_role import (
    DOMAIN_CONTROLLER,
    profile_for_domain_role,
)
from ansible_collections.winhardening.smb.plugins.module_utils.os_info import OsInfo
from ansible_collections.winhardening.smb.plugins.plugin_utils._action_base import (
    BASELINE_ARGS,
    BASELINE_CHOICES,
    PROBE_ARGS,
    SmbSigningActionBase,
    TaskFailed,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._facts import (
    SOURCE_GPO,
    SettingView,
    current_values,
    observed_facts,
    setting_views,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._scripts import APPLY
from ansible_collections.winhardening.smb.plugins.plugin_utils._target_state import (
    ApplyOutcome,
    ProtocolError,
    parse_apply,
)

ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    **{name: {"type": "bool"} for name in SETTING_NAMES},
    "baseline": {"type": "str", "choices": BASELINE_CHOICES},
    **BASELINE_ARGS,
    "on_gpo_conflict": {"type": "str", "default": "warn", "choices": ["warn", "fail", "ignore"]},
    "allow_weakening": {"type": "bool", "default": False},
    **PROBE_ARGS,
}

# Where each audit parameter comes from ("SMB signing overview", auditing section; "SMB
# features" page; KB5066913 "Support for Audit Events to deploy SMB Server hardening", 2025-09-09,
# which back-ports server-side signing auditing to Windows Server 2012 and later).
AUDIT_AVAILABILITY = {
    "audit_unsigned_clients": (
        "Windows Server 2025 and Windows 11 24H2 add it; the 2025-09-09 update (KB5066913) "
        "back-ports server-side signing auditing to Windows Server 2012 and later"
    ),
    "audit_unsigned_servers": "Windows Server 2025 and Windows 11 24H2 add it",
}

# Group Policy re-applies what it owns: security policy at least every 16 hours even when no GPO
# changed (KB 277543, "Changes to security policy settings may not take effect"), and background
# refresh every 5 minutes on domain controllers and about every 90 minutes (plus up to 30 minutes
# offset) on members ("Set Group Policy refresh interval for computers / for domain
# controllers" policy help text).
REFRESH_DC = "about every 5 minutes on domain controllers"
REFRESH_MEMBER = "about every 90 minutes (plus a random offset of up to 30) on member computers"

STATE_UNKNOWN_MSG = (
    "%s: the connection failed while the write script was running (%s). The write may or may "
    "not have been applied: the state is unknown. Re-run the task; it reads the state first and "
    "converges."
)


def _label(value: Optional[bool]) -> str:
    if value is None:
        return "Not supported"
    return "Enabled" if value else "Disabled"


class ActionModule(SmbSigningActionBase):
    """Plan from one read, refuse or warn before writing, then write and judge the read-back."""

    def run(
        self, tmp: Optional[str] = None, task_vars: Optional[Dict[str, Any]] = None
    ) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result: Dict[str, Any] = super().run(tmp, task_vars)
        del tmp
        _dummy, args = self.validate_argument_spec(
            argument_spec=ARGUMENT_SPEC,
            required_if=[("baseline", "custom", ["custom_baseline"])],
        )
        host = self._host_name(task_vars)
        try:
            result.update(self._enforce(host, args, task_vars))
        except TaskFailed as exc:
            result.update(exc.to_result())
        return result

    # -- planning ------------------------------------------------------------------------------

    def _desired(
        self,
        host: str,
        args: Mapping[str, Any],
        profile: str,
        views: Mapping[str, SettingView],
        warnings: List[str],
    ) -> Dict[str, Optional[bool]]:
        """The baseline's values (if any), overridden by the options given; unsupported audit
        settings fail when asked for by name and are skipped with a warning when a baseline
        asks for them."""
        desired: Dict[str, Optional[bool]] = {name: None for name in SETTING_NAMES}
        baseline = args.get("baseline")
        custom = args.get("custom_baseline")
        if custom is not None and baseline != "custom":
            raise TaskFailed("custom_baseline is only used with baseline: custom")
        if baseline:
            try:
                desired.update(baselines.desired_values(baseline, profile, custom))
            except ValueError as exc:
                what = "custom_baseline" if custom is not None else "baseline"
                raise TaskFailed(f"{what}: {exc}") from None
        explicit = {name: args[name] for name in SETTING_NAMES if args.get(name) is not None}
        for name, view in views.items():
            if view.supported:
                continue
            if name in explicit:
                s = view.setting
                raise TaskFailed(
                    f"{host}: {name} needs the -{s.cmdlet_property} parameter of {s.cmdlet}, "
                    f"which this host does not have. {AUDIT_AVAILABILITY[name]}.",
                    unsupported=[name],
                )
            if desired.get(name) is not None:
                warnings.append(
                    f"{host}: skipping {name} from baseline {baseline}: this host's "
                    f"{view.setting.cmdlet} has no -{view.setting.cmdlet_property} parameter "
                    f"({AUDIT_AVAILABILITY[name]})"
                )
                desired[name] = None
        desired.update(explicit)
        return desired

    def _gpo_conflicts(
        self,
        host: str,
        *,
        mode: str,
        plan: compliance.Plan,
        views: Mapping[str, SettingView],
        profile: str,
        warnings: List[str],
    ) -> List[str]:
        owned = [c.name for c in plan.changes if views[c.name].source == SOURCE_GPO]
        if not owned or mode == "ignore":
            return owned
        refresh = REFRESH_DC if profile == DOMAIN_CONTROLLER else REFRESH_MEMBER
        parts = []
        for name in owned:
            gpo = views[name].gpo
            parts.append("{} (owned by GPO {})".format(name, gpo.label if gpo else "unknown"))
        if mode == "fail":
            raise TaskFailed(
                "{}: refusing to change settings a GPO owns: {}. Nothing was written. Change "
                "the GPO instead, or set on_gpo_conflict to warn or ignore.".format(
                    host, "; ".join(parts)
                ),
                gpo_owned=owned,
            )
        warnings.append(
            "{}: changing settings a GPO owns: {}. Windows will put the GPO's value back: "
            "security policy is re-applied at least every 16 hours even if no GPO changed "
            "(KB 277543), and background Group Policy refresh runs {}. Change the GPO to make "
            "this last.".format(host, "; ".join(parts), refresh)
        )
        return owned

    # -- the task ------------------------------------------------------------------------------

    def _enforce(
        self, host: str, args: Mapping[str, Any], task_vars: Mapping[str, Any]
    ) -> Dict[str, Any]:
        warnings: List[str] = []
        if args["probe"]:
            # The probe runs after the writes: a bad probe option found only then would fail
            # the task with the writes applied and unreported.
            self._probe_settings(args, task_vars)
        state = self._read_state(host)
        try:
            os_info = OsInfo.from_mapping(state.os)
            profile = profile_for_domain_role(state.domain_role)
        except ValueError as exc:
            raise TaskFailed(f"{host}: {exc}") from None
        views = setting_views(state, os_info, profile)
        desired = self._desired(host, args, profile, views, warnings)
        current = current_values(views)
        plan = compliance.plan_changes(current, desired, args["allow_weakening"])
        if plan.refused:
            raise TaskFailed(
                "{}: {}. Nothing was written.".format(
                    host, "; ".join(r.reason for r in plan.refused)
                ),
                refused=[r.name for r in plan.refused],
                warnings=warnings,
            )
        gpo_owned = self._gpo_conflicts(
            host,
            mode=args["on_gpo_conflict"],
            plan=plan,
            views=views,
            profile=profile,
            warnings=warnings,
        )
        planned = {c.name: c.after for c in plan.changes}
        out: Dict[str, Any] = {
            "changed": plan.changed,
            "reboot_required": False,
            "gpo_owned": gpo_owned,
            "observed": None,
        }
        after: Dict[str, Optional[bool]] = dict(current)
        after.update(planned)
        if plan.changed and not self._task.check_mode:
            outcome = self._apply(host, plan)
            after = self._read_back(host, plan, outcome, current, warnings)
            if args["probe"]:
                probe = self._probe(args, task_vars)
                observed = observed_facts(probe, _with_values(views, after))
                out["observed"] = observed
                if observed and observed["agrees_with_config"] is False:
                    warnings.append("{}: {}".format(host, observed["message"]))
        settings: Dict[str, Any] = {}
        for name in SETTING_NAMES:
            gpo = views[name].gpo
            settings[name] = {
                "display_name": setting(name).display_name,
                "managed": desired.get(name) is not None,
                "before": current[name],
                "after": after[name],
                "changed": current[name] != after[name],
                "source": views[name].source,
                "gpo": gpo.to_dict() if gpo else None,
            }
        out["settings"] = settings
        managed = [s for s in SETTINGS if desired.get(s.name) is not None]
        out["diff"] = {
            "before_header": f"{host} (before)",
            "after_header": f"{host} (after)",
            "before": {s.display_name: _label(current[s.name]) for s in managed},
            "after": {s.display_name: _label(after[s.name]) for s in managed},
        }
        if warnings:
            out["warnings"] = warnings
        return out

    def _apply(self, host: str, plan: compliance.Plan) -> ApplyOutcome:
        try:
            output = self._run(host, APPLY, plan.apply_request())
        except AnsibleConnectionFailure as exc:
            raise TaskFailed(STATE_UNKNOWN_MSG % (host, exc), state_unknown=True) from None
        except TaskFailed as exc:
            # The script died part-way: some writes may have landed.
            exc.result["state_unknown"] = True
            exc.msg += (
                " Some settings may have been written before it stopped; re-run the task to "
                "read the state and converge."
            )
            raise
        try:
            return parse_apply(output.data)
        except ProtocolError as exc:
            raise TaskFailed(
                f"{host}: the apply answer does not follow the protocol: {exc}. The state is "
                "unknown; re-run the task to converge.",
                state_unknown=True,
                stdout=output.stdout[:4000],
            ) from None

    def _read_back(
        self,
        host: str,
        plan: compliance.Plan,
        outcome: ApplyOutcome,
        current: Mapping[str, Optional[bool]],
        warnings: List[str],
    ) -> Dict[str, Optional[bool]]:
        """The values after the write, judged from the read-back alone."""
        after: Dict[str, Optional[bool]] = dict(current)
        errors = {(r.side, r.property): r.error for r in outcome.results if not r.ok}
        applied: List[str] = []
        not_applied: List[Dict[str, Any]] = []
        for change in plan.changes:
            s = setting(change.name)
            seen = outcome.config(s.side).get(s.cmdlet_property)
            after[change.name] = seen
            if seen == change.after:
                applied.append(change.name)
            else:
                not_applied.append(
                    {
                        "name": change.name,
                        "wanted": change.after,
                        "read_back": seen,
                        "error": errors.get((s.side, s.cmdlet_property)),
                    }
                )
        if not_applied:
            detail = "; ".join(
                "{} (wanted {}, read back {}{})".format(
                    n["name"],
                    _label(n["wanted"]),
                    _label(n["read_back"]),
                    ": " + n["error"] if n["error"] else "",
                )
                for n in not_applied
            )
            raise TaskFailed(
                f"{host}: {len(not_applied)} of {len(plan.changes)} changes did not apply: "
                f"{detail}. Applied: {', '.join(applied) or 'none'}.",
                changed=bool(applied),
                applied=applied,
                not_applied=not_applied,
                warnings=warnings,
            )
        return after


def _with_values(
    views: Mapping[str, SettingView], values: Mapping[str, Optional[bool]]
) -> Dict[str, SettingView]:
    """Views carrying the read-back values, so the wire check compares against the new state."""
    return {name: replace(view, value=values.get(name)) for name, view in views.items()}
