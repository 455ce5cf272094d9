# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-profile and per-host overrides on top of a baseline's values.

FOR INTERNAL COLLECTION USE ONLY.

The profile of a host is only known after its one read, so the overrides travel with the task
and are applied here, on the controller, instead of in the role's YAML (a second read per host).
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from ansible_collections.winhardening.smb.plugins.module_utils import baselines
from ansible_collections.winhardening.smb.plugins.module_utils.domain_role import PROFILES

OVERRIDE_ARGS: Dict[str, Dict[str, Any]] = {
    "profile_overrides": {"type": "dict"},
    "overrides": {"type": "dict"},
}


def check_overrides(args: Mapping[str, Any]) -> None:
    """ValueError naming the option (and profile) for any bad override, before the host is read."""
    profiles = args.get("profile_overrides")
    if profiles is not None:
        unknown = sorted(str(p) for p in profiles if p not in PROFILES)
        if unknown:
            raise ValueError(
                "profile_overrides: unknown profiles: {}; expected some of: {}".format(
                    ", ".join(unknown), ", ".join(PROFILES)
                )
            )
        for profile, values in profiles.items():
            if values is None:
                continue
            try:
                baselines.validate_custom(values)
            except ValueError as exc:
                raise ValueError(f"profile_overrides.{profile}: {exc}") from None
    if args.get("overrides") is not None:
        try:
            baselines.validate_custom(args["overrides"])
        except ValueError as exc:
            raise ValueError(f"overrides: {exc}") from None


def wanted_values(
    baseline: str,
    profile: str,
    custom: Optional[Mapping[str, Any]],
    profile_overrides: Optional[Mapping[str, Any]],
    overrides: Optional[Mapping[str, Any]],
) -> Dict[str, Optional[bool]]:
    """The baseline's values for the profile, then the profile's overrides, then the host's.

    A null override keeps the value under it, as in custom_baseline.
    """
    wanted = baselines.desired_values(baseline, profile, custom)
    for layer in ((profile_overrides or {}).get(profile), overrides):
        if layer:
            wanted.update(baselines.validate_custom(layer))
    return wanted
