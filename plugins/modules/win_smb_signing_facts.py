#!/usr/bin/python
# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the implementation is the action plugin of the same name.

DOCUMENTATION = r"""
---
module: win_smb_signing_facts
short_description: Gather configured, owner, effective and observed SMB signing state
version_added: 0.1.0
description:
  - Reads, in one WinRM round trip per host, the four SMB signing Security Options and the two
    signing-audit settings of a Windows host, with the registry value (present or absent, and
    its type), the value C(Get-SmbServerConfiguration) / C(Get-SmbClientConfiguration) report,
    and who owns each one (C(owner)) - C(gpo) with the GPO's name and id when a winning Resultant
    Set of Policy entry names it, C(local) when the registry value is set without one,
    C(default) when nothing is stored and the OS default is in force, and C(unknown) when a
    value is stored but RSoP could not be read.
  - Reports the OS (caption, build, edition), the domain role and the profile it maps to, whether
    the SMB1 server is enabled, whether the OS has the signing-audit parameters, and, when
    O(audit_window) is given, the SMB signing audit events counted per peer on the host over the
    whole window.
  - Computes the server and client posture (does the host require signing for SMB2/3 and for
    SMB1) from Microsoft's client x server tables, the baseline's expected value for the host's
    profile, and compliance per setting with a reason.
  - Unless O(probe=false), also sends one unauthenticated SMB negotiate from the controller to the
    host and reports the dialect and whether signing is required on the wire. A disagreement with
    the configuration (configured as required but not required on the wire, or the reverse) is
    flagged with a warning and C(agrees_with_config=false) in RV(ansible_facts.smb_signing.observed).
  - The facts follow a versioned schema with stable keys; see the collection's
    C(docs/facts-schema.md).
  - "Works with C(gather_facts: false). It is read-only, so it runs normally in check mode."
author:
  - winhardening.smb maintainers (@winhardening)
options:
  baseline:
    description:
      - The baseline the expected values and the compliance verdicts come from.
      - C(cis) and C(stig) set all four signing settings, and C(cis) also sets both audit settings;
        C(microsoft) sets only the two "(always)" settings; C(custom) takes the values from
        O(custom_baseline).
    type: str
    choices: [cis, stig, microsoft, custom]
    default: cis
  probe:
    description:
      - Send an SMB negotiate from the controller to the host and compare what the wire shows
        with the configuration. It runs while the read script runs, so a host costs the longer
        of the two, not both.
      - With the probe on, a host is C(compliant) only when the wire agrees with its
        configuration; a contradiction makes it C(noncompliant), and a probe with no answer
        makes it C(unverified).
    type: bool
    default: true
notes:
  - The script runs as the connection user. C(become) cannot apply to it (raw PowerShell through
    the connection, not a module through the exec wrapper), so a task with C(become) fails with a
    message saying so instead of ignoring it.
  - Which field of an audit event names the peer is not documented by Microsoft. The label is
    the first of the named event data fields C(ClientName), C(ClientAddress), C(ServerName) the
    event holds, else its first property, and each peer's C(peer_field) says which.
  - When Resultant Set of Policy cannot be read (no C(root\\rsop\\computer) namespace, access
    denied), a stored value's owner is C(unknown), and a host whose verdict rests on it is
    C(unverified); RV(ansible_facts.smb_signing.rsop) says why.
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
    details: Read-only; it runs the same way in check mode.
  diff_mode:
    support: none
    details: Read-only; there is nothing to diff.
  platform:
    platforms: windows
seealso:
  - module: winhardening.smb.win_smb_signing
  - module: winhardening.smb.smb_signing_probe
"""

EXAMPLES = r"""
- name: Gather SMB signing facts against the CIS baseline
  winhardening.smb.win_smb_signing_facts:

- name: Judge against the Microsoft baseline, count a week of audit events, probe port 1445
  winhardening.smb.win_smb_signing_facts:
    baseline: microsoft
    audit_window: 7d
    probe_port: 1445

- name: Custom expectations, no wire probe
  winhardening.smb.win_smb_signing_facts:
    baseline: custom
    custom_baseline:
      server_require: true
      client_require: true
    probe: false

- name: Fail where the server does not require signing on the wire
  ansible.builtin.assert:
    that:
      - ansible_facts.smb_signing.observed.signing_required
    fail_msg: "{{ inventory_hostname }} does not require SMB signing"
"""

RETURN = r"""
profile:
  description: The host's profile, from its read.
  returned: success
  type: str
desired:
  description: The expected value of each setting the host has (baseline and overrides).
  returned: success
  type: dict
status:
  description: >-
    The host's status: C(compliant), C(noncompliant), C(waived), C(unverified) (evidence is missing; the
    facts' C(status_reasons) name it) or C(failed). The same as the facts' C(status).
  returned: always
  type: str
  sample: compliant
mode:
  description: Always C(audit); with RV(changes) (always empty) and RV(blocked) (always null),
    the keys M(winhardening.smb.win_smb_signing) also returns, so either result feeds the report.
  returned: always
  type: str
changes:
  description: Always empty (the task writes nothing).
  returned: always
  type: list
  elements: str
blocked:
  description: Always null.
  returned: always
  type: dict
failure:
  description: >-
    Why the task failed (also on bad options, which give a failed result rather than an error),
    null on success; the same key as M(winhardening.smb.win_smb_signing)'s, for a caller that
    carries on.
  returned: always
  type: str
ansible_facts:
  description: Facts set on the host.
  returned: success
  type: complex
  contains:
    smb_signing:
      description: SMB signing state of the host (schema version 2, docs/facts-schema.md).
      returned: success
      type: complex
      contains:
        schema_version:
          description: Version of this schema; it changes only when a key is renamed or removed.
          type: int
          sample: 2
        computer_name:
          description: The host's computer name (Win32_ComputerSystem.Name).
          type: str
          sample: DC01
        os:
          description: >-
            caption, version, build, product_type, edition_id, display_version, and the
            collection's C(family) (for example C(windows_server_2022), or C(unknown)).
          type: dict
          sample: {caption: Microsoft Windows Server 2022 Datacenter, version: 10.0.20348,
                   build: 20348, product_type: 2, edition_id: ServerDatacenter,
                   display_version: 21H2, family: windows_server_2022}
        domain_role:
          description: Win32_ComputerSystem.DomainRole (0 to 5).
          type: int
          sample: 5
        profile:
          description: >-
            The profile the domain role maps to: standalone_workstation, member_workstation,
            standalone_server, member_server or domain_controller.
          type: str
          sample: domain_controller
        baseline:
          description: The baseline the verdicts come from.
          type: str
          sample: cis
        status:
          description: >-
            The host's one status. C(compliant) - every judged setting meets its target with a
            known owner and, with the probe on, the wire agrees with the configuration;
            C(noncompliant) - a setting misses its target or the wire contradicts the
            configuration; C(unverified) - evidence the verdict needs is missing (no wire
            answer, an owner RSoP could not name, nothing judged); C(waived) - the only misses
            are under a running waiver (O(waivers)). From
            M(winhardening.smb.win_smb_signing) also C(blocked) or C(failed).
          type: str
          choices: [compliant, noncompliant, unverified, waived, blocked, failed]
          sample: compliant
        status_reasons:
          description: Every reason the host is not compliant, each naming what it is about.
          type: list
          elements: str
          sample: ["wire: the SMB negotiate to 10.0.0.5:445 got no verdict (timeout)"]
        verdict:
          description: >-
            The assessment's own verdict (compliant, noncompliant or unverified), which
            C(status) equals unless the task was blocked or failed.
          type: str
        settings:
          description: >-
            One entry per setting, keyed server_require, server_enable, client_require,
            client_enable, audit_unsigned_clients and audit_unsigned_servers.
          type: dict
          contains:
            display_name:
              description: The policy's display name.
              type: str
              sample: "Microsoft network server: Digitally sign communications (always)"
            supported:
              description: >-
                False when this OS lacks the setting (audit settings: no cmdlet parameter and no
                stored value the SMB service reads).
              type: bool
            writable:
              description: Whether the Set- cmdlet has the setting's parameter on this host.
              type: bool
            registry:
              description: The value under the LanmanServer / LanmanWorkstation Parameters key.
              type: dict
              sample: {present: true, type: DWord, data: 1}
            policy_registry:
              description: >-
                Audit settings: the value under SOFTWARE\Policies\Microsoft\Windows\Lanman*,
                same form; null for the signing settings.
              type: dict
            cmdlet_value:
              description: What Get-SmbServerConfiguration / Get-SmbClientConfiguration report; null where the OS lacks the property.
              type: bool
            value:
              description: >-
                What is in force: for the audit settings the policy value first; then the
                cmdlet's value, else the stored value, else the OS default; null when
                unsupported.
              type: bool
            owner:
              description: >-
                Who owns the value: a GPO (a winning RSoP entry), local (stored without one),
                default (nothing stored), or unknown (stored, but RSoP could not be read).
              type: str
              choices: [local, gpo, default, unknown]
            gpo:
              description: With owner gpo, the winning GPO's name and id; else null.
              type: dict
              sample: {name: Default Domain Controllers Policy, id: "{6AC1786C-016F-11D2-945F-00C04fB984F9}"}
            os_default:
              description: What this OS release, edition and profile does when nothing is configured.
              type: bool
            expected:
              description: The baseline's value for this profile; null when the baseline does not set it.
              type: bool
            compliant:
              description: Whether value equals expected; null when expected is null or the setting is unsupported.
              type: bool
            reason:
              description: The verdict in words.
              type: str
              sample: "required by cis; found enabled (gpo)"
            smb1_only:
              description: True for the two "(if ... agrees)" settings, which only affect SMB1.
              type: bool
            waiver:
              description: >-
                The waiver that stands for this setting on this host (index, settings, owner,
                justification, ticket, expires, state C(active), C(expiring) or C(expired),
                days_left), or null.
              type: dict
            benchmarks:
              description: C(cis), C(stig) and C(stig_vuln_id) (for this OS family, else null) and C(cce).
              type: dict
              sample: {cis: 2.3.9.2, stig: WN22-SO-000190, stig_vuln_id: V-254463, cce: CCE-37864-6}
        smb1:
          description: C(server_enabled), whether the SMB1 server is enabled (EnableSMB1Protocol).
          type: dict
          sample: {server_enabled: false}
        audit:
          description: >-
            C(supported) (server and client), C(auditing_on_since) (the host's record of when
            server-side auditing went on, or null), and C(events): null unless O(audit_window) is
            given, else C(since) and, per side, C(available) (the log exists), C(error) (why
            the log could not be read, or null), C(count) (every event read in the window, at
            most the newest 10,000), C(peers) (peer, count, last, peer_field; grouped on the
            host over every event read, at most O(max_audit_peers)), C(peers_total),
            C(peers_left_out), C(truncated) (the read reached 10,000 events, so the counts are
            lower bounds) and C(ids) (events per event id); and C(spn_audit), the registry
            value C(AuditClientSpnSupport) (C(registry), C(policy_registry), C(enabled)), which
            KB5066913 lists beside the signing audit policy without saying what it turns on, so
            it is shown and never counted as signing audit.
          type: dict
        rsop:
          description: Whether Resultant Set of Policy data could be read, and the error when not.
          type: dict
          sample: {available: true, error: null}
        posture:
          description: >-
            Per side (server, client), C(requires_signing_smb2) and C(requires_signing_smb1),
            from Microsoft's client x server tables, and C(from) - the server side uses the
            wire's answer where there is one (C(wire)), else the C(configuration).
          type: dict
          sample: {server: {requires_signing_smb2: true, requires_signing_smb1: true, from: wire},
                   client: {requires_signing_smb2: false, requires_signing_smb1: false,
                            from: configuration}}
        compliant:
          description: True when C(status) is C(compliant).
          type: bool
        noncompliant:
          description: Names of the settings judged non-compliant.
          type: list
          elements: str
          sample: [client_require]
        observed:
          description: >-
            The wire check (null with O(probe=false)): address, port, reachable, dialect,
            signing_enabled, signing_required, error (refused, timeout, closed, garbage, status),
            detail, agrees_with_config (null when unreachable) and message (set when they
            disagree).
          type: dict
        waivers:
          description: Every waiver that stands for this host, running or expired, in the form of a setting's C(waiver).
          type: list
          elements: dict
        warnings:
          description: The warnings also raised on the task, such as a wire disagreement.
          type: list
          elements: str
"""
