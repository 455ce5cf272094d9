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
  - O(profiles) and O(host_overrides) are applied on top of the baseline once the read has
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
  mode:
    description:
      - C(enforce) writes every wanted value the host can take. C(audit) writes nothing (a read,
        judged against the baseline and overrides), except the signing-audit settings with
        O(enable_audit=true). The options that set one setting by name need C(enforce).
      - The role passes its C(smb_signing_mode) here.
    type: str
    choices: [enforce, audit]
    default: enforce
  enable_audit:
    description:
      - Turn the two signing-audit settings on where the host has them, in either mode, so the
        SMB audit logs start naming the peers that cannot sign. The run records on the host
        (C(HKLM\SOFTWARE\winhardening.smb), value C(AuditUnsignedClientsSince)) when server-side
        auditing went on, which the audit-first gate needs.
    type: bool
    default: false
  require_clean_audit:
    description:
      - The audit-first gate. Turn server signing on (server_require) only when the SMB server
        audit log can be read, names no unsigned client within O(audit_window), and auditing
        has been on for that whole window.
      - Since when auditing has been on comes from the host's record, which every run that
        writes keeps in line with the audit setting (written when auditing goes on or is first
        seen on, removed when it goes off). Without a record the gate stays closed.
      - Otherwise the host is C(blocked) (RV(blocked)); the other settings are still written,
        the message names every unsigned client with its count (and how many were left out),
        and C(opens_at) in RV(blocked) says from when waiting can open the gate.
      - Microsoft's rollout advice is to audit unsigned peers before requiring signing
        (KB5066913; "SMB signing and encryption auditing").
    type: bool
    default: false
  verify:
    description:
      - After writing, fail the host when it is still not compliant (a setting that did not
        take, or the wire disagreeing with the configuration or with the wanted server
        requirement), naming each problem. The wire is then checked even when nothing changed.
        Settings the host does not have are not failures. A host whose verdict is
        C(unverified) (the probe had no answer, an owner could not be read) fails too, naming
        what is missing. Not in check mode, and only with O(mode=enforce).
    type: bool
    default: false
  on_gpo_conflict:
    description:
      - What to do when a setting that a GPO owns, or whose owner is unknown because RSoP could
        not be read, would change.
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
  rollback:
    description:
      - Undo a recorded run's changes on this host instead of enforcing a baseline, as a dict of
        setting name to C(from) (the value that run wrote) and C(to) (the value before it).
      - A setting that still holds C(from) is set back to C(to); one that holds anything else
        was changed since by someone else and is left alone (RV(rollback)). Turning a setting
        off is a weakening, so this usually needs O(allow_weakening=true).
      - Needs O(mode=enforce) and no option that sets one setting by name. The
        C(winhardening.smb.rollback) playbook builds this from a report.
    type: dict
  probe:
    description:
      - On every run, send an SMB negotiate from the controller and report what the wire shows
        (RV(observed)), warning when it disagrees with the configuration, so every verdict has
        the wire behind it. A refused or closed connection is asked again a few times (7 seconds
        at most); a timeout is not.
      - When the run cannot write the signing settings (O(mode=audit), or check mode), the probe
        runs while the read script runs. In enforce mode it waits for the plan, and a host that
        changes is probed once, after its write.
    type: bool
    default: true
notes:
  - No restart is needed. Microsoft's policy pages say "Restart requirement None. Changes to this
    policy become effective without a device restart". Existing SMB sessions keep the signing
    they negotiated at session setup; only new sessions see the change. RV(reboot_required) is
    always false.
  - The scripts run as the connection user. C(become) cannot apply to them (they run as raw
    PowerShell through the connection, not through Ansible's module wrapper), so a task with
    C(become) fails with a message saying so instead of ignoring it.
  - If the connection fails while the write script runs, the task fails with
    RV(state_unknown=true); the write may or may not have been applied, and a re-run reads the
    state first and converges.
extends_documentation_fragment:
  - winhardening.smb.smb_signing.shared
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
    profiles:
      member_workstation: {server_require: false}
    host_overrides: "{{ smb_signing_host_overrides | default({}) }}"
    require_clean_audit: true
    audit_window: 7d
    verify: true

- name: Turn the SMB1-only "if agrees" server setting off on purpose
  winhardening.smb.win_smb_signing:
    server_enable: false
    allow_weakening: true
"""

RETURN = r"""
changed:
  description: >-
    Whether a setting changed (in check mode, whether one would), or the host's audit record
    (C(AuditUnsignedClientsSince)) was written or removed; RV(changes) lists only settings, so
    it is empty when the record alone changed.
  returned: always
  type: bool
settings:
  description: >-
    Per setting name (server_require, server_enable, client_require, client_enable,
    audit_unsigned_clients, audit_unsigned_servers), C(display_name), C(managed) (the task set
    it), C(before), C(after) (the read-back after a write; the planned value in check mode),
    C(changed), C(owner) (local, gpo, default, or unknown when RSoP could not be read; as the
    read-back shows it after a write), C(owner_before) (as the read before the run showed it)
    and C(gpo) (name and id, or null). A value is null where
    the host lacks the setting.
  returned: success
  type: dict
  sample:
    server_require: {display_name: "Microsoft network server: Digitally sign communications (always)",
                     managed: true, before: false, after: true, changed: true, owner: local, owner_before: default,
                     gpo: null}
gpo_owned:
  description: The changed settings that a GPO owns, or whose owner RSoP could not name.
  returned: success
  type: list
  elements: str
  sample: [client_require]
observed:
  description: >-
    The wire check of this run (after the write when the host changed): address, port,
    reachable, dialect, signing_enabled, signing_required, error, detail, agrees_with_config and
    message. Null with O(probe=false).
  returned: success
  type: dict
ansible_facts:
  description: >-
    C(smb_signing): the host's SMB signing state after the run (docs/facts-schema.md, the same
    schema as M(winhardening.smb.win_smb_signing_facts)), judged against the baseline and the
    overrides. In check mode, the state as read. After a write, every value, registry field and
    owner comes from the write's read-back. C(status) is the host's one status, the same as
    RV(status). Also returned when the task fails after the read.
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
status:
  description: >-
    The host's one status, the same in the facts and the role's report: C(compliant),
    C(noncompliant) (a setting misses its target, or the wire contradicts the configuration),
    C(unverified) (evidence is missing; RV(ansible_facts.smb_signing) C(status_reasons) names
    it), C(waived) (the only misses are under a running waiver), C(blocked) (the audit-first gate) or C(failed).
  returned: always
  type: str
  sample: compliant
mode:
  description: O(mode).
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
    (each unsigned client in the log with its C(count) and C(last) event), C(peers_left_out)
    (clients not listed past O(max_audit_peers)), C(opens_at) (the earliest time waiting can
    open the gate, or null) and C(message). Null otherwise.
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
  description: With O(verify=true), what is still wrong or unverified after enforcing.
  returned: failure
  type: list
  elements: str
rollback:
  description: >-
    With O(rollback): C(restored) (the settings set back) and C(left_alone) (each setting changed
    since the recorded run, with what it holds now).
  returned: when O(rollback) is given
  type: dict
reboot_required:
  description: Always false; see the notes.
  returned: success
  type: bool
  sample: false
state_unknown:
  description: True when the connection failed while the write script ran.
  returned: failure
  type: bool
not_applied:
  description: On a partial failure, each change the read-back does not show, with the value wanted, the value read back and the write's own error.
  returned: failure
  type: list
  elements: str
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
