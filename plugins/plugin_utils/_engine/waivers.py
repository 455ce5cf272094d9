# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waivers: a known exception with an owner, a reason and an end date.

FOR INTERNAL COLLECTION USE ONLY.

A waiver is not a target change (that is host_overrides): the target stays, the waived setting
is neither compliant nor noncompliant while the waiver runs, enforce does not write it, and the
day it expires the setting is judged again. Checked once per task in parse_waivers; an error
names the entry and the key.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.winhardening.smb.plugins.module_utils.catalog import SETTING_NAMES

from .errors import TaskFailed

ACTIVE = "active"
EXPIRING = "expiring"
EXPIRED = "expired"
DEFAULT_WARNING_DAYS = 14

_KEYS = ("hosts", "settings", "owner", "justification", "ticket", "expires")
_REQUIRED = ("hosts", "settings", "owner", "justification", "expires")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Waiver:
    """One entry of the waivers option; index is its place in the list (the name errors use)."""

    index: int
    hosts: Tuple[str, ...]
    settings: Tuple[str, ...]
    owner: str
    justification: str
    ticket: Optional[str]
    expires: date

    @property
    def label(self) -> str:
        ticket = f", {self.ticket}" if self.ticket else ""
        return f"waiver {self.index} ({self.owner}{ticket}, until {self.expires.isoformat()})"

    def covers(self, host: str) -> bool:
        """An inventory name or a shell-style pattern (fnmatch), compared case-insensitively."""
        return any(fnmatch.fnmatchcase(host.lower(), p.lower()) for p in self.hosts)


@dataclass(frozen=True)
class AppliedWaiver:
    """A waiver as it stands for one host today."""

    waiver: Waiver
    state: str
    days_left: int

    @property
    def active(self) -> bool:
        return self.state != EXPIRED

    def to_dict(self) -> Dict[str, Any]:
        w = self.waiver
        return {
            "index": w.index,
            "settings": list(w.settings),
            "owner": w.owner,
            "justification": w.justification,
            "ticket": w.ticket,
            "expires": w.expires.isoformat(),
            "state": self.state,
            "days_left": self.days_left,
        }


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TaskFailed(f"{where}.{key}: expected non-empty text, got {value!r}")
    return value.strip()


def _names(entry: Mapping[str, Any], key: str, where: str) -> Tuple[str, ...]:
    value = entry.get(key)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise TaskFailed(f"{where}.{key}: expected a non-empty list of names, got {value!r}")
    return tuple(v.strip() for v in value)


def _waiver(index: int, entry: Any) -> Waiver:
    where = f"waivers[{index}]"
    if not isinstance(entry, Mapping):
        raise TaskFailed(f"{where}: expected a dict, got {type(entry).__name__}")
    unknown = sorted(str(k) for k in entry if k not in _KEYS)
    if unknown:
        raise TaskFailed(f"{where}: unknown keys {', '.join(unknown)}; expected {', '.join(_KEYS)}")
    missing = [k for k in _REQUIRED if entry.get(k) in (None, "", [])]
    if missing:
        raise TaskFailed(f"{where}: missing {', '.join(missing)}")
    settings = _names(entry, "settings", where)
    bad = [s for s in settings if s not in SETTING_NAMES]
    if bad:
        raise TaskFailed(
            f"{where}.settings: unknown setting names {', '.join(bad)}; expected some of: "
            + ", ".join(SETTING_NAMES)
        )
    raw = entry.get("expires")
    if isinstance(raw, datetime):  # an unquoted 2026-12-31 10:00:00 in YAML
        raise TaskFailed(f"{where}.expires: expected a date YYYY-MM-DD, got the time {raw}")
    if isinstance(raw, date):  # YAML reads an unquoted 2026-12-31 as a date
        expires = raw
    elif isinstance(raw, str) and _DATE.match(raw.strip()):
        try:
            expires = date.fromisoformat(raw.strip())
        except ValueError:
            raise TaskFailed(f"{where}.expires: {raw!r} is not a date") from None
    else:
        raise TaskFailed(f"{where}.expires: expected a date YYYY-MM-DD, got {raw!r}")
    ticket = entry.get("ticket")
    if ticket is not None and not isinstance(ticket, str):
        raise TaskFailed(f"{where}.ticket: expected text, got {ticket!r}")
    return Waiver(
        index=index,
        hosts=_names(entry, "hosts", where),
        settings=settings,
        owner=_text(entry, "owner", where),
        justification=_text(entry, "justification", where),
        ticket=ticket.strip() if ticket else None,
        expires=expires,
    )


def parse_waivers(raw: Optional[Sequence[Any]]) -> Tuple[Waiver, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, (list, tuple)):
        raise TaskFailed(f"waivers: expected a list, got {type(raw).__name__}")
    return tuple(_waiver(i, entry) for i, entry in enumerate(raw))


def waivers_for(
    host: str, waivers: Sequence[Waiver], today: date, warning_days: int
) -> Dict[str, AppliedWaiver]:
    """Per setting, the waiver that stands for this host: the one that runs longest, and an
    expired one only when none runs (so the reason can name it)."""
    out: Dict[str, AppliedWaiver] = {}
    for w in waivers:
        if not w.covers(host):
            continue
        days = (w.expires - today).days
        state = EXPIRED if days < 0 else EXPIRING if days <= warning_days else ACTIVE
        applied = AppliedWaiver(w, state, days)
        for name in w.settings:
            held = out.get(name)
            if held is None or (applied.active, days) > (held.active, held.days_left):
                out[name] = applied
    return out


def waiver_warnings(host: str, applied: Mapping[str, AppliedWaiver]) -> List[str]:
    """One warning per waiver that expires soon or has expired, naming its settings."""
    by_waiver: Dict[int, List[str]] = {}
    seen: Dict[int, AppliedWaiver] = {}
    for name, a in applied.items():
        if a.state != ACTIVE:
            by_waiver.setdefault(a.waiver.index, []).append(name)
            seen[a.waiver.index] = a
    warnings = []
    for index, names in sorted(by_waiver.items()):
        a = seen[index]
        if a.state == EXPIRED:
            what = f"expired {-a.days_left} day{'s' if a.days_left != -1 else ''} ago"
            tail = "; the settings are judged again"
        else:
            what = f"expires in {a.days_left} day{'s' if a.days_left != 1 else ''}"
            tail = ""
        warnings.append(f"{host}: {a.waiver.label} for {', '.join(sorted(names))} {what}{tail}")
    return warnings
