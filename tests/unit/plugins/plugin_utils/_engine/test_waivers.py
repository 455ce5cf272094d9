"""Waivers: parsing (errors name the entry and key), matching hosts, and their state by date."""

from __future__ import annotations

from datetime import date
from typing import Any, Dict

import pytest

from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.errors import TaskFailed
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.waivers import (
    ACTIVE,
    EXPIRED,
    EXPIRING,
    parse_waivers,
    waiver_warnings,
    waivers_for,
)

TODAY = date(2026, 12, 2)


def entry(**changes: Any) -> Dict[str, Any]:
    base: Dict[str, Any] = {
        "hosts": ["scanner-*"],
        "settings": ["server_require"],
        "owner": "facilities",
        "justification": "firmware cannot sign",
        "ticket": "CHG-1",
        "expires": "2027-03-31",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_a_valid_entry_parses() -> None:
    (w,) = parse_waivers([entry()])
    assert (w.index, w.hosts, w.settings, w.owner, w.ticket) == (
        0,
        ("scanner-*",),
        ("server_require",),
        "facilities",
        "CHG-1",
    )
    assert w.expires == date(2027, 3, 31)
    # YAML reads an unquoted date as a date, which is taken as it is; ticket is optional.
    (w2,) = parse_waivers([entry(expires=date(2027, 1, 1), ticket=None)])
    assert (w2.expires, w2.ticket) == (date(2027, 1, 1), None)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (entry(owner=None), "waivers[1]: missing owner"),
        (entry(justification=""), "waivers[1]: missing justification"),
        (entry(hosts=[]), "waivers[1]: missing hosts"),
        (entry(expires="31/03/2027"), "waivers[1].expires: expected a date YYYY-MM-DD"),
        (entry(expires="2027-02-30"), "waivers[1].expires: '2027-02-30' is not a date"),
        (entry(settings=["server_requires"]), "waivers[1].settings: unknown setting names"),
        (entry(hosts=[1]), "waivers[1].hosts: expected a non-empty list of names"),
        (entry(ticket=7), "waivers[1].ticket: expected text"),
        ({**entry(), "until": "x"}, "waivers[1]: unknown keys until"),
        ("scanner", "waivers[1]: expected a dict"),
    ],
)
def test_errors_name_the_entry_and_the_key(bad: Any, message: str) -> None:
    with pytest.raises(TaskFailed) as info:
        parse_waivers([entry(), bad])
    assert info.value.msg.startswith(message), info.value.msg


def test_hosts_match_by_name_or_pattern_without_case() -> None:
    (w,) = parse_waivers([entry(hosts=["Scanner-*", "nas01"])])
    assert w.covers("scanner-07")
    assert w.covers("NAS01")
    assert not w.covers("nas011")
    assert not w.covers("dc01")


@pytest.mark.parametrize(
    ("expires", "state", "days"),
    [
        ("2027-03-31", ACTIVE, 119),
        ("2026-12-16", EXPIRING, 14),
        ("2026-12-02", EXPIRING, 0),  # the last day still waives
        ("2026-12-01", EXPIRED, -1),
    ],
)
def test_state_by_date(expires: str, state: str, days: int) -> None:
    waivers = parse_waivers([entry(expires=expires)])
    applied = waivers_for("scanner-07", waivers, TODAY, 14)["server_require"]
    assert (applied.state, applied.days_left, applied.active) == (state, days, state != EXPIRED)
    assert waivers_for("dc01", waivers, TODAY, 14) == {}


def test_a_running_waiver_outranks_an_expired_one() -> None:
    waivers = parse_waivers([entry(expires="2026-01-01"), entry(expires="2027-01-01")])
    assert waivers_for("scanner-1", waivers, TODAY, 14)["server_require"].waiver.index == 1


def test_warnings_name_the_waiver_its_settings_and_when() -> None:
    waivers = parse_waivers(
        [
            entry(expires="2026-12-07", settings=["server_require", "client_require"]),
            entry(expires="2026-11-30", settings=["server_enable"]),
            entry(expires="2027-06-01", settings=["client_enable"]),
        ]
    )
    warnings = waiver_warnings("scanner-1", waivers_for("scanner-1", waivers, TODAY, 14))
    assert warnings == [
        "scanner-1: waiver 0 (facilities, CHG-1, until 2026-12-07) for client_require, "
        "server_require expires in 5 days",
        "scanner-1: waiver 1 (facilities, CHG-1, until 2026-11-30) for server_enable expired 2 "
        "days ago; the settings are judged again",
    ]


def test_a_yaml_timestamp_in_expires_is_an_error_naming_the_key() -> None:
    from datetime import datetime

    with pytest.raises(TaskFailed, match=r"^waivers\[0\]\.expires: expected a date YYYY-MM-DD"):
        parse_waivers([entry(expires=datetime(2026, 12, 31, 10, 0))])
