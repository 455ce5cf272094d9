#!/usr/bin/python
# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation only: the implementation is the action plugin plugins/action/smb_signing_rollback.py."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: smb_signing_rollback
short_description: Plan the rollback of a recorded SMB signing enforce run, and report on it
version_added: 0.1.0
description:
  - The controller side of the playbook C(winhardening.smb.rollback); use the playbook.
  - O(step=plan) reads the report JSON of an enforce run and gives, per host, the
    O(winhardening.smb.win_smb_signing#module:rollback) option that undoes exactly what that
    run wrote (from each host's C(outcome.written) in the report). It refuses reports of a
    check-mode run, of an audit run, and of older versions that do not record their writes, and
    a rollback that turns a setting off unless O(allow_weakening=true).
  - O(step=report) reads each host's registered result and writes the rollback report (JSON,
    CSV, HTML) - per host and setting C(restored), C(already at its value before),
    C(changed since; left alone), C(failed), C(unreachable), C(not in the inventory) or
    C(not in this play). It appends the rollback's writes to the run history of O(dest), so
    that a later report's C(changes_since) counts them as this collection's.
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
    details: The report is written in check mode too and says so; it then lists what would be
      restored.
options:
  step:
    description: C(plan) before the hosts' task, C(report) after it.
    type: str
    choices: [plan, report]
    required: true
  recorded:
    description: The report JSON of the enforce run to undo.
    type: path
    required: true
  inventory_hosts:
    description: Every host of the inventory; hosts of the recorded run outside it are listed.
    type: list
    elements: str
    default: []
  allow_weakening:
    description: Allow a rollback that turns settings off.
    type: bool
    default: false
  not_in_inventory:
    description: With O(step=report), the hosts the plan found outside the inventory.
    type: list
    elements: str
    default: []
  play_hosts:
    description: With O(step=report), the play's hosts; other hosts of the plan are C(not in this play).
    type: list
    elements: str
  outcome_var:
    description: With O(step=report), the variable each host registered the rollback task's result in.
    type: str
    default: smb_signing_rollback_outcome
  dest:
    description: With O(step=report), the directory of the rollback report; created when missing.
    type: path
  formats:
    description: Which files to write.
    type: list
    elements: str
    choices: [json, csv, html]
    default: [json, csv, html]
  basename:
    description: File name without extension.
    type: str
    default: smb_signing_rollback
  history:
    description: Append the rollback's writes to the run history C(smb_signing_history.jsonl) in O(dest).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Plan
  winhardening.smb.smb_signing_rollback:
    step: plan
    recorded: smb_signing_report/smb_signing_report.json
    inventory_hosts: "{{ groups['all'] }}"
    allow_weakening: true
  register: plan
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
plan:
  description: With O(step=plan), C(hosts) (host to rollback option), C(nothing_to_undo), C(run), C(report).
  returned: step is plan
  type: dict
hosts:
  description: With O(step=plan), the hosts to roll back that are in the inventory.
  returned: step is plan
  type: list
  elements: str
not_in_inventory:
  description: With O(step=plan), hosts of the recorded run with writes that are not in the inventory.
  returned: step is plan
  type: list
  elements: str
summary:
  description: >-
    With O(step=report), the lists C(restored), C(left_alone), C(already_restored)
    (host:setting), C(failed_hosts), C(unreachable_hosts), C(not_in_inventory), C(not_in_play)
    and C(nothing_to_undo).
  returned: step is report
  type: dict
problems:
  description: With O(step=report), one line per kind of host not rolled back.
  returned: step is report
  type: list
  elements: str
files:
  description: With O(step=report), the paths written, by format, and C(history).
  returned: step is report
  type: dict
"""
