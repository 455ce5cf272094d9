# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a write did, judged from its read-back: the changes it does not show, and the errors
the cmdlets raised although the value is in place.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

from typing import Iterable, List

from ansible_collections.winhardening.smb.plugins.module_utils import compliance
from ansible_collections.winhardening.smb.plugins.module_utils.catalog import setting

from .read import ApplyOutcome


def not_applied(changes: Iterable[compliance.Change], outcome: ApplyOutcome) -> List[str]:
    """Each change the read-back does not show, with the write's own error."""
    errors = {(r.side, r.property): r.error for r in outcome.results if not r.ok}
    missed = []
    for change in changes:
        s = setting(change.name)
        seen = outcome.config(s.side).get(s.cmdlet_property)
        if seen != change.after:
            error = errors.get((s.side, s.cmdlet_property))
            missed.append(
                f"{change.name} (wanted {change.after}, read back {seen}"
                + (f": {error})" if error else ")")
            )
    return missed


def write_warnings(host: str, outcome: ApplyOutcome) -> List[str]:
    """A Set-* error is kept even when the read-back shows the value: something complained."""
    warnings = [
        f"{host}: {r.side} {r.property}: the write reported an error although the read-back "
        f"decides: {r.error}"
        for r in outcome.results
        if not r.ok and r.error and outcome.config(r.side).get(r.property) == r.value
    ]
    if outcome.marker_error:
        warnings.append(
            f"{host}: could not record since when auditing is on: {outcome.marker_error}"
        )
    return warnings
