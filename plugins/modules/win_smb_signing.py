#!/usr/bin/python
# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the implementation is the action plugin of the same name.

DOCUMENTATION = r"""
---
module: win_smb_signing
short_description: Enforce SMB server and client signing on Windows
version_added: 0.1.0
description:
  - Sets the four SMB signing Security Options and the two signing-audit settings through
    C(Set-SmbServerConfiguration) and C(Set-SmbClientConfiguration), which Microsoft documents and
    which update the registry.
  - Every option is optional. An option left out, with no O(baseline), leaves that setting alone.
    With O(baseline), every setting the baseline sets for the host's profile is enforced, and an
    option given explicitly overrides the baseline's value.
  - One WinRM round trip when nothing needs to change; two when something does (the read, then
    the writes and a read-back in a single script).
  - Check mode computes RV(changed) and the diff and writes nothing.
  - A setting that a GPO owns is reported before it is changed. With
    O(on_gpo_conflict=warn) (the default) it is written with a warning that names the GPO and
    says when Windows will put the GPO's value back; with O(on_gpo_conflict=fail) the task
    fails before anything is written.
  - Turning any setting from enabled to disabled is refused unless O(allow_weakening=true).
  - What applied is judged from the read-back, not from the writes' own reports. If some writes
    apply and others do not, the task fails and lists both.
  - Sets RV(ansible_facts.smb_signing) (the same schema as M(winhardening.smb.win_smb_signing_facts))
    for the state after the run, built from the one read, the write's read-back and the wire
    probe, with no further round trip; with O(verify=true) it fails a host that is still not
    compliant, so a caller needs no second read to verify.
  - O(profile_overrides) and O(overrides) are applied on top of the baseline once the read has
    shown the host's profile, so one task serves a whole fleet of mixed profiles.
  - The audit-first gate (O(require_clean_audit)) withholds only the server requirement, writes
    the other settings, and then fails the host naming the unsigned clients.
author:
  - winhardening.smb maintainers (@winhardening)
options:
  server_require:
    description:
      - "Microsoft network server: Digitally sign communications (always)."
      - Registry C(HKLM\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters\RequireSecuritySignature).
      - This is the setting that makes the host's SMB2/3 server require signing.
    type: bool
  server_enable:
    description:
      - "Microsoft network server: Digitally sign communications (if client agrees)."
      - Affects SMB1 only (Microsoft documents EnableSecuritySignature as ignored by SMB2/3);
        CIS and STIG still require it.
    type: bool
  client_require:
    description:
      - "Microsoft network client: Digitally sign communications (always)."
    type: bool
  client_enable:
    description:
      - "Microsoft network client: Digitally sign communications (if server agrees)."
      - Affects SMB1 only.
    type: bool
  audit_unsigned_clients:
    description:
      - "Lanman Server: Audit client does not support signing (C(-AuditClientDoesNotSupportSigning))."
      - Windows Server 2025 and Windows 11 24H2 have it; the 2025-09-09 update (KB5066913)
        back-ports server-side signing auditing to Windows Server 2012 and later.
      - Given explicitly on a host without the parameter, the task fails naming the versions that
        add it. Asked for by a O(baseline) on such a host, it is skipped with a warning.
    type: bool
  audit_unsigned_servers:
    description:
      - "Lanman Workstation: Audit server does not support signing (C(-AuditServerDoesNotSupportSigning))."
      - Windows Server 2025 and Windows 11 24H2 have it. Same rules as O(audit_unsigned_clients).
    type: bool
  baseline:
    description:
      - Take the desired value of every setting the baseline sets for the host's profile.
      - C(cis) and C(stig) set all four signing settings, and C(cis) also sets both audit
        settings; C(microsoft) sets only the two "(always)" settings; C(custom) takes the values
        from O(custom_baseline).
    type: str
    choices: [cis, stig, microsoft, custom]
  custom_baseline:
    description:
      - With O(baseline=custom), the desired value of each setting, by setting name.
    type: dict
  apply:
    description:
      - What to write. C(all) writes every wanted value. C(audit_settings) writes only the two
        signing-audit settings, turned on where the host has them, and judges the rest against
        the baseline without changing it. C(none) writes nothing (a read, judged against the
        baseline and overrides). The explicit setting options need C(all).
    type: str
    choices: [all, audit_settings, none]
    default: all
  require_clean_audit:
    description:
      - The audit-first gate. Do not turn server signing on (server_require) where the SMB server
        audit log names unsigned clients within O(audit_events_since), or cannot show them (the
        log is not available, or auditing of unsigned clients is off). The other settings are
        still written; the task then fails, naming the clients (RV(blocked)).
      - Microsoft's rollout advice is to audit unsigned peers before requiring signing
        (KB5066913; "SMB signing and encryption auditing").
    type: bool
    default: false
  audit_events_since:
    description:
      - Read the audit events this far back (ISO 8601 time, or an age such as C(7d)) into the
        facts, and for the gate. The gate uses C(7d) when this is not given.
    type: str
  max_audit_events:
    description: At most this many audit events are read per log (1 to 1000).
    type: int
    default: 50
  verify:
    description:
      - After writing, fail the host when it is still not compliant (a setting that did not
        take, or the wire disagreeing with the configuration or with the wanted server
        requirement), naming each problem. The wire is then checked even when nothing changed.
        Settings the host does not have are not failures. Not in check mode, and only with
        O(apply=all).
    type: bool
    default: false
  on_gpo_conflict:
    description:
      - What to do when a setting that a GPO owns would change.
      - C(warn) writes it and warns that Group Policy will revert it (security policy is
        re-applied at least every 16 hours, and background refresh runs about every 5 minutes on
        domain controllers and about every 90 minutes on members).
      - C(fail) fails before writing anything. C(ignore) writes it without a warning.
    type: str
    choices: [warn, fail, ignore]
    default: warn
  allow_weakening:
    description:
      - Allow turning a setting from enabled to disabled.
    type: bool
    default: false
  probe:
    description:
      - After a change (and, with O(verify=true), always), send an SMB negotiate from the
        controller and report what the wire shows (RV(observed)), warning when it disagrees with
        the configuration. A refused or closed connection is asked again a few times (7 seconds
        at most); a timeout is not.
      - When the run cannot write the signing settings (O(apply=none) or
        O(apply=audit_settings), or check mode), the probe runs while the read script runs. In
        enforce mode it waits for the plan, and a host that changes is probed once, after its
        write.
    type: bool
    default: true
notes:
  - No restart is needed. Microsoft's policy pages say "Restart requirement None. Changes to this
    policy become effective without a device restart". Existing SMB sessions keep the signing
    they negotiated at session setup; only new sessions see the change. RV(reboot_required) is
    always false.
  - The scripts run as the connection user; C(become) is not applied.
  - If the connection fails while the write script runs, the task fails with
    RV(state_unknown=true); the write may or may not have been applied, and a re-run reads the
    state first and converges.
extends_documentation_fragment:
  - winhardening.smb.smb_signing.overrides
  - winhardening.smb.smb_signing.probe
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The before and after of each managed setting, under its policy display name.
  platform:
    platforms: windows
seealso:
  - module: winhardening.smb.win_smb_signing_facts
  - module: winhardening.smb.smb_signing_probe
"""

EXAMPLES = r"""
- name: Require SMB signing on servers and clients
  winhardening.smb.win_smb_signing:
    server_require: true
    client_require: true

- name: Enforce the CIS baseline, failing on settings a GPO owns
  winhardening.smb.win_smb_signing:
    baseline: cis
    on_gpo_conflict: fail

- name: Audit first, on hosts that have the audit parameters
  winhardening.smb.win_smb_signing:
    audit_unsigned_clients: true
    audit_unsigned_servers: true

- name: One task for a mixed fleet, with the audit-first gate, failing hosts still wrong after it
  winhardening.smb.win_smb_signing:
    baseline: cis
    profile_overrides:
      member_workstation: {server_require: false}
    overrides: "{{ smb_signing_host_overrides | default({}) }}"
    require_clean_audit: true
    audit_events_since: 7d
    verify: true

- name: Turn the SMB1-only "if agrees" server setting off on purpose
  winhardening.smb.win_smb_signing:
    server_enable: false
    allow_weakening: true
"""

RETURN = r"""
changed:
  description: Whether a setting changed (in check mode, whether one would).
  returned: always
  type: bool
settings:
  description: >-
    Per setting name (server_require, server_enable, client_require, client_enable,
    audit_unsigned_clients, audit_unsigned_servers), C(display_name), C(managed) (the task set
    it), C(before), C(after) (the read-back after a write; the planned value in check mode),
    C(changed), C(source) (local, gpo or default, before the change) and C(gpo) (name and id, or
    null). A value is null where the host lacks the setting.
  returned: success
  type: dict
  sample:
    server_require: {display_name: "Microsoft network server: Digitally sign communications (always)",
                     managed: true, before: false, after: true, changed: true, source: default,
                     gpo: null}
gpo_owned:
  description: The changed settings that a GPO owns.
  returned: success
  type: list
  elements: str
  sample: [client_require]
observed:
  description: >-
    The wire check after a change, or always with O(verify=true) (with O(probe)): address, port,
    reachable, dialect, signing_enabled, signing_required, error, detail, agrees_with_config and
    message. Null when nothing changed without O(verify), in check mode without O(verify), or
    with O(probe=false).
  returned: success
  type: dict
ansible_facts:
  description: >-
    C(smb_signing): the host's SMB signing state after the run (docs/facts-schema.md, the same
    schema as M(winhardening.smb.win_smb_signing_facts)), judged against the baseline and the
    overrides. In check mode, the state as read. A written setting's C(value) and
    C(cmdlet_value) come from the write's read-back; its C(registry) fields are as the read
    before the write saw them. Also returned when the task fails after the read.
  returned: when the host was read
  type: dict
  contains:
    smb_signing:
      description: >-
        The SMB signing state; every key is described under
        RV(winhardening.smb.win_smb_signing_facts#module:ansible_facts.smb_signing).
      returned: when the host was read
      type: dict
compliant:
  description: >-
    Whether the host complies after the run (C(compliant) in RV(ansible_facts.smb_signing)).
  returned: success
  type: bool
mode:
  description: C(enforce) with O(apply=all), else C(audit).
  returned: always
  type: str
profile:
  description: The host's profile, from its read.
  returned: always
  type: str
desired:
  description: The wanted value of each setting the host has (baseline, overrides, options).
  returned: always
  type: dict
changes:
  description: The settings that changed (in check mode, that would).
  returned: always
  type: list
  elements: str
blocked:
  description: >-
    When the audit-first gate withheld server signing: C(setting) (server_require), C(peers)
    (the unsigned clients named in the log) and C(message). Null otherwise.
  returned: always
  type: dict
failure:
  description: >-
    Why the task failed, except when the gate alone stopped it (then RV(blocked)); null on
    success. Lets a caller that reads the registered result (the role's report, which runs
    for failed hosts too) tell a failed host from a blocked one.
  returned: always
  type: str
problems:
  description: With O(verify=true), what is still wrong after enforcing.
  returned: failure
  type: list
  elements: str
reboot_required:
  description: Always false; see the notes.
  returned: success
  type: bool
  sample: false
state_unknown:
  description: True when the connection failed while the write script ran.
  returned: failure
  type: bool
applied:
  description: On a partial failure, the settings the read-back shows as applied.
  returned: failure
  type: list
  elements: str
not_applied:
  description: On a partial failure, each setting not applied, with C(wanted), C(read_back) and the write's C(error).
  returned: failure
  type: list
  elements: dict
refused:
  description: The settings the weakening guard refused to disable.
  returned: failure
  type: list
  elements: str
unsupported:
  description: The explicitly requested audit setting this host does not have.
  returned: failure
  type: list
  elements: str
"""
