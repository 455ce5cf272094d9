# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan a rollback from a recorded enforce run's report, and write the rollback's report.

The playbook winhardening.smb.rollback calls this twice on the controller: step ``plan`` reads
the recorded report and gives each host its ``rollback`` option for win_smb_signing; step
``report`` reads each host's registered result and writes the rollback report. The logic is
plugin_utils/_rollback.py.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any, ClassVar, Dict, List, Optional

from ansible.errors import AnsibleActionFail

from ansible_collections.winhardening.smb.plugins.plugin_utils._report_action import (
    ReportActionBase,
    formats_option,
    host_vars,
    plain,
    timestamp,
    utc_now,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_drift import HISTORY_FORMAT
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_write import (
    RENDERERS,
    ReadError,
    WriteError,
    append_entry,
    history_path,
    read_history,
    read_json,
    write_files,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._rollback import (
    RollbackError,
    history_writes,
    plan,
    render_csv,
    render_html,
    restored_earlier,
    rollback_report,
    weakenings,
)

_RENDERERS = {"json": RENDERERS["json"], "csv": render_csv, "html": render_html}


class ActionModule(ReportActionBase):
    """Step plan: each host's rollback option from the recorded report; step report: the
    rollback's report from each host's registered result."""

    ARGUMENT_SPEC: ClassVar[Dict[str, Any]] = {
        "step": {"type": "str", "choices": ["plan", "report"], "required": True},
        "recorded": {"type": "path", "required": True},
        "inventory_hosts": {"type": "list", "elements": "str", "default": []},
        "allow_weakening": {"type": "bool", "default": False},
        "not_in_inventory": {"type": "list", "elements": "str", "default": []},
        "play_hosts": {"type": "list", "elements": "str"},
        "outcome_var": {"type": "str", "default": "smb_signing_rollback_outcome"},
        "dest": {"type": "path"},
        "formats": formats_option(),
        "basename": {"type": "str", "default": "smb_signing_rollback"},
        "history": {"type": "bool", "default": True},
    }

    def _act(self, args: Dict[str, Any], task_vars: Dict[str, Any]) -> Dict[str, Any]:
        try:
            the_plan = plan(read_json(args["recorded"]), args["recorded"])
        except (ReadError, RollbackError) as exc:
            raise AnsibleActionFail(f"smb_signing_rollback_from: {exc}") from None
        if args["step"] == "plan":
            return self._plan(the_plan, args)
        return self._report(the_plan, args, task_vars)

    def _plan(self, the_plan: Dict[str, Any], args: Mapping[str, Any]) -> Dict[str, Any]:
        inventory = set(args["inventory_hosts"])
        weak = weakenings(the_plan)
        if weak and not args["allow_weakening"]:
            raise AnsibleActionFail(
                "rollback turns settings off, a weakening: {}{}. Set "
                "smb_signing_allow_weakening=true to roll back. Nothing was written.".format(
                    ", ".join(weak[:10]), f" and {len(weak) - 10} more" if len(weak) > 10 else ""
                )
            )
        hosts = sorted(h for h in the_plan["hosts"] if h in inventory)
        missing = sorted(h for h in the_plan["hosts"] if h not in inventory)
        return {
            "changed": False,
            "plan": the_plan,
            "hosts": hosts,
            "not_in_inventory": missing,
            "msg": "rollback of run {} ({}): {} hosts to roll back{}{}".format(
                the_plan["run"] or "?",
                the_plan["generated_at"],
                len(hosts),
                f"; not in the inventory: {', '.join(missing)}" if missing else "",
                (
                    f"; nothing written there by that run: {len(the_plan['nothing_to_undo'])}"
                    if the_plan["nothing_to_undo"]
                    else ""
                ),
            ),
        }

    def _report(
        self, the_plan: Dict[str, Any], args: Mapping[str, Any], task_vars: Mapping[str, Any]
    ) -> Dict[str, Any]:
        if not args["dest"]:
            raise AnsibleActionFail("dest: required with step: report")
        hostvars = task_vars.get("hostvars") or {}
        results: Dict[str, Optional[Mapping[str, Any]]] = {}
        for host in the_plan["hosts"]:
            found = host_vars(hostvars, host)
            outcome = found.get(args["outcome_var"]) if found is not None else None
            results[host] = plain(outcome) if isinstance(outcome, Mapping) else None
        now = utc_now()
        generated = timestamp(now)
        run_id = "rollback_{}_{}".format(now.strftime("%Y%m%dT%H%M%SZ"), os.getpid())
        check_mode = bool(self._task.check_mode)
        history: List[Dict[str, Any]] = []
        with contextlib.suppress(OSError):  # no history yet: no earlier rollback to recognise
            history = read_history(history_path(args["dest"]))[0]
        report = rollback_report(
            the_plan,
            results,
            args["not_in_inventory"],
            play_hosts=args["play_hosts"],
            restored_before=restored_earlier(history, the_plan["run"]) if the_plan["run"] else {},
            generated_at=generated,
            run_id=run_id,
            check_mode=check_mode,
        )
        dest = args["dest"]
        try:
            files = write_files(report, dest, args["formats"], args["basename"], _RENDERERS)
            if args["history"]:
                entry = {
                    "format": HISTORY_FORMAT,
                    "run": run_id,
                    "generated_at": generated,
                    "mode": "rollback",
                    "rolled_back": the_plan["run"],
                    "check_mode": check_mode,
                    "hosts": len(report["hosts"]),
                    "writes": history_writes(report),
                }
                files["history"] = append_entry(dest, entry)
        except WriteError as exc:
            raise AnsibleActionFail(str(exc)) from None
        summary = report["summary"]
        problems: List[str] = []
        for key, label in (
            ("failed_hosts", "failed"),
            ("unreachable_hosts", "unreachable"),
            ("not_in_inventory", "not in the inventory"),
            ("not_in_play", "not in this play"),
        ):
            if summary[key]:
                problems.append(f"{label}: {', '.join(summary[key])}")
        verb = "would restore" if check_mode else "restored"
        return {
            "changed": False,
            "files": files,
            "summary": summary,
            "problems": problems,
            "msg": "rollback of run {}: {} {} settings, {} left alone (changed since), {} "
            "already back{}; report in {}".format(
                the_plan["run"] or "?",
                verb,
                len(summary["restored"]),
                len(summary["left_alone"]),
                len(summary["already_restored"]),
                "; " + "; ".join(problems) if problems else "",
                dest,
            ),
        }
