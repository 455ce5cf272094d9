#!/usr/bin/python
# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation only: the implementation is the action plugin plugins/action/smb_signing_report.py."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: smb_signing_report
short_description: Write the fleet's SMB signing report as JSON, CSV and one HTML page
version_added: 0.1.0
description:
  - Collects, for every host of the play, the C(ansible_facts.smb_signing) left by
    M(winhardening.smb.win_smb_signing_facts) and the outcome variable the
    C(winhardening.smb.smb_signing) role sets, and writes one report on the controller.
  - The HTML page is self-contained (inline CSS and SVG, no script, no remote assets; a
    Content-Security-Policy forbids both). It holds a coloured compliance matrix of hosts by
    settings, charts of hosts by status and of compliance by setting, flags for settings a
    Group Policy owns and for hosts whose SMB negotiate disagrees with their configuration,
    and the client x server effective-signing table from Microsoft's page on the server
    policy "Digitally sign communications (always)", applied to the fleet's real postures
    per group of hosts.
  - Every value taken from a host is HTML-escaped in the page. In the CSV, cells a
    spreadsheet would read as a formula get a leading apostrophe.
  - Runs once per play whatever the number of hosts, and needs no connection to them.
  - Returns a C(summary) meant for M(ansible.builtin.set_stats), so that AWX shows it among a
    job's artifacts.
  - Hosts with no facts (unreachable, or failed before gathering) appear with status
    C(unreachable).
author:
  - winhardening.smb maintainers (@winhardening)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - winhardening.smb.smb_signing.controller_report
attributes:
  check_mode:
    support: full
    details: The report describes the hosts and changes nothing on them, so it is written
      in check mode too, under its own name (C(<basename>.check.json), C(.check.csv),
      C(.check.html)), so the files of the last real run stay as they were. Each format says it
      was a check run (C(run.check_mode) in the JSON, the C(check_mode) column of the CSV, a
      banner on the page), and the run history records it as a run that wrote nothing.
options:
  dest:
    description:
      - Directory on the controller to write the files into; created when missing.
      - Existing report files in it are replaced atomically.
      - When the report already there (C(<basename>.json), same schema and baseline) lists hosts
        this run did not see (C(--limit), a shorter O(hosts)), their latest rows are kept, each
        marked C(carried) with the time and run of the report it came from, and C(coverage)
        (in the JSON and the summary, a column of the CSV and a banner on the page) says which
        hosts this run saw and which were carried, with this run's own numbers by status.
      - A report there of another schema or baseline is replaced, and RV(msg) says so.
    type: path
    required: true
  formats:
    description: Which files to write.
    type: list
    elements: str
    choices: [json, csv, html]
    default: [json, csv, html]
  basename:
    description: File name without extension.
    type: str
    default: smb_signing_report
  hosts:
    description:
      - Inventory names of the hosts to report on.
      - Defaults to every host of the play, C(ansible_play_hosts_all), including hosts that
        failed, so their failure shows in the report.
    type: list
    elements: str
  outcome_var:
    description:
      - Host variable holding the role's outcome for that host (mode, changes, a gate that
        blocked, a failure message). Hosts without it are reported from their facts alone.
    type: str
    default: smb_signing_outcome
  group_by:
    description: What groups hosts in the client x server effective-signing matrix.
    type: str
    choices: [profile, os_family]
    default: profile
  title:
    description: Title of the HTML page.
    type: str
    default: SMB signing fleet report
  run_id:
    description:
      - This run's id. It names the run's key among the C(stats) returned,
        C(smb_signing_run_<run id>) (characters other than letters, digits and C(_) become
        C(_)), and the report's C(run.id).
      - The C(winhardening.smb.smb_signing) role passes C(job_<awx_job_id>) when AWX runs the
        job (every slice of a sliced job is a job of its own, with its own id).
      - By default an id made on the controller from the time (UTC) and a random part.
    type: str
  run_info:
    description:
      - Facts about the run to carry into the report's C(run.info) and the published run (the
        AWX job and workflow job ids, the execution node), so a merged report can say where
        each slice came from. Keys with an empty or null value are left out.
    type: dict
    default: {}
  summarise_warnings:
    description:
      - Print, once for the play, each warning the hosts gave (from each host's
        C(ansible_facts.smb_signing.warnings), the leading host name taken off), with the
        number of hosts and the first five of them, so a warning a thousand hosts give is one
        line. C(warning_summary) returns every warning text, and the report keeps each host's
        warnings in its row. The role keeps the hosts' own tasks quiet while it reports.
    type: bool
    default: true
  previous_report:
    description:
      - The JSON file of a previous report. The report gains C(changes_since) (and a file
        C(<basename>_changes.csv), a section of the HTML page, and C(summary.changes_since)) -
        hosts new, gone, newly noncompliant and newly compliant; status, value, owner and wire
        changes; unsigned peers new in the audit logs.
      - A value change is C(this collection) when the runs in between (read from the run
        history in O(dest) and in the previous report's directory) and this run's own writes
        explain it, else C(elsewhere) (a GPO, another tool, a person).
    type: path
  history:
    description:
      - Append one line for this run to the run history C(smb_signing_history.jsonl) in
        O(dest) - its id, time, mode, and per host each setting it wrote as [before, written].
    type: bool
    default: true
notes:
  - The JSON holds everything the HTML shows; its C(schema_version) is 2.
  - M(winhardening.smb.smb_signing_merge) builds one report from several runs' reports or
    published runs (AWX job slices).
  - The task never reports C(changed), as it changes nothing on the managed hosts.
seealso:
  - module: winhardening.smb.smb_signing_merge
  - module: winhardening.smb.win_smb_signing_facts
  - module: winhardening.smb.win_smb_signing
"""

EXAMPLES = r"""
- name: Gather SMB signing facts
  winhardening.smb.win_smb_signing_facts:

- name: Write the fleet report next to the playbook
  winhardening.smb.smb_signing_report:
    dest: "{{ playbook_dir }}/smb_signing_report"
  register: smb_report

- name: Show the summary among the AWX job's artifacts, and publish the rows for a merge
  ansible.builtin.set_stats:
    data: "{{ smb_report.stats }}"
    per_host: false
    aggregate: false
"""

RETURN = r"""
history:
  description: The run history file this run appended its line to (none with O(history=false)).
  returned: success
  type: str
files:
  description: Path of each file written, by format (and C(changes_csv) with O(previous_report)).
  returned: success
  type: dict
  sample: {"html": "/srv/reports/smb_signing_report.html", "json": "/srv/reports/smb_signing_report.json"}
summary:
  description: Fleet-level numbers.
  returned: success
  type: dict
  contains:
    hosts:
      description: Hosts reported on.
      type: int
    by_status:
      description: >-
        Hosts per status (failed, blocked, unreachable, noncompliant, unverified, compliant); a
        host's status is the one its facts carry, and a host without a known status is
        unverified, never compliant.
      type: dict
    compliant_hosts:
      description: Number of compliant hosts.
      type: int
    noncompliant_hosts:
      description: Names of the non-compliant hosts.
      type: list
      elements: str
    failed_hosts:
      description: Names of the hosts the role failed, with the reason in the report.
      type: list
      elements: str
    blocked_hosts:
      description: Names of the hosts where the audit-first gate refused to require server signing.
      type: list
      elements: str
    unreachable_hosts:
      description: Names of the hosts without facts.
      type: list
      elements: str
    unverified_hosts:
      description: >-
        Names of the hosts whose evidence is incomplete (no wire answer, an owner RSoP could not
        name); their rows give the reasons.
      type: list
      elements: str
    by_setting:
      description: Per setting, how many hosts are compliant, non-compliant or not judged (C(not_judged)).
      type: dict
    gpo_owned:
      description: C(host:setting) for each setting a Group Policy owns.
      type: list
      elements: str
    wire_disagrees:
      description: Hosts whose SMB negotiate disagrees with their configuration.
      type: list
      elements: str
    smb1_enabled:
      description: Hosts with the SMB1 server on.
      type: list
      elements: str
    unsigned_pairs:
      description: Client host x server host pairs that would talk SMB2/3 unsigned.
      type: int
    host_pairs:
      description: Client host x server host pairs considered.
      type: int
    coverage:
      description:
        - What the report covers - C(hosts); C(this_run_hosts) and C(this_run_by_status), the
          hosts this run saw; C(carried_hosts), the hosts carried from earlier reports (not seen
          by this run; they count in the other numbers of the summary); C(carried_from), per
          report they came from its C(generated_at), C(run) and number of C(hosts); and
          C(replaced), the sentence saying a previous report of another schema or baseline was
          replaced (else null).
      type: dict
  sample:
    hosts: 7
    compliant_hosts: 5
    noncompliant_hosts: [web01, files02]
    unsigned_pairs: 4
run_key:
  description: The key this run's rows are published under, C(smb_signing_run_<run id>).
  returned: success
  type: str
  sample: smb_signing_run_job_4711
stats:
  description:
    - What to pass to M(ansible.builtin.set_stats) as C(data). C(smb_signing) is the summary
      (see RV(summary)); RV(run_key) holds the run (its id and info, C(generated_at), the
      baseline, the mode, the number of hosts per status) and every host row of the report,
      as JSON compressed with zlib and encoded in base64 (C(rows)), which
      M(winhardening.smb.smb_signing_merge) reads.
    - The keys differ from run to run, so AWX's merge of a sliced job's artifacts keeps every
      slice's rows (it keeps only the last slice's C(smb_signing)).
  returned: success
  type: dict
warning_summary:
  description: Each distinct warning text the hosts gave, with how many hosts and the first five.
  returned: success
  type: list
  elements: dict
  sample: [{"message": "skipping audit_unsigned_clients from baseline cis", "count": 412, "hosts": ["ws001", "ws002"]}]
msg:
  description: >-
    One line saying where the report is, how many hosts this run saw and how many were carried
    from earlier reports, and whether a previous report was replaced.
  returned: success
  type: str
"""
