# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options that win_smb_signing and win_smb_signing_facts share, worded once."""

from __future__ import annotations


class ModuleDocFragment:
    # The per-profile and per-host layers on top of a baseline.
    OVERRIDES = r"""
options:
  profile_overrides:
    description:
      - Overrides of the baseline per profile (C(domain_controller), C(member_server),
        C(standalone_server), C(member_workstation), C(standalone_workstation)), each a dict of
        setting name to true, false or null (null keeps the value under it).
      - Applied once the read has shown the host's profile (from
        C(Win32_ComputerSystem.DomainRole)), so the C(expected) value and the verdict of each
        setting in RV(ansible_facts.smb_signing) reflect them without a second read.
    type: dict
  overrides:
    description:
      - Overrides for this host, on top of O(baseline) and O(profile_overrides), as a dict of
        setting name to true, false or null.
      - The options of M(winhardening.smb.win_smb_signing) that set one setting by name, such as
        O(winhardening.smb.win_smb_signing#module:server_require), win over both.
    type: dict
"""

    # Where the wire probe goes and how long it may take.
    PROBE = r"""
options:
  probe_address:
    description:
      - The address to probe. Defaults to the host's C(ansible_host), else its inventory name.
    type: str
  probe_port:
    description:
      - The TCP port to probe. Defaults to the host variable C(smb_signing_probe_port) when set,
        else 445.
    type: int
  probe_timeout:
    description:
      - Overall time limit of the probe, in seconds (above 0, at most 60). It covers the
        connection, both negotiate attempts and every read, so a server that answers one byte at
        a time cannot stretch it.
    type: float
    default: 3.0
"""
