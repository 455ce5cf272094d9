# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each setting should be on one host: baseline, then profile, host and task values.

FOR INTERNAL COLLECTION USE ONLY.

The profile of a host is only known after its read, so the layers travel with the task and are
applied here, on the controller, instead of in the role's YAML (a second read per host).
"""

from __future__ import annotations

from typing import Dict, Optional

from ansible_collections.winhardening.smb.plugins.module_utils import baselines

from .errors import TaskFailed
from .options import TaskOptions


def targets_for(options: TaskOptions, profile: str, host: str) -> Dict[str, Optional[bool]]:
    """The baseline's values for the profile, then the profile's overrides, then the host's,
    then the settings given by name. A null override keeps the value under it."""
    try:
        targets = baselines.desired_values(options.baseline, profile, options.custom_baseline)
    except ValueError as exc:
        what = "custom_baseline" if options.custom_baseline is not None else "baseline"
        raise TaskFailed(f"{host}: {what}: {exc}") from None
    targets.update(options.profiles.get(profile) or {})
    targets.update(options.host_overrides)
    targets.update(options.explicit)
    return targets
