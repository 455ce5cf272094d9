# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare a host's values with a baseline's, and plan the changes between them.

Values are True (enabled/required), False (disabled) or None: in `current`, None means the host
has no such setting (an audit setting on an OS without it); in `desired`, that the baseline does
not set it. A plan never turns an enabled setting off unless allow_weakening is given, since
that removes protection and cannot be told apart from a typo in a custom value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ansible_collections.winhardening.smb.plugins.module_utils.catalog import (
    SETTING_NAMES,
    setting,
)

# The order changes are applied in. Audits first, as Microsoft's rollout guidance is to audit
# unsigned peers before requiring signing (KB5066913; smb-signing-overview, auditing section);
# then the SMB1-only "enable" values; then the client's requirement; the server's requirement
# last, as it is the one that turns away peers that cannot sign.
APPLY_ORDER = (
    "audit_unsigned_clients",
    "audit_unsigned_servers",
    "server_enable",
    "client_enable",
    "client_require",
    "server_require",
)


@dataclass(frozen=True)
class Verdict:
    """Whether one setting complies (None: not decidable) and why, in words."""

    compliant: bool | None
    reason: str
    current: bool | None = None
    desired: bool | None = None


@dataclass(frozen=True)
class Change:
    name: str
    before: bool
    after: bool

    @property
    def weakening(self) -> bool:
        """True when the change turns an enabled setting off."""
        return self.before and not self.after


@dataclass(frozen=True)
class RefusedChange:
    name: str
    before: bool
    after: bool
    reason: str


@dataclass(frozen=True)
class Unsupported:
    """A setting the baseline sets but the host does not have."""

    name: str
    desired: bool
    reason: str


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...] = ()
    refused: tuple[RefusedChange, ...] = ()
    unsupported: tuple[Unsupported, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def apply_request(self) -> dict[str, dict[str, bool]]:
        """The changes as the target protocol's apply request: side -> cmdlet property -> value."""
        request: dict[str, dict[str, bool]] = {}
        for change in self.changes:
            s = setting(change.name)
            request.setdefault(s.side, {})[s.cmdlet_property] = change.after
        return request


def _check_values(values: Mapping[str, bool | None], what: str) -> None:
    if not isinstance(values, Mapping):
        raise ValueError(f"{what} must be a mapping, got {type(values).__name__}")
    unknown = sorted(str(name) for name in values if name not in SETTING_NAMES)
    if unknown:
        raise ValueError("{} has unknown setting names: {}".format(what, ", ".join(unknown)))
    bad = [f"{n}={v!r}" for n, v in values.items() if v is not None and not isinstance(v, bool)]
    if bad:
        raise ValueError(
            "{} values must be true, false or null, got: {}".format(what, ", ".join(bad))
        )


def _state(value: bool | None) -> str:
    if value is None:
        return "not supported on this host"
    return "found enabled" if value else "found disabled"


def _wanted(value: bool | None, baseline: str) -> str:
    if value is None:
        return f"not set by {baseline}"
    return ("required by %s" if value else "disabled by %s") % baseline


def evaluate(
    current: Mapping[str, bool | None],
    desired: Mapping[str, bool | None],
    *,
    baseline: str = "the baseline",
    sources: Mapping[str, str] | None = None,
) -> dict[str, Verdict]:
    """A verdict for every catalog setting; a name missing from either mapping counts as None.

    sources (setting name -> "local", "gpo", "default") is shown after the found value.
    """
    _check_values(current, "current")
    _check_values(desired, "desired")
    verdicts: dict[str, Verdict] = {}
    for name in SETTING_NAMES:
        have = current.get(name)
        want = desired.get(name)
        found = _state(have)
        if have is not None and sources and sources.get(name):
            found += f" ({sources[name]})"
        if want is None or have is None:
            compliant: bool | None = None
        else:
            compliant = have == want
        verdicts[name] = Verdict(compliant, f"{_wanted(want, baseline)}; {found}", have, want)
    return verdicts


def plan_changes(
    current: Mapping[str, bool | None],
    desired: Mapping[str, bool | None],
    allow_weakening: bool = False,
) -> Plan:
    """The changes that take current to desired, in APPLY_ORDER.

    Skips settings not set by desired or already equal; lists settings the host lacks under
    Plan.unsupported; puts enabled-to-disabled changes under Plan.refused unless allow_weakening.
    """
    _check_values(current, "current")
    _check_values(desired, "desired")
    changes: list[Change] = []
    refused: list[RefusedChange] = []
    unsupported: list[Unsupported] = []
    for name in APPLY_ORDER:
        want = desired.get(name)
        have = current.get(name)
        if want is None or have == want:
            continue
        if have is None:
            unsupported.append(Unsupported(name, want, f"{name} is not supported on this host"))
            continue
        change = Change(name, have, want)
        if change.weakening and not allow_weakening:
            refused.append(
                RefusedChange(
                    name,
                    have,
                    want,
                    f"refusing to disable {name} ({setting(name).display_name}), which is "
                    "enabled: that weakens SMB signing; set allow_weakening to true to allow it",
                )
            )
            continue
        changes.append(change)
    return Plan(tuple(changes), tuple(refused), tuple(unsupported))
