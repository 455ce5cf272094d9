# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired values per setting for each baseline, and validation of custom values.

None means the baseline does not set that setting: it is reported but never changed.

- cis: CIS Microsoft Windows Server 2019/2022/2025 benchmarks, Level 1 DC and member server:
  2.3.8.1, 2.3.8.2, 2.3.9.2, 2.3.9.3 Enabled; the WS2025 benchmark adds 18.6.7.2 and 18.6.8.3
  (signing audit) Enabled. We ask for the audits on every host; hosts whose OS lacks them report
  the setting as unsupported instead of failing.
- stig: DISA STIG WS2019 (WN19-SO-000160/170/190/200) and WS2022 (WN22-SO-000160/170/190/200):
  all four Enabled; no STIG rule for the audits is known to us, so None.
- microsoft: Microsoft's security baselines (WS2022, Windows 11 24H2, as reproduced by
  HardeningKitty's finding lists) set only the two "(always)" settings. Microsoft's policy page
  says not to use the "(if ... agrees)" policies at all, as they only affect SMB1
  (microsoft-network-server-digitally-sign-communications-always, IMPORTANT note). The OSConfig
  WS2025 baseline sets all six; we follow the SCT baselines, which cover every supported release.
- custom: only what the caller supplies.

Workstations: the same values for every profile. CIS and STIG workstation benchmarks (Windows
10/11) carry the same four signing recommendations; that their ids differ from the server ones is
why Setting.cis holds the server benchmark id only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ansible_collections.winhardening.smb.plugins.module_utils.catalog import SETTING_NAMES
from ansible_collections.winhardening.smb.plugins.module_utils.domain_role import check_profile


@dataclass(frozen=True)
class Baseline:
    """A named set of desired values; per_profile overrides values for one profile."""

    name: str
    title: str
    values: Mapping[str, bool | None] = field(hash=False)
    per_profile: Mapping[str, Mapping[str, bool | None]] = field(hash=False)

    def desired(self, profile: str) -> dict[str, bool | None]:
        check_profile(profile)
        result = {name: self.values.get(name) for name in SETTING_NAMES}
        result.update(self.per_profile.get(profile, {}))
        return result


def _values(**values: bool | None) -> Mapping[str, bool | None]:
    unknown = sorted(set(values) - set(SETTING_NAMES))
    if unknown:  # guards the tables below against typos
        raise ValueError("unknown setting names: {}".format(", ".join(unknown)))
    return MappingProxyType({name: values.get(name) for name in SETTING_NAMES})


_NO_OVERRIDES: Mapping[str, Mapping[str, bool | None]] = MappingProxyType({})

BASELINES: Mapping[str, Baseline] = MappingProxyType(
    {
        "cis": Baseline(
            name="cis",
            title="CIS Microsoft Windows Server benchmark, Level 1",
            values=_values(
                server_require=True,
                server_enable=True,
                client_require=True,
                client_enable=True,
                audit_unsigned_clients=True,
                audit_unsigned_servers=True,
            ),
            per_profile=_NO_OVERRIDES,
        ),
        "stig": Baseline(
            name="stig",
            title="DISA Windows Server STIG",
            values=_values(
                server_require=True,
                server_enable=True,
                client_require=True,
                client_enable=True,
            ),
            per_profile=_NO_OVERRIDES,
        ),
        "microsoft": Baseline(
            name="microsoft",
            title="Microsoft security baseline",
            values=_values(server_require=True, client_require=True),
            per_profile=_NO_OVERRIDES,
        ),
        "custom": Baseline(
            name="custom",
            title="custom values",
            values=_values(),
            per_profile=_NO_OVERRIDES,
        ),
    }
)


def validate_custom(custom: Mapping[str, object]) -> dict[str, bool | None]:
    """Check caller-supplied values: known setting names, each True, False or None (unset)."""
    if not isinstance(custom, Mapping):
        raise ValueError(f"custom values must be a mapping, got {type(custom).__name__}")
    unknown = sorted(str(name) for name in custom if name not in SETTING_NAMES)
    if unknown:
        raise ValueError(
            "unknown setting names: {}; expected some of: {}".format(
                ", ".join(unknown), ", ".join(SETTING_NAMES)
            )
        )
    bad = [
        f"{name}={value!r}"
        for name, value in custom.items()
        if value is not None and not isinstance(value, bool)
    ]
    if bad:
        raise ValueError(
            "setting values must be true, false or null, got: {}".format(", ".join(bad))
        )
    return {name: value for name, value in custom.items() if isinstance(value, bool)}


def desired_values(
    baseline: str, profile: str, custom: Mapping[str, object] | None = None
) -> dict[str, bool | None]:
    """The desired value of every setting for a profile under a baseline.

    custom values (validated) override the baseline's; with baseline "custom" they are the only
    values. A None in custom leaves the baseline's value as it is.
    """
    if baseline not in BASELINES:
        raise ValueError(
            "unknown baseline {!r}; expected one of: {}".format(baseline, ", ".join(BASELINES))
        )
    result = BASELINES[baseline].desired(profile)
    if custom is not None:
        result.update(validate_custom(custom))
    return result
