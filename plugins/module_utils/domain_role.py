# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Win32_ComputerSystem.DomainRole to the profile that picks defaults and baseline values.

DomainRole follows DSROLE_MACHINE_ROLE (learn.microsoft.com/windows/win32/api/dsrole/
ne-dsrole-dsrole_machine_role): 0 standalone workstation, 1 member workstation, 2 standalone
server, 3 member server, 4 backup DC, 5 primary DC. Only the DC holding the PDC emulator role
reports 5; every other DC, read-only ones included, reports 4 (MS-DSSP 3.2.3), so both are
"domain_controller".
"""

from __future__ import annotations

from collections.abc import Mapping

STANDALONE_WORKSTATION = "standalone_workstation"
MEMBER_WORKSTATION = "member_workstation"
STANDALONE_SERVER = "standalone_server"
MEMBER_SERVER = "member_server"
DOMAIN_CONTROLLER = "domain_controller"

PROFILES = (
    STANDALONE_WORKSTATION,
    MEMBER_WORKSTATION,
    STANDALONE_SERVER,
    MEMBER_SERVER,
    DOMAIN_CONTROLLER,
)

DOMAIN_ROLE_PROFILES: Mapping[int, str] = {
    0: STANDALONE_WORKSTATION,
    1: MEMBER_WORKSTATION,
    2: STANDALONE_SERVER,
    3: MEMBER_SERVER,
    4: DOMAIN_CONTROLLER,
    5: DOMAIN_CONTROLLER,
}

WORKSTATION_PROFILES = (STANDALONE_WORKSTATION, MEMBER_WORKSTATION)
SERVER_PROFILES = (STANDALONE_SERVER, MEMBER_SERVER, DOMAIN_CONTROLLER)


def profile_for_domain_role(role: int) -> str:
    """The profile for a DomainRole value; anything but an integer 0-5 raises ValueError."""
    # bool is an int subclass; True would silently map to member_workstation.
    if isinstance(role, bool) or not isinstance(role, int) or role not in DOMAIN_ROLE_PROFILES:
        raise ValueError(f"domain_role must be an integer from 0 to 5, got {role!r}")
    return DOMAIN_ROLE_PROFILES[role]


def check_profile(profile: str) -> str:
    """Return profile unchanged if it is known, else raise ValueError naming it."""
    if profile not in PROFILES:
        raise ValueError(
            "unknown profile {!r}; expected one of: {}".format(profile, ", ".join(PROFILES))
        )
    return profile


def is_workstation_profile(profile: str) -> bool:
    return check_profile(profile) in WORKSTATION_PROFILES
