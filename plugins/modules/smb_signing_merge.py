#!/usr/bin/python
# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation only: the implementation is the action plugin plugins/action/smb_signing_merge.py."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: smb_signing_merge
short_description: Merge several runs' SMB signing reports (AWX job slices) into one fleet report
version_added: 0.1.0
description:
  - Builds one fleet report, as JSON, CSV and HTML, from the reports of several runs (the slices
    of an AWX sliced job, or runs over parts of a fleet). The client x server matrix and the
    summary are computed again from every host's row, so the result equals the report of one
    run over all those hosts.
  - Reads report JSON files written by M(winhardening.smb.smb_signing_report), directories
    holding them (searched recursively), and the runs that M(winhardening.smb.smb_signing_report)
    publishes through M(ansible.builtin.set_stats) under C(smb_signing_run_<run id>) keys, given
    as O(artifacts) (in an AWX workflow they arrive as extra variables of the nodes that follow).
  - A host seen in two sources keeps the row of the newer source (by C(generated_at)); the
    report's C(merge.duplicates) names the rows set aside.
  - Refuses sources judged against different baselines, and sources of a report schema or run
    format it does not know, naming them.
  - Sources with no host (an empty slice) are accepted and listed in C(merge.empty_sources).
  - Runs once per play and needs no connection to any host.
author:
  - winhardening.smb maintainers (@winhardening)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - winhardening.smb.smb_signing.controller_report
attributes:
  check_mode:
    support: full
    details: The report describes the hosts and changes nothing on them, so it is written in
      check mode too.
options:
  sources:
    description:
      - Report JSON files and directories. A directory is searched recursively for C(*.json)
        files; those that are no report, merged reports, and this task's own output files are
        skipped and listed in C(coverage.skipped). A named file must be a report, a published
        run, or a mapping of published runs by key (a saved copy of a job's artifacts).
      - Relative paths are relative to the directory C(ansible-playbook) runs in.
    type: list
    elements: path
  artifacts:
    description:
      - Published runs by key, C(smb_signing_run_<run id>), as a workflow's artifacts hold them.
        Keys without that prefix are ignored.
      - Either O(sources) or O(artifacts) is required; both may be given.
    type: dict
  dest:
    description:
      - Directory on the controller to write the files into; created when missing.
      - Existing report files in it are replaced atomically.
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
  title:
    description: Title of the HTML page; by default the first source's.
    type: str
  group_by:
    description: What groups hosts in the client x server matrix; by default the sources'.
    type: str
    choices: [profile, os_family]
  previous_report:
    description:
      - The JSON file of a previous report (a run's or a merged one). The merged report gains
        C(changes_since), as M(winhardening.smb.smb_signing_report) adds it; the runs in between
        are read from the run history in O(dest) and in the previous report's directory, and the
        merged sources' own writes count as this collection's.
    type: path
notes:
  - The merged JSON is a report of C(schema_version) 2 with one more key, C(merge) (sources,
    runs, empty sources, hosts, duplicates).
  - The task never reports C(changed), as it changes nothing on the managed hosts.
seealso:
  - module: winhardening.smb.smb_signing_report
"""

EXAMPLES = r"""
- name: Merge the slices' reports written on shared storage
  winhardening.smb.smb_signing_merge:
    sources:
      - /srv/reports/12345
    dest: /srv/reports/12345/fleet

- name: Merge the runs a workflow's sliced job published (its artifacts are extra variables)
  winhardening.smb.smb_signing_merge:
    artifacts: >-
      {{ dict(q('ansible.builtin.varnames', '^smb_signing_run_.+')
              | zip(q('ansible.builtin.vars', *q('ansible.builtin.varnames', '^smb_signing_run_.+')))) }}
    dest: "{{ playbook_dir }}/smb_signing_report"
  register: smb_merged

- name: Publish the fleet summary for the approval node
  ansible.builtin.set_stats:
    data: "{{ smb_merged.stats }}"
    per_host: false
    aggregate: false
"""

RETURN = r"""
files:
  description: Path of each file written, by format.
  returned: success
  type: dict
  sample: {"html": "/srv/reports/fleet/smb_signing_report.html"}
summary:
  description: Fleet-level numbers, as M(winhardening.smb.smb_signing_report) returns them.
  returned: success
  type: dict
coverage:
  description: What the merged report covers.
  returned: success
  type: dict
  contains:
    sources:
      description: >-
        Each source with its C(name), C(run) id, C(info) (the AWX job id and the like, where the
        run had them), C(generated_at), C(hosts) and C(hosts_kept).
      type: list
      elements: dict
    runs:
      description: The run ids merged.
      type: list
      elements: str
    empty_sources:
      description: Sources with no host.
      type: list
      elements: str
    hosts:
      description: Hosts in the merged report.
      type: int
    rows_read:
      description: Host rows read from all sources (more than C(hosts) when a host was seen twice).
      type: int
    duplicate_hosts:
      description: Hosts seen in more than one source; the newer row was kept.
      type: list
      elements: str
    skipped:
      description: JSON files in a source directory that were not merged, each with the reason.
      type: list
      elements: str
stats:
  description: >-
    What to pass to M(ansible.builtin.set_stats): C(smb_signing) (the fleet summary) and
    C(smb_signing_merge) (the coverage).
  returned: success
  type: dict
msg:
  description: One line with the coverage and where the report is.
  returned: success
  type: str
"""
