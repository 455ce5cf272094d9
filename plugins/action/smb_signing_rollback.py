# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan a rollback from a recorded enforce run's report, and write the rollback's report.

The playbook winhardening.smb.rollback calls this twice on the controller: step ``plan`` reads
the recorded report and gives each host its ``rollback`` option for win_smb_signing; step
``report`` reads each host's registered result and writes the rollback report. The logic is
plugin_utils/_rollback.py.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
from typing import Any, Dict, List, Optional

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.winhardening.smb.plugins.plugin_utils._report_drift import (
    HISTORY_FORMAT,
    history_line,
    parse_history,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_write import (
    WriteError,
    append_line,
    history_path,
    write_atomically,
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

FORMATS = ("json", "csv", "html")

ARGUMENT_SPEC: Dict[str, Any] = {
    "step": {"type": "str", "choices": ["plan", "report"], "required": True},
    "recorded": {"type": "path", "required": True},
    "inventory_hosts": {"type": "list", "elements": "str", "default": []},
    "allow_weakening": {"type": "bool", "default": False},
    "not_in_inventory": {"type": "list", "elements": "str", "default": []},
    "play_hosts": {"type": "list", "elements": "str"},
    "outcome_var": {"type": "str", "default": "smb_signing_rollback_outcome"},
    "dest": {"type": "path"},
    "formats": {
        "type": "list",
        "elements": "str",
        "choices": list(FORMATS),
        "default": list(FORMATS),
    },
    "basename": {"type": "str", "default": "smb_signing_rollback"},
    "history": {"type": "bool", "default": True},
}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {to_text(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return to_text(value)


def _load(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise AnsibleActionFail(
            f"smb_signing_rollback_from: cannot read {path!r} ({exc.strerror or exc})"
        ) from None
    except ValueError as exc:
        raise AnsibleActionFail(
            f"smb_signing_rollback_from: {path!r} is not JSON ({exc})"
        ) from None


class ActionModule(ActionBase):  # type: ignore[misc]
    """Runs once on the controller and needs no connection to any host."""

    BYPASS_HOST_LOOP = True
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(
        self, tmp: Optional[str] = None, task_vars: Optional[Dict[str, Any]] = None
    ) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result: Dict[str, Any] = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        try:
            the_plan = plan(_load(args["recorded"]), args["recorded"])
        except RollbackError as exc:
            raise AnsibleActionFail(f"smb_signing_rollback_from: {exc}") from None
        if args["step"] == "plan":
            result.update(self._plan(the_plan, args))
        else:
            result.update(self._report(the_plan, args, task_vars))
        return result

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
            raw_get = getattr(hostvars, "raw_get", None)
            found = raw_get(host) if callable(raw_get) else hostvars.get(host)
            outcome = found.get(args["outcome_var"]) if isinstance(found, Mapping) else None
            results[host] = _plain(outcome) if isinstance(outcome, Mapping) else None
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        generated = now.isoformat().replace("+00:00", "Z")
        run_id = "rollback_{}_{}".format(now.strftime("%Y%m%dT%H%M%SZ"), os.getpid())
        check_mode = bool(self._task.check_mode)
        history: List[Dict[str, Any]] = []
        try:
            with open(history_path(args["dest"]), encoding="utf-8") as handle:
                history = parse_history(history_path(args["dest"]), handle)[0]
        except OSError:
            pass  # no history yet: no earlier rollback to recognise
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
        renderers = {
            "json": lambda r: json.dumps(r, indent=2) + "\n",
            "csv": render_csv,
            "html": render_html,
        }
        files: Dict[str, str] = {}
        dest = args["dest"]
        try:
            os.makedirs(dest, exist_ok=True)
            for fmt in dict.fromkeys(args["formats"]):
                path = os.path.join(dest, f"{args['basename']}.{fmt}")
                write_atomically(path, renderers[fmt](report))
                files[fmt] = path
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
                files["history"] = history_path(dest)
                append_line(files["history"], history_line(entry))
        except (OSError, WriteError) as exc:
            raise AnsibleActionFail(f"dest: cannot write the rollback report: {exc}") from None
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
