"""written.py: what a write did, judged from its read-back, not from the cmdlets' own reports."""

from __future__ import annotations

from unit.plugins.plugin_utils._engine.answers import ABSENT, SERVER_AUDIT, outcome, write_result

from ansible_collections.winhardening.smb.plugins.module_utils.compliance import Change
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.written import (
    not_applied,
    write_warnings,
)

ON = [
    Change("server_require", False, True),
    Change("client_require", False, True),
]


def test_everything_applied() -> None:
    out = outcome(
        results=[
            write_result("server", "RequireSecuritySignature", True),
            write_result("client", "RequireSecuritySignature", True),
        ],
        settings={"server_require": True, "client_require": True},
    )
    assert not_applied(ON, out) == []
    assert write_warnings("host01", out) == []


def test_a_change_the_read_back_does_not_show_with_the_write_s_error() -> None:
    out = outcome(
        results=[
            write_result("server", "RequireSecuritySignature", True),
            write_result("client", "RequireSecuritySignature", True, False, "Access is denied."),
        ],
        settings={"server_require": True},
    )
    assert not_applied(ON, out) == [
        "client_require (wanted True, read back False: Access is denied.)"
    ]


def test_the_read_back_decides_over_an_ok_report() -> None:
    # The cmdlet said ok, but the read-back shows the old value.
    out = outcome(results=[write_result("server", "RequireSecuritySignature", True)])
    assert not_applied(ON[:1], out) == ["server_require (wanted True, read back False)"]


def test_errors_belong_to_their_side() -> None:
    # The client's write failed; the server's did not apply without an error of its own.
    out = outcome(
        results=[
            write_result("server", "RequireSecuritySignature", True),
            write_result("client", "RequireSecuritySignature", True, False, "client says no"),
        ],
    )
    missed = not_applied(ON, out)
    assert missed == [
        "server_require (wanted True, read back False)",
        "client_require (wanted True, read back False: client says no)",
    ]


def test_a_property_missing_from_the_read_back() -> None:
    out = outcome(server_config={SERVER_AUDIT: ABSENT})
    missed = not_applied([Change("audit_unsigned_clients", False, True)], out)
    assert missed == ["audit_unsigned_clients (wanted True, read back None)"]


def test_a_weakening_that_applied() -> None:
    out = outcome(settings={"server_enable": False})
    assert not_applied([Change("server_enable", True, False)], out) == []


def test_an_error_although_the_value_is_in_place_is_a_warning() -> None:
    out = outcome(
        results=[
            write_result("server", "RequireSecuritySignature", True, False, "WMI timeout"),
            write_result("client", "RequireSecuritySignature", True, False, "Access is denied."),
            write_result("client", "EnableSecuritySignature", True, False, None),
        ],
        settings={"server_require": True, "client_enable": True},
    )
    assert write_warnings("host01", out) == [
        "host01: server RequireSecuritySignature: the write reported an error although the "
        "read-back decides: WMI timeout"
    ]
    # The client's failure that did not apply is not_applied's business.
    assert not_applied(ON, out) == [
        "client_require (wanted True, read back False: Access is denied.)"
    ]


def test_a_marker_error_is_a_warning() -> None:
    out = outcome(marker_error="Access to the registry key is denied.")
    assert write_warnings("web02", out) == [
        "web02: could not record since when auditing is on: Access to the registry key is denied."
    ]
