"""Win32_ComputerSystem.DomainRole to profile."""

from __future__ import annotations

import pytest

from ansible_collections.winhardening.smb.plugins.module_utils.domain_role import (
    PROFILES,
    check_profile,
    is_workstation_profile,
    profile_for_domain_role,
)


@pytest.mark.parametrize(
    ("role", "profile"),
    [
        (0, "standalone_workstation"),
        (1, "member_workstation"),
        (2, "standalone_server"),
        (3, "member_server"),
        (4, "domain_controller"),  # backup DC: every DC but the PDC emulator, RODCs included
        (5, "domain_controller"),  # primary DC: the PDC emulator
    ],
)
def test_domain_role_maps_to_profile(role: int, profile: str) -> None:
    assert profile_for_domain_role(role) == profile


@pytest.mark.parametrize("bad", [-1, 6, 99, True, False, "3", None, 3.0])
def test_bad_domain_role_names_the_value(bad: object) -> None:
    with pytest.raises(ValueError, match="domain_role") as info:
        profile_for_domain_role(bad)  # type: ignore[arg-type]
    assert repr(bad) in str(info.value)


def test_every_profile_is_reachable() -> None:
    assert {profile_for_domain_role(r) for r in range(6)} == set(PROFILES)


def test_check_profile() -> None:
    assert check_profile("member_server") == "member_server"
    with pytest.raises(ValueError, match="'pdc'"):
        check_profile("pdc")


def test_is_workstation_profile() -> None:
    assert is_workstation_profile("member_workstation")
    assert not is_workstation_profile("domain_controller")
