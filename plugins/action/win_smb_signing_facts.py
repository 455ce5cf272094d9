# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_smb_signing_facts: the engine with writing off. One read per host, and the wire probe
while the read runs."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ansible_collections.winhardening.smb.plugins.plugin_utils._action_base import (
    SmbSigningActionBase,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine import render
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.options import (
    FACTS_ARGUMENT_SPEC,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.pipeline import (
    assess_host,
    assessment_warnings,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.probe import PendingProbe


class ActionModule(SmbSigningActionBase):
    """Read-only: one read_state script per host, plus an SMB negotiate from the controller."""

    def run(
        self, tmp: Optional[str] = None, task_vars: Optional[Dict[str, Any]] = None
    ) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result: Dict[str, Any] = super().run(tmp, task_vars)
        del tmp
        # The same keys as win_smb_signing's, so a caller (the role) hands either to the report.
        result.update(
            mode="audit", profile=None, desired={}, changes=[], blocked=None, failure=None
        )
        host = self._host_name(task_vars)

        def step() -> None:
            options = self._task_options(FACTS_ARGUMENT_SPEC, task_vars)
            pending = PendingProbe(options.probe) if options.probe else None
            state = self._read_state(host, options)
            assessment = assess_host(host, options, state)
            if pending is not None:
                assessment = assessment.with_wire(pending.result())
            warnings = self._stray + assessment_warnings(host, assessment)
            facts = render.facts(assessment, warnings=warnings)
            result.update(
                changed=False,
                profile=assessment.profile,
                status=facts["status"],
                desired={
                    n: s.expected for n, s in assessment.settings.items() if s.expected is not None
                },
                ansible_facts={"smb_signing": facts},
            )
            if warnings and options.host_warnings:
                result["warnings"] = warnings

        return self._guarded(host, result, step)
