# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse ``audit_events_since``: an ISO 8601 time or a relative age such as ``7d``.

FOR INTERNAL COLLECTION USE ONLY.

The result is sent to the host as UTC text; Get-WinEvent's StartTime takes it as a DateTime.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Optional

_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: Optional[str], now: Optional[datetime] = None) -> Optional[str]:
    """``YYYY-MM-DDTHH:MM:SSZ`` for the given time or age; ValueError names the option."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    now = now or datetime.now(timezone.utc)
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        moment = now - timedelta(**{_UNITS[unit]: amount})
    else:
        iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
        try:
            moment = datetime.fromisoformat(iso)
        except ValueError:
            raise ValueError(
                "audit_events_since: expected an ISO 8601 time (2026-11-20T00:00:00Z) or a "
                f"relative age such as 30m, 12h, 7d or 2w, got {text!r}"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
    if moment > now:
        raise ValueError(f"audit_events_since: {text!r} is in the future")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
