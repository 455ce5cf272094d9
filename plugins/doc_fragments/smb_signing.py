# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options that win_smb_signing and win_smb_signing_facts share, worded once."""

from __future__ import annotations


class ModuleDocFragment:
    # What both modules judge against, and how they read the host and the wire.
    SHARED = r"""
options:
  custom_baseline:
    description:
      - With O(baseline=custom), the desired value of each setting, by setting name
        (C(server_require), C(server_enable), C(client_require), C(client_enable),
        C(audit_unsigned_clients), C(audit_unsigned_servers)). A setting left out is not judged.
    type: dict
  profiles:
    description:
      - Overrides of the baseline per profile (C(domain_controller), C(member_server),
        C(standalone_server), C(member_workstation), C(standalone_workstation)), each a dict of
        setting name to true, false or null (null keeps the value under it).
      - Applied once the read has shown the host's profile (from
        C(Win32_ComputerSystem.DomainRole)), so the C(expected) value and the verdict of each
        setting in RV(ansible_facts.smb_signing) reflect them without a second read.
      - The role passes its C(smb_signing_profiles) here.
    type: dict
  host_overrides:
    description:
      - Overrides for this host, on top of O(baseline) and O(profiles), as a dict of setting
        name to true, false or null. This changes the host's target; it is not an exception.
      - The options of M(winhardening.smb.win_smb_signing) that set one setting by name, such as
        O(winhardening.smb.win_smb_signing#module:server_require), win over both.
      - The role passes its C(smb_signing_host_overrides) here.
    type: dict
  audit_window:
    description:
      - Count the SMB signing audit events (C(Microsoft-Windows-SMBServer/Audit) ids 3021 and
        3022, C(Microsoft-Windows-SMBClient/Audit) ids 31998 and 31999) logged since this time,
        per peer, on the host.
      - An ISO 8601 time (C(2026-11-20T00:00:00Z); a time without an offset is taken as UTC) or
        an age such as C(30m), C(12h), C(7d) or C(2w).
      - Not set skips the event query (except for the audit-first gate of
        M(winhardening.smb.win_smb_signing), which then uses C(7d)).
      - At most the newest 10,000 events are read per log, so a noisy log is read in bounded
        time; a log that reaches the bound says C(truncated) and its counts are lower bounds.
    type: str
  max_audit_peers:
    description:
      - The events are grouped by peer on the host over the whole window; at most this many
        peers (those with the most events) are listed per log, 1 to 1000. The number of peers
        left out is always given.
    type: int
    default: 50
  host_warnings:
    description:
      - Raise the host's warnings (a wire disagreement, a waiver about to expire, a baseline
        setting the host lacks) on its own task. With C(false) they are only kept in
        RV(ansible_facts.smb_signing) C(warnings); the role sets this so that its report prints a
        warning repeated across a fleet once, with the count and the first hosts.
    type: bool
    default: true
  script_timeout:
    description:
      - How long, in seconds (1 to 86400), the task waits for a script's answer. The connection
        plugins wait without a bound of their own, so a script that never ends would hold the
        task forever. A read that times out fails the host; a write that times out leaves the
        state unknown (RV(winhardening.smb.win_smb_signing#module:state_unknown)), and a re-run
        converges.
    type: float
    default: 300
  waivers:
    description:
      - Known exceptions, each with an owner and an end date. A waived setting on a host is
        neither compliant nor noncompliant while the waiver runs; a host whose only misses are
        waived is C(waived); M(winhardening.smb.win_smb_signing) does not write a waived
        setting. From the day after C(expires) the setting is judged again and a miss makes the
        host C(noncompliant), with a reason that names the expired waiver.
      - Unlike O(host_overrides), which changes a host's target, a waiver keeps the target and
        records why it is not met yet and until when.
      - The role passes its C(smb_signing_waivers) here.
    type: list
    elements: raw
    suboptions:
      hosts:
        description: Inventory names or shell-style patterns (C(scanner-*)), matched without case.
        type: list
        elements: str
        required: true
      settings:
        description: The setting names waived.
        type: list
        elements: str
        required: true
      owner:
        description: Who answers for the exception.
        type: str
        required: true
      justification:
        description: Why the setting cannot be met yet.
        type: str
        required: true
      ticket:
        description: A change or risk ticket.
        type: str
      expires:
        description: The last day the waiver runs, C(YYYY-MM-DD) (controller's UTC date).
        type: str
        required: true
  waiver_warning_days:
    description:
      - Warn about a waiver this many days (0 to 365) before it expires.
    type: int
    default: 14
  probe_address:
    description:
      - The address to probe. Defaults to the address Ansible connects to (C(ansible_host)),
        else the inventory name.
    type: str
  probe_port:
    description:
      - The TCP port to probe; 445 when not given. The role passes its
        C(smb_signing_probe_port) here.
    type: int
  probe_timeout:
    description:
      - Overall time limit of the probe, in seconds (above 0, at most 60). It covers the
        connection, both negotiate attempts and every read, so a server that answers one byte at
        a time cannot stretch it.
    type: float
    default: 3.0
"""

    # The attributes of the controller-side report actions (report, merge, rollback); each
    # module adds its own check_mode details.
    CONTROLLER_REPORT = r"""
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
    details: Reads and writes on the controller.
"""
