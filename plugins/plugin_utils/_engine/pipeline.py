# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The steps both action plugins take from a host's state to its assessment.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

from typing import List

from ansible_collections.winhardening.smb.plugins.module_utils.domain_role import (
    profile_for_domain_role,
)

from .assess import HostAssessment, assess
from .errors import TaskFailed
from .options import TaskOptions
from .read import TargetState
from .targets import targets_for
from .waivers import waiver_warnings, waivers_for


def assess_host(host: str, options: TaskOptions, state: TargetState) -> HostAssessment:
    """The profile from the state, the targets for it, and the assessment against them.
    TaskFailed names the host for an OS or domain role this collection does not know."""
    try:
        profile = profile_for_domain_role(state.domain_role)
        window = options.audit_window
        return assess(
            state,
            baseline=options.baseline,
            targets=targets_for(options, profile, host),
            window_start=window.start_text if window else None,
            waivers=waivers_for(host, options.waivers, options.today, options.waiver_warning_days),
        )
    except ValueError as exc:
        raise TaskFailed(f"{host}: {exc}") from None


def assessment_warnings(host: str, assessment: HostAssessment) -> List[str]:
    """What the task warns about from an assessment: the wire contradicting the configuration
    or giving no answer, and waivers that expire soon or have expired."""
    wire = [f"{host}: {f.text}" for f in assessment.verdict.findings if f.subject == "wire"]
    waivers = {n: s.waiver for n, s in assessment.settings.items() if s.waiver is not None}
    return wire + waiver_warnings(host, waivers)
