# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_smb_signing: read, decide, write what differs, and judge the read-back and the wire.
One round trip when nothing changes; two (read, then write plus read-back) otherwise."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ansible_collections.winhardening.smb.plugins.plugin_utils._action_base import (
    SmbSigningActionBase,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine import render
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.assess import (
    COMPLIANT,
    NONCOMPLIANT,
    UNVERIFIED,
    HostAssessment,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.decide import (
    Decision,
    decide,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.errors import TaskFailed
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.gate import GATED_SETTING
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.options import (
    ENFORCE_ARGUMENT_SPEC,
    TaskOptions,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.pipeline import (
    assess_host,
    assessment_warnings,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.probe import (
    PendingProbe,
    probe_with_retries,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.read import (
    ApplyOutcome,
    TargetState,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.written import (
    not_applied,
    write_warnings,
)


class ActionModule(SmbSigningActionBase):
    """Plan from one read, refuse or warn before writing, then write and judge the read-back.

    The facts of the state after the run come from that one read, the apply script's read-back
    and the wire probe: a caller needs no second read to verify.
    """

    def run(
        self, tmp: Optional[str] = None, task_vars: Optional[Dict[str, Any]] = None
    ) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result: Dict[str, Any] = super().run(tmp, task_vars)
        del tmp
        result.update(
            mode="enforce", profile=None, desired={}, changes=[], blocked=None, failure=None
        )
        host = self._host_name(task_vars)

        def step() -> None:
            options = self._task_options(ENFORCE_ARGUMENT_SPEC, task_vars)
            result["mode"] = options.mode
            self._converge(host, options, result)

        return self._guarded(host, result, step)

    def _converge(self, host: str, options: TaskOptions, out: Dict[str, Any]) -> None:
        # Unless this run may write the signing settings, the probe runs while the read does;
        # otherwise it waits, so that a host that changes is probed once, after its write.
        reads_only = options.mode != "enforce" or options.check_mode
        early = PendingProbe(options.probe) if options.probe and reads_only else None
        state = self._read_state(host, options)
        before = assess_host(host, options, state)
        out["profile"] = before.profile
        out["ansible_facts"] = {"smb_signing": render.facts(before)}
        targets = before.targets
        out["desired"] = {
            n: v for n, v in targets.items() if v is not None and before.settings[n].supported
        }
        try:
            decision = decide(host, before, options, targets)
            self._write_and_judge(host, options, state, before, decision, early=early, out=out)
        except TaskFailed as exc:
            # Any failure after the read keeps the host's facts, with the one status it has.
            status = exc.result.setdefault("status", render.FAILED)
            if "ansible_facts" not in exc.result:
                facts = render.facts(before, status=status, reasons=[exc.msg])
                exc.result["ansible_facts"] = {"smb_signing": facts}
            raise

    def _write_and_judge(
        self,
        host: str,
        options: TaskOptions,
        state: TargetState,
        before: HostAssessment,
        decision: Decision,
        *,
        early: Optional[PendingProbe],
        out: Dict[str, Any],
    ) -> None:
        warnings: List[str] = [*decision.warnings, *self._stray]
        out["blocked"] = decision.gate.to_dict() if decision.gate else None
        after, outcome = before, None
        if decision.writes and not options.check_mode:
            outcome = self._apply(host, decision.apply_request())
            after = assess_host(host, options, state.after_write(outcome))
            warnings.extend(write_warnings(host, outcome))
        probe = None
        if early is not None:
            probe = early.result()
        elif options.probe:  # with the probe on, every verdict has the wire behind it
            probe = probe_with_retries(options.probe)
        after = after.with_wire(probe) if probe is not None else after
        warnings.extend(assessment_warnings(host, after))
        shown = after
        if options.check_mode:
            shown = assess_host(host, options, state.planned(decision.planned_writes()))
        out.update(
            changed=bool(decision.changes)
            or bool(outcome and outcome.audit_on_since != state.audit_on_since),
            reboot_required=False,
            gpo_owned=list(decision.contested),
            observed=render.wire_facts(after.wire),
            settings=render.settings_result(decision.desired, before, shown),
            diff=render.diff(host, decision.desired, before, shown),
            changes=[
                c.name for c in decision.changes if before.value(c.name) != shown.value(c.name)
            ],
            compliant=after.verdict.status == COMPLIANT,
        )
        if options.rollback:
            restored = [c.name for c in decision.changes if shown.value(c.name) == c.after]
            out["rollback"] = {"restored": restored, "left_alone": list(decision.left_alone)}
        self._judge(
            host,
            options=options,
            decision=decision,
            after=after,
            outcome=outcome,
            warnings=warnings,
            out=out,
        )

    def _judge(
        self,
        host: str,
        *,
        options: TaskOptions,
        decision: Decision,
        after: HostAssessment,
        outcome: Optional[ApplyOutcome],
        warnings: List[str],
        out: Dict[str, Any],
    ) -> None:
        """The final status: failed when a write did not apply, blocked when the gate withheld
        server signing, else the verdict; with verify, a verdict short of compliant fails."""
        status = render.BLOCKED if decision.gate else after.verdict.status
        missed = not_applied(decision.changes, outcome) if outcome else []
        skip = {GATED_SETTING} if decision.gate else set()
        problems = [f.text for f in after.verdict.findings if f.subject not in skip]
        if missed:
            status = render.FAILED
        verified = options.verify and options.mode == "enforce" and not options.check_mode
        out["ansible_facts"] = {
            "smb_signing": render.facts(
                after,
                status=status,
                reasons=[*missed, *([decision.gate.message] if decision.gate else []), *problems],
                warnings=warnings,
            )
        }
        out["status"] = status
        out["compliant"] = status == COMPLIANT
        if warnings and options.host_warnings:
            out["warnings"] = warnings
        parts: List[str] = []
        if missed:
            parts.append(f"{host}: changes did not apply: {'; '.join(missed)}.")
        if decision.gate:
            parts.append(decision.gate.message)
        if verified and problems and after.verdict.status in (NONCOMPLIANT, UNVERIFIED):
            parts.append(f"{host}: not compliant after enforce: {'; '.join(problems)}")
        if not parts:
            return
        if decision.gate:
            verb = "would be written" if options.check_mode else "were written"
            names = [c.name for c in decision.changes]
            parts.append(f"The other settings {verb}: {', '.join(names) or 'none needed'}.")
        raise TaskFailed(" ".join(parts), problems=problems, not_applied=missed, **out)
