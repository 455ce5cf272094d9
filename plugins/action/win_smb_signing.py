# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_smb_signing: enforce SMB signing with check mode, diff, GPO awareness and a weakening
guard. One round trip when nothing changes; two (read, then write plus read-back) otherwise."""

from __future__ import annotations

from functools import partial
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure

from ansible_collections.winhardening.smb.plugins.module_utils import compliance
from ansible_collections.winhardening.smb.plugins.module_utils.baselines import validate_custom
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
    PendingProbe,
    SmbSigningActionBase,
    TaskFailed,
    probe_with_retries,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._facts import (
    SOURCE_GPO,
    SettingView,
    build_facts,
    current_values,
    events_facts,
    setting_views,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._gate import GateClosed, check_gate
from ansible_collections.winhardening.smb.plugins.plugin_utils._overrides import (
    OVERRIDE_ARGS,
    check_overrides,
    wanted_values,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._scripts import APPLY
from ansible_collections.winhardening.smb.plugins.plugin_utils._since import parse_since
from ansible_collections.winhardening.smb.plugins.plugin_utils._target_state import (
    ApplyOutcome,
    ProtocolError,
    TargetState,
    parse_apply,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._verify import (
    problems_after_enforce,
)

ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    **{name: {"type": "bool"} for name in SETTING_NAMES},
    "baseline": {"type": "str", "choices": BASELINE_CHOICES},
    **BASELINE_ARGS,
    **OVERRIDE_ARGS,
    "apply": {"type": "str", "default": "all", "choices": ["all", "audit_settings", "none"]},
    "require_clean_audit": {"type": "bool", "default": False},
    "audit_events_since": {"type": "str"},
    "max_audit_events": {"type": "int", "default": 50},
    "verify": {"type": "bool", "default": False},
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
AUDIT_SETTINGS = ("audit_unsigned_clients", "audit_unsigned_servers")
# A probe whose connection is refused or closed asks again after these pauses (7 s at most):
# right after a write the SMB server may be taking up its new settings, and a lab fleet's shared
# smbd restarts whenever another host's write moves it (with 50 hosts writing at once, often).
# A filtered port times out and is not asked again.
PROBE_RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0, 3.25)
# The gate reads the audit log this far back when audit_events_since is not given.
DEFAULT_GATE_WINDOW = "7d"

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
    """Plan from one read, refuse or warn before writing, then write and judge the read-back.

    The facts of the state after the run come from that one read, the apply script's
    read-back and the wire probe: a caller needs no second read to verify.
    """

    def run(
        self, tmp: Optional[str] = None, task_vars: Optional[Dict[str, Any]] = None
    ) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result: Dict[str, Any] = super().run(tmp, task_vars)
        del tmp
        mode = "enforce"
        try:
            args = self._validated_args(ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            # A caller that keeps going on failure (the role's report) still learns why.
            result.update(failed=True, msg=exc.message, failure=exc.message, mode=mode)
            return result
        if args["apply"] != "all":
            mode = "audit"
        host = self._host_name(task_vars)
        outcome: Dict[str, Any] = {
            "mode": mode,
            "profile": None,
            "desired": {},
            "changes": [],
            "blocked": None,
            "failure": None,
        }
        result.update(outcome)
        try:
            result.update(self._enforce(host, args, task_vars, result))
        except TaskFailed as exc:
            result.update(exc.to_result())
            # A host the gate alone stopped is "blocked" (its message under blocked), not failed.
            gate_only = result["blocked"] and exc.result.get("problems") == []
            result["failure"] = None if gate_only else exc.msg
        return result

    # -- planning ------------------------------------------------------------------------------

    def _options(self, args: Mapping[str, Any]) -> Optional[str]:
        """Checks the options that need more than their type; the audit window as UTC text."""
        if args.get("custom_baseline") is not None and args.get("baseline") != "custom":
            raise TaskFailed("custom_baseline is only used with baseline: custom")
        try:
            if args.get("custom_baseline") is not None:
                validate_custom(args["custom_baseline"])
        except ValueError as exc:
            raise TaskFailed(f"custom_baseline: {exc}") from None
        try:
            check_overrides(args)
        except ValueError as exc:
            raise TaskFailed(str(exc)) from None
        explicit = [n for n in SETTING_NAMES if args.get(n) is not None]
        if args["apply"] != "all" and explicit:
            raise TaskFailed(
                "apply: {} does not write {}; leave them out or use apply: all".format(
                    args["apply"], ", ".join(explicit)
                )
            )
        max_events = args["max_audit_events"]
        if not 1 <= max_events <= 1000:
            raise TaskFailed(f"max_audit_events must be from 1 to 1000, got {max_events}")
        window = args.get("audit_events_since")
        if window is None and args["require_clean_audit"]:
            window = DEFAULT_GATE_WINDOW
        try:
            return parse_since(window)
        except ValueError as exc:
            raise TaskFailed(f"{exc}{self._origin('audit_events_since')}") from None

    def _origin(self, option: str) -> str:
        """' (from {{ var }})' when the option's value came from a template, so that an error
        names the variable the user set (the role's smb_signing_audit_window) too."""
        get_ds = getattr(self._task, "get_ds", None)
        ds = get_ds() if callable(get_ds) else None
        if not isinstance(ds, Mapping):
            return ""
        # The task's data as written: its arguments sit under the action's name (or "args").
        for value in ds.values():
            raw = value.get(option) if isinstance(value, Mapping) else None
            if isinstance(raw, str) and "{{" in raw:
                return f" (from {raw.strip()})"
        return ""

    def _wanted(
        self, host: str, args: Mapping[str, Any], profile: str
    ) -> Dict[str, Optional[bool]]:
        """The baseline's values for the profile, then the overrides, then the options given."""
        try:
            wanted = wanted_values(
                args.get("baseline") or "custom",
                profile,
                args.get("custom_baseline"),
                args.get("profile_overrides"),
                args.get("overrides"),
            )
        except ValueError as exc:
            what = "custom_baseline" if args.get("custom_baseline") is not None else "baseline"
            raise TaskFailed(f"{host}: {what}: {exc}") from None
        wanted.update({n: args[n] for n in SETTING_NAMES if args.get(n) is not None})
        return wanted

    def _desired(
        self,
        host: str,
        args: Mapping[str, Any],
        wanted: Mapping[str, Optional[bool]],
        views: Mapping[str, SettingView],
        warnings: List[str],
    ) -> Dict[str, Optional[bool]]:
        """What to write: the wanted values the host has. Unsupported audit settings fail when
        asked for by name and are skipped with a warning when a baseline or override asks."""
        if args["apply"] == "none":
            return {name: None for name in SETTING_NAMES}
        if args["apply"] == "audit_settings":
            # Turn the audit settings on where the OS has them; nothing else is written.
            return {
                name: (True if name in AUDIT_SETTINGS and views[name].supported else None)
                for name in SETTING_NAMES
            }
        desired: Dict[str, Optional[bool]] = dict(wanted)
        explicit = {name for name in SETTING_NAMES if args.get(name) is not None}
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
                    "{}: skipping {} from baseline {}: this host's {} has no -{} parameter "
                    "({})".format(
                        host,
                        name,
                        args.get("baseline") or "custom",
                        view.setting.cmdlet,
                        view.setting.cmdlet_property,
                        AUDIT_AVAILABILITY[name],
                    )
                )
                desired[name] = None
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
        self,
        host: str,
        args: Mapping[str, Any],
        task_vars: Mapping[str, Any],
        outcome: Dict[str, Any],
    ) -> Dict[str, Any]:
        warnings: List[str] = []
        # A bad probe option must fail the task before anything is written.
        probe_at = self._probe_settings(args, task_vars) if args["probe"] else None
        since = self._options(args)
        # With verify, the wire is judged even when nothing is written. When this run cannot
        # write the signing settings (audit, check mode), that probe runs while the read does;
        # in enforce mode it waits for the plan, so that a host that changes is probed once,
        # after its write.
        reads_only = args["apply"] != "all" or self._task.check_mode
        early_probe = (
            PendingProbe(*probe_at, PROBE_RETRY_DELAYS)
            if probe_at is not None and args["verify"] and reads_only
            else None
        )
        state = self._read_state(host, since, args["max_audit_events"])
        try:
            os_info = OsInfo.from_mapping(state.os)
            profile = profile_for_domain_role(state.domain_role)
        except ValueError as exc:
            raise TaskFailed(f"{host}: {exc}") from None
        outcome["profile"] = profile
        views = setting_views(state, os_info, profile)
        wanted = self._wanted(host, args, profile)
        # The facts judge against every wanted value (an unsupported one is simply not judged).
        judged = wanted
        outcome["desired"] = {
            n: v for n, v in wanted.items() if v is not None and views[n].supported
        }
        facts_of = partial(self._facts, state=state, args=args, since=since, judged=judged)
        # Facts of the state as read, attached to any refusal, so a report still shows the host.
        facts = facts_of(probe=None, written=None)
        outcome["ansible_facts"] = {"smb_signing": facts}
        desired = self._desired(host, args, wanted, views, warnings)
        current = current_values(views)
        gate = self._gate(host, args=args, desired=desired, views=views, since=since, state=state)
        if gate is not None:
            desired["server_require"] = None
            outcome["blocked"] = gate.to_dict()
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
        applied = plan.changed and not self._task.check_mode
        not_applied: List[Dict[str, Any]] = []
        if applied:
            outcome_apply = self._apply(host, plan)
            after, not_applied = self._read_back(plan, outcome_apply, current)
        probe = None
        if early_probe is not None and not applied:
            probe = early_probe.result()
        elif probe_at is not None and (applied or args["verify"]):
            # After a write (the audit settings, with apply=audit_settings, too), or in enforce
            # mode with nothing to write.
            probe = probe_with_retries(*probe_at, PROBE_RETRY_DELAYS)
        written = {c.name: after[c.name] for c in plan.changes} if applied else None
        facts = facts_of(probe=probe, written=written)
        outcome["ansible_facts"] = {"smb_signing": facts}
        out["observed"] = facts["observed"]
        warnings.extend(facts["warnings"])
        out["settings"] = self._settings_result(desired, current, after, views)
        outcome["changes"] = [n for n, v in out["settings"].items() if v["changed"]]
        managed = [s for s in SETTINGS if desired.get(s.name) is not None]
        out["diff"] = {
            "before_header": f"{host} (before)",
            "after_header": f"{host} (after)",
            "before": {s.display_name: _label(current[s.name]) for s in managed},
            "after": {s.display_name: _label(after[s.name]) for s in managed},
        }
        out["compliant"] = facts["compliant"]
        if not_applied:
            failed_names = {n["name"] for n in not_applied}
            out["changed"] = len(not_applied) < len(plan.changes)
            raise TaskFailed(
                _not_applied_msg(host, plan, not_applied),
                applied=[c.name for c in plan.changes if c.name not in failed_names],
                not_applied=not_applied,
                warnings=warnings,
                **out,
            )
        self._finish(
            host, args=args, facts=facts, judged=judged, gate=gate, out=out, warnings=warnings
        )
        if warnings:
            out["warnings"] = warnings
        return out

    def _facts(
        self,
        *,
        state: TargetState,
        args: Mapping[str, Any],
        since: Optional[str],
        judged: Mapping[str, Optional[bool]],
        probe: Optional[Mapping[str, Any]],
        written: Optional[Mapping[str, Optional[bool]]],
    ) -> Dict[str, Any]:
        return build_facts(
            state,
            baseline=args.get("baseline") or "custom",
            custom=None,
            events_since=since,
            probe=probe,
            written=written,
            desired=judged,
        )

    def _gate(
        self,
        host: str,
        *,
        args: Mapping[str, Any],
        desired: Mapping[str, Optional[bool]],
        views: Mapping[str, SettingView],
        since: Optional[str],
        state: TargetState,
    ) -> Optional[GateClosed]:
        """Closed only when the run would turn server_require on and the log forbids it."""
        if not args["require_clean_audit"] or desired.get("server_require") is not True:
            return None
        if views["server_require"].value is True:
            return None
        window = args.get("audit_events_since") or DEFAULT_GATE_WINDOW
        return check_gate(
            host,
            events=events_facts(since, state.events),
            auditing_on=views["audit_unsigned_clients"].value,
            window=window,
        )

    def _finish(
        self,
        host: str,
        *,
        args: Mapping[str, Any],
        facts: Mapping[str, Any],
        judged: Mapping[str, Optional[bool]],
        gate: Optional[GateClosed],
        out: Dict[str, Any],
        warnings: List[str],
    ) -> None:
        """Fail the host when the gate withheld server signing or, with verify, when it is
        still not compliant; both after the other settings were written."""
        problems: List[str] = []
        if args["verify"] and args["apply"] == "all" and not self._task.check_mode:
            skip = ["server_require"] if gate is not None else []
            problems, wire_warnings = problems_after_enforce(
                facts, judged.get("server_require"), skip
            )
            if args["probe"]:
                warnings.extend(f"{host}: {w}" for w in wire_warnings)
        if gate is None and not problems:
            return
        parts = []
        if gate is not None:
            parts.append(gate.message)
        if problems:
            parts.append(f"{host}: still not compliant after enforce: " + "; ".join(problems))
        written = [n for n, v in out["settings"].items() if v["changed"]]
        verb = "would be written" if self._task.check_mode else "were written"
        parts.append(
            "The other settings {}: {}.".format(verb, ", ".join(written) or "none needed")
            if gate is not None
            else ""
        )
        raise TaskFailed(
            " ".join(p for p in parts if p), problems=problems, warnings=warnings, **out
        )

    @staticmethod
    def _settings_result(
        desired: Mapping[str, Optional[bool]],
        current: Mapping[str, Optional[bool]],
        after: Mapping[str, Optional[bool]],
        views: Mapping[str, SettingView],
    ) -> Dict[str, Any]:
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
        return settings

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

    @staticmethod
    def _read_back(
        plan: compliance.Plan,
        outcome: ApplyOutcome,
        current: Mapping[str, Optional[bool]],
    ) -> Tuple[Dict[str, Optional[bool]], List[Dict[str, Any]]]:
        """The values after the write, judged from the read-back alone, and what did not apply."""
        after: Dict[str, Optional[bool]] = dict(current)
        errors = {(r.side, r.property): r.error for r in outcome.results if not r.ok}
        not_applied: List[Dict[str, Any]] = []
        for change in plan.changes:
            s = setting(change.name)
            seen = outcome.config(s.side).get(s.cmdlet_property)
            after[change.name] = seen
            if seen != change.after:
                not_applied.append(
                    {
                        "name": change.name,
                        "wanted": change.after,
                        "read_back": seen,
                        "error": errors.get((s.side, s.cmdlet_property)),
                    }
                )
        return after, not_applied


def _not_applied_msg(host: str, plan: compliance.Plan, not_applied: List[Dict[str, Any]]) -> str:
    failed = {n["name"] for n in not_applied}
    applied = [c.name for c in plan.changes if c.name not in failed]
    detail = "; ".join(
        "{} (wanted {}, read back {}{})".format(
            n["name"],
            _label(n["wanted"]),
            _label(n["read_back"]),
            ": " + n["error"] if n["error"] else "",
        )
        for n in not_applied
    )
    return (
        f"{host}: {len(not_applied)} of {len(plan.changes)} changes did not apply: "
        f"{detail}. Applied: {', '.join(applied) or 'none'}."
    )
