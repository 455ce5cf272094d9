# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The task's options: argument specs, and every check that needs more than a type, once.

FOR INTERNAL COLLECTION USE ONLY.

The action plugins validate their arguments against these specs, then call parse_options; every
later step reads the typed TaskOptions, never the raw arguments. An error names the option.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, Mapping, Optional, Tuple

from ansible_collections.winhardening.smb.plugins.module_utils import baselines
from ansible_collections.winhardening.smb.plugins.module_utils.catalog import SETTING_NAMES
from ansible_collections.winhardening.smb.plugins.module_utils.domain_role import PROFILES

from .errors import TaskFailed
from .waivers import DEFAULT_WARNING_DAYS, Waiver, parse_waivers

MODES = ("enforce", "audit")
GPO_CONFLICT_CHOICES = ("warn", "fail", "ignore")
DEFAULT_PROBE_PORT = 445
DEFAULT_PROBE_TIMEOUT = 3.0
# How long a script may take before the task gives up on it (the connection plugins wait without
# a bound of their own): far above a read on a busy domain controller.
DEFAULT_SCRIPT_TIMEOUT = 300.0
# The audit-first gate reads the server audit log this far back when audit_window is not given.
DEFAULT_GATE_WINDOW = "7d"
# The shortest window the audit-first gate accepts: an empty log over minutes proves nothing.
MIN_GATE_WINDOW = timedelta(hours=1)
MAX_AUDIT_PEERS = 1000
# The most events read_state reads from one audit log (newest first, Get-WinEvent -MaxEvents):
# each is parsed for its peer, so an unbounded read of a noisy log could outlast script_timeout.
# A log that reaches it is reported as truncated; its count is then a lower bound, which still
# keeps the gate closed (any event does).
MAX_AUDIT_EVENTS = 10000

_SHARED: Dict[str, Dict[str, Any]] = {
    "custom_baseline": {"type": "dict"},
    "profiles": {"type": "dict"},
    "host_overrides": {"type": "dict"},
    "audit_window": {"type": "str"},
    "max_audit_peers": {"type": "int", "default": 50},
    "probe": {"type": "bool", "default": True},
    "probe_address": {"type": "str"},
    "probe_port": {"type": "int"},
    "probe_timeout": {"type": "float", "default": DEFAULT_PROBE_TIMEOUT},
    "script_timeout": {"type": "float", "default": DEFAULT_SCRIPT_TIMEOUT},
    "host_warnings": {"type": "bool", "default": True},
    "waivers": {"type": "list", "elements": "raw"},
    "waiver_warning_days": {"type": "int", "default": DEFAULT_WARNING_DAYS},
}

FACTS_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    "baseline": {"type": "str", "default": "cis", "choices": list(baselines.BASELINES)},
    **_SHARED,
}

ENFORCE_ARGUMENT_SPEC: Dict[str, Dict[str, Any]] = {
    **{name: {"type": "bool"} for name in SETTING_NAMES},
    "baseline": {"type": "str", "choices": list(baselines.BASELINES)},
    **_SHARED,
    "mode": {"type": "str", "default": "enforce", "choices": list(MODES)},
    "enable_audit": {"type": "bool", "default": False},
    "require_clean_audit": {"type": "bool", "default": False},
    "verify": {"type": "bool", "default": False},
    "on_gpo_conflict": {"type": "str", "default": "warn", "choices": list(GPO_CONFLICT_CHOICES)},
    "allow_weakening": {"type": "bool", "default": False},
    "rollback": {"type": "dict"},
}

# baseline=custom takes its values from custom_baseline or the overrides, so it needs one of them.
REQUIRED_IF = [("baseline", "custom", ["custom_baseline", "profiles", "host_overrides"], True)]

_RELATIVE = re.compile(r"^\s*(\d{1,7})\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class ProbeTarget:
    address: str
    port: int
    timeout: float


@dataclass(frozen=True)
class AuditWindow:
    """The audit window as given, where it starts (UTC text for the host) and, for a relative
    window such as 7d, its length (the gate says from when it can open)."""

    text: str
    start: datetime
    length: Optional[timedelta]

    @property
    def start_text(self) -> str:
        return self.start.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TaskOptions:
    baseline: str
    custom_baseline: Optional[Mapping[str, Optional[bool]]]
    profiles: Mapping[str, Mapping[str, Optional[bool]]]
    host_overrides: Mapping[str, Optional[bool]]
    # Settings given as options by name (win_smb_signing only); they outrank everything.
    explicit: Mapping[str, bool]
    mode: str
    enable_audit: bool
    require_clean_audit: bool
    audit_window: Optional[AuditWindow]
    max_audit_peers: int
    verify: bool
    on_gpo_conflict: str
    allow_weakening: bool
    probe: Optional[ProbeTarget]
    check_mode: bool
    script_timeout: float = DEFAULT_SCRIPT_TIMEOUT
    # Raise the host's warnings on its task; off, they stay in the facts for the report, which
    # prints each repeated one once per play.
    host_warnings: bool = True
    # Rollback: per setting, (the value a recorded run wrote, the value it had before that run).
    rollback: Mapping[str, Tuple[bool, bool]] = field(default_factory=dict)
    waivers: Tuple[Waiver, ...] = ()
    waiver_warning_days: int = DEFAULT_WARNING_DAYS
    # The controller's UTC date, which waivers expire against.
    today: date = date(1970, 1, 1)

    @property
    def may_write(self) -> bool:
        """Whether this run writes anything at all: enforce, or audit asked to turn auditing on."""
        return not self.check_mode and (self.mode == "enforce" or self.enable_audit)


def parse_audit_window(
    text: Optional[str], now: Optional[datetime] = None
) -> Optional[AuditWindow]:
    """An ISO 8601 time or a relative age such as 7d; ValueError names the option."""
    if text is None or str(text).strip() == "":
        return None
    raw = str(text).strip()
    now = now or datetime.now(timezone.utc)
    match = _RELATIVE.match(raw)
    length: Optional[timedelta] = None
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        try:
            length = timedelta(**{_UNITS[unit]: amount})
            start = now - length
        except OverflowError:
            raise ValueError(f"audit_window: {raw!r} reaches back before the year 1") from None
    else:
        iso = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
        try:
            start = datetime.fromisoformat(iso)
        except ValueError:
            raise ValueError(
                "audit_window: expected an ISO 8601 time (2026-11-20T00:00:00Z) or a relative "
                f"age such as 30m, 12h, 7d or 2w, got {raw!r}"
            ) from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
    if start > now:
        raise ValueError(f"audit_window: {raw!r} is in the future")
    try:
        start = start.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"audit_window: {raw!r} reaches back before the year 1") from None
    return AuditWindow(text=raw, start=start, length=length)


def _values(raw: Any, option: str) -> Dict[str, Optional[bool]]:
    try:
        return baselines.validate_custom(raw)
    except ValueError as exc:
        raise TaskFailed(f"{option}: {exc}") from None


def _profiles(raw: Optional[Mapping[str, Any]]) -> Dict[str, Dict[str, Optional[bool]]]:
    if raw is None:
        return {}
    unknown = sorted(str(p) for p in raw if p not in PROFILES)
    if unknown:
        raise TaskFailed(
            "profiles: unknown profiles: {}; expected some of: {}".format(
                ", ".join(unknown), ", ".join(PROFILES)
            )
        )
    return {str(p): _values(v, f"profiles.{p}") for p, v in raw.items() if v is not None}


def _probe(args: Mapping[str, Any], default_address: Optional[str]) -> Optional[ProbeTarget]:
    if not args.get("probe", True):
        return None
    port = args.get("probe_port")
    port = DEFAULT_PROBE_PORT if port is None else port
    if not 0 < port < 65536:
        raise TaskFailed(f"probe_port: must be between 1 and 65535, got {port}")
    raw = args.get("probe_timeout")
    timeout = DEFAULT_PROBE_TIMEOUT if raw is None else float(raw)
    if not 0 < timeout <= 60:
        raise TaskFailed(f"probe_timeout: must be above 0 and at most 60 seconds, got {raw}")
    address = args.get("probe_address") or default_address
    if not address:
        raise TaskFailed("probe_address: no address to probe; set probe_address")
    return ProbeTarget(str(address), int(port), timeout)


def _rollback(raw: Optional[Mapping[str, Any]]) -> Dict[str, Tuple[bool, bool]]:
    if raw is None:
        return {}
    out: Dict[str, Tuple[bool, bool]] = {}
    for name, spec in raw.items():
        where = f"rollback.{name}"
        if name not in SETTING_NAMES:
            known = ", ".join(SETTING_NAMES)
            raise TaskFailed(f"{where}: unknown setting; expected some of: {known}")
        if not isinstance(spec, Mapping) or set(spec) != {"from", "to"}:
            raise TaskFailed(f"{where}: expected a dict with the keys from and to, got {spec!r}")
        for key in ("from", "to"):
            if not isinstance(spec[key], bool):
                raise TaskFailed(f"{where}.{key}: expected true or false, got {spec[key]!r}")
        out[str(name)] = (spec["from"], spec["to"])
    return out


def parse_options(
    args: Mapping[str, Any],
    *,
    check_mode: bool,
    default_probe_address: Optional[str],
    now: Optional[datetime] = None,
) -> TaskOptions:
    """TaskOptions from arguments already checked against their spec; TaskFailed names the
    option for anything the spec cannot check."""
    baseline = args.get("baseline") or "custom"
    custom = args.get("custom_baseline")
    if custom is not None and args.get("baseline") != "custom":
        raise TaskFailed("custom_baseline: only used with baseline: custom")
    mode = args.get("mode") or "audit"
    explicit = {n: bool(args[n]) for n in SETTING_NAMES if args.get(n) is not None}
    rollback = _rollback(args.get("rollback"))
    if rollback and (mode != "enforce" or explicit):
        raise TaskFailed(
            "rollback: restores recorded values on its own; it needs mode: enforce and no "
            "setting options"
        )
    if mode != "enforce" and explicit:
        raise TaskFailed(
            "mode: audit writes nothing but the audit settings, so it does not write {}; "
            "leave them out or use mode: enforce".format(", ".join(explicit))
        )
    max_peers = int(args.get("max_audit_peers") or 0)
    if not 1 <= max_peers <= MAX_AUDIT_PEERS:
        raise TaskFailed(f"max_audit_peers: must be from 1 to {MAX_AUDIT_PEERS}, got {max_peers}")
    require_clean = bool(args.get("require_clean_audit"))
    window_text = args.get("audit_window")
    if window_text is None and require_clean:
        window_text = DEFAULT_GATE_WINDOW
    try:
        window = parse_audit_window(window_text, now)
    except ValueError as exc:
        raise TaskFailed(str(exc)) from None
    if require_clean and window is not None:
        span = (now or datetime.now(timezone.utc)) - window.start
        if span < MIN_GATE_WINDOW:
            raise TaskFailed(
                f"audit_window: {window.text!r} is shorter than an hour, too short for a clean "
                "log to show that no client would be turned away (require_clean_audit)"
            )
    raw_timeout = args.get("script_timeout")
    script_timeout = DEFAULT_SCRIPT_TIMEOUT if raw_timeout is None else float(raw_timeout)
    if not 1 <= script_timeout <= 86400:
        raise TaskFailed(f"script_timeout: must be from 1 to 86400 seconds, got {script_timeout:g}")
    warning_days = int(args.get("waiver_warning_days", DEFAULT_WARNING_DAYS))
    if not 0 <= warning_days <= 365:
        raise TaskFailed(f"waiver_warning_days: must be from 0 to 365, got {warning_days}")
    return TaskOptions(
        baseline=baseline,
        custom_baseline=_values(custom, "custom_baseline") if custom is not None else None,
        profiles=_profiles(args.get("profiles")),
        host_overrides=(
            _values(args["host_overrides"], "host_overrides")
            if args.get("host_overrides") is not None
            else {}
        ),
        explicit=explicit,
        mode=mode,
        enable_audit=bool(args.get("enable_audit")),
        require_clean_audit=require_clean,
        audit_window=window,
        max_audit_peers=max_peers,
        verify=bool(args.get("verify")),
        on_gpo_conflict=str(args.get("on_gpo_conflict") or "warn"),
        allow_weakening=bool(args.get("allow_weakening")),
        probe=_probe(args, default_probe_address),
        check_mode=check_mode,
        script_timeout=script_timeout,
        host_warnings=bool(args.get("host_warnings", True)),
        rollback=rollback,
        waivers=parse_waivers(args.get("waivers")),
        waiver_warning_days=warning_days,
        today=(now or datetime.now(timezone.utc)).date(),
    )
