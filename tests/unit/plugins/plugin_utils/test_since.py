"""audit_events_since: ISO 8601 times and relative ages, in UTC."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ansible_collections.winhardening.smb.plugins.plugin_utils._since import parse_since

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("7d", "2026-11-18T12:00:00Z"),
        ("12h", "2026-11-25T00:00:00Z"),
        ("30m", "2026-11-25T11:30:00Z"),
        ("2w", "2026-11-11T12:00:00Z"),
        ("2026-11-20T00:00:00Z", "2026-11-20T00:00:00Z"),
        ("2026-11-20T02:00:00+02:00", "2026-11-20T00:00:00Z"),
        ("2026-11-20", "2026-11-20T00:00:00Z"),
    ],
)
def test_parses(value: str, expected: str) -> None:
    assert parse_since(value, now=NOW) == expected


@pytest.mark.parametrize("value", ["yesterday", "7 days", "-7d", "2026-13-01"])
def test_bad_values_name_the_option(value: str) -> None:
    with pytest.raises(ValueError, match="audit_events_since: expected an ISO 8601 time"):
        parse_since(value, now=NOW)


def test_future_is_refused() -> None:
    with pytest.raises(ValueError, match="in the future"):
        parse_since("2027-01-01T00:00:00Z", now=NOW)
