# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_smb_signing_facts: configured, owner, effective and observed SMB signing per host."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ansible.errors import AnsibleActionFail

from ansible_collections.winhardening.smb.plugins.module_utils.baselines import (
    validate_custom,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._action_base import (
    BASELINE_ARGS,
    BASELINE_CHOICES,
    PROBE_ARGS,
    PendingProbe,
    SmbSigningActionBase,
    TaskFailed,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._facts import build_facts
from ansible_collections.winhardening.smb.plugins.plugin_utils._overrides import (
    OVERRIDE_ARGS,
    check_overrides,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._since import parse_since

ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    "baseline": {"type": "str", "default": "cis", "choices": BASELINE_CHOICES},
    **BASELINE_ARGS,
    **OVERRIDE_ARGS,
    **PROBE_ARGS,
    "audit_events_since": {"type": "str"},
    "max_audit_events": {"type": "int", "default": 50},
}


class ActionModule(SmbSigningActionBase):
    """Read-only: one read_state script per host, plus an SMB negotiate from the controller."""

    def run(
        self, tmp: Optional[str] = None, task_vars: Optional[Dict[str, Any]] = None
    ) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result: Dict[str, Any] = super().run(tmp, task_vars)
        del tmp
        # What the task did, in the same keys as win_smb_signing's, so that a caller (the role)
        # can hand either result to the report.
        result.update(mode="audit", profile=None, desired={}, changes=[], blocked=None)
        result["failure"] = None
        try:
            args = self._validated_args(ARGUMENT_SPEC)
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=exc.message, failure=exc.message)
            return result
        host = self._host_name(task_vars)
        try:
            custom = self._custom(args)
            try:
                check_overrides(args)
            except ValueError as exc:
                raise TaskFailed(str(exc)) from None
            max_events = args["max_audit_events"]
            if not 1 <= max_events <= 1000:
                raise TaskFailed(f"max_audit_events must be from 1 to 1000, got {max_events}")
            try:
                since = parse_since(args.get("audit_events_since"))
            except ValueError as exc:
                raise TaskFailed(str(exc)) from None
            pending = (
                PendingProbe(*self._probe_settings(args, task_vars)) if args["probe"] else None
            )
            state = self._read_state(host, since, max_events)
            probe = pending.result() if pending is not None else None
            try:
                facts = build_facts(
                    state,
                    baseline=args["baseline"],
                    custom=custom,
                    events_since=since,
                    probe=probe,
                    profile_overrides=args.get("profile_overrides"),
                    overrides=args.get("overrides"),
                )
            except ValueError as exc:
                raise TaskFailed(f"{host}: {exc}") from None
        except TaskFailed as exc:
            result.update(exc.to_result())
            result["failure"] = exc.msg
            return result
        result["changed"] = False
        result["profile"] = facts["profile"]
        result["desired"] = {
            name: s["expected"]
            for name, s in facts["settings"].items()
            if s["supported"] and s["expected"] is not None
        }
        result["ansible_facts"] = {"smb_signing": facts}
        if facts["warnings"]:
            result["warnings"] = list(facts["warnings"])
        return result

    @staticmethod
    def _custom(args: Dict[str, Any]) -> Optional[Dict[str, Optional[bool]]]:
        raw = args.get("custom_baseline")
        if raw is None:
            return None
        if args["baseline"] != "custom":
            raise TaskFailed("custom_baseline is only used with baseline: custom")
        try:
            return dict(validate_custom(raw))
        except ValueError as exc:
            raise TaskFailed(f"custom_baseline: {exc}") from None
