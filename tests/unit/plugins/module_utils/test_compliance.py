"""Compliance verdicts, change plans and the weakening guard."""

from __future__ import annotations

import pytest

from ansible_collections.winhardening.smb.plugins.module_utils.baselines import desired_values
from ansible_collections.winhardening.smb.plugins.module_utils.catalog import SETTING_NAMES
from ansible_collections.winhardening.smb.plugins.module_utils.compliance import (
    APPLY_ORDER,
    Change,
    evaluate,
    plan_changes,
)

# A pre-24H2 member server out of the box, with no signing audit support.
MEMBER_SERVER_DEFAULTS: dict[str, bool | None] = {
    "server_require": False,
    "server_enable": False,
    "client_require": False,
    "client_enable": True,
    "audit_unsigned_clients": None,
    "audit_unsigned_servers": None,
}


def test_evaluate_against_cis() -> None:
    verdicts = evaluate(
        MEMBER_SERVER_DEFAULTS,
        desired_values("cis", "member_server"),
        baseline="cis",
        sources={"server_require": "local", "client_enable": "default"},
    )
    assert list(verdicts) == list(SETTING_NAMES)
    assert verdicts["server_require"].compliant is False
    assert verdicts["server_require"].reason == "required by cis; found disabled (local)"
    assert verdicts["client_enable"].compliant is True
    assert verdicts["client_enable"].reason == "required by cis; found enabled (default)"
    assert verdicts["audit_unsigned_clients"].compliant is None
    assert (
        verdicts["audit_unsigned_clients"].reason == "required by cis; not supported on this host"
    )


def test_evaluate_not_set_by_baseline_is_undecided() -> None:
    verdicts = evaluate(MEMBER_SERVER_DEFAULTS, desired_values("microsoft", "member_server"))
    assert verdicts["client_enable"].compliant is None
    assert verdicts["client_enable"].reason == "not set by the baseline; found enabled"
    assert verdicts["client_require"].compliant is False


def test_evaluate_disabled_wanted() -> None:
    verdicts = evaluate({"server_enable": True}, {"server_enable": False}, baseline="custom")
    assert verdicts["server_enable"].compliant is False
    assert verdicts["server_enable"].reason == "disabled by custom; found enabled"
    assert (verdicts["server_enable"].current, verdicts["server_enable"].desired) == (True, False)


def test_evaluate_all_compliant() -> None:
    current = {name: True for name in SETTING_NAMES}
    verdicts = evaluate(current, desired_values("cis", "domain_controller"))
    assert all(v.compliant is True for v in verdicts.values())


@pytest.mark.parametrize(
    ("current", "desired", "message"),
    [
        ({"server": True}, {}, "current has unknown setting names: server"),
        ({}, {"client_required": True}, "desired has unknown setting names: client_required"),
        (
            {"server_require": 1},
            {},
            "current values must be true, false or null, got: server_require=1",
        ),
        ({}, {"server_require": "yes"}, "desired values must be .* server_require='yes'"),
    ],
)
def test_evaluate_rejects_bad_input(
    current: dict[str, object], desired: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(current, desired)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        plan_changes(current, desired)  # type: ignore[arg-type]


def test_plan_from_defaults_to_cis() -> None:
    plan = plan_changes(MEMBER_SERVER_DEFAULTS, desired_values("cis", "member_server"))
    assert plan.changes == (
        Change("server_enable", False, True),
        Change("client_require", False, True),
        Change("server_require", False, True),
    )
    assert plan.refused == ()
    assert [u.name for u in plan.unsupported] == [
        "audit_unsigned_clients",
        "audit_unsigned_servers",
    ]
    assert all(u.desired is True for u in plan.unsupported)
    assert plan.changed
    assert plan.apply_request() == {
        "server": {"EnableSecuritySignature": True, "RequireSecuritySignature": True},
        "client": {"RequireSecuritySignature": True},
    }
    # Server requirement goes last: it is what turns peers away.
    assert list(plan.apply_request()["server"]) == [
        "EnableSecuritySignature",
        "RequireSecuritySignature",
    ]


def test_plan_skips_equal_and_unset() -> None:
    current = {name: True for name in SETTING_NAMES}
    assert plan_changes(current, desired_values("cis", "member_server")).changes == ()
    plan = plan_changes(MEMBER_SERVER_DEFAULTS, desired_values("microsoft", "member_server"))
    assert [c.name for c in plan.changes] == ["client_require", "server_require"]
    assert plan.unsupported == ()  # the audits are not set by microsoft


def test_weakening_is_refused_by_default() -> None:
    current = {"server_require": True, "client_require": False}
    desired = {"server_require": False, "client_require": True}
    plan = plan_changes(current, desired)
    assert plan.changes == (Change("client_require", False, True),)
    assert len(plan.refused) == 1
    refused = plan.refused[0]
    assert (refused.name, refused.before, refused.after) == ("server_require", True, False)
    assert "server_require" in refused.reason
    assert "allow_weakening" in refused.reason
    assert "Microsoft network server: Digitally sign communications (always)" in refused.reason


def test_weakening_allowed_when_asked() -> None:
    plan = plan_changes({"server_require": True}, {"server_require": False}, allow_weakening=True)
    assert plan.changes == (Change("server_require", True, False),)
    assert plan.changes[0].weakening
    assert plan.refused == ()


def test_strengthening_is_not_weakening() -> None:
    assert not Change("server_require", False, True).weakening


def test_empty_plan() -> None:
    plan = plan_changes({}, {})
    assert not plan.changed
    assert plan.apply_request() == {}


def test_apply_order_covers_the_catalog() -> None:
    assert sorted(APPLY_ORDER) == sorted(SETTING_NAMES)
