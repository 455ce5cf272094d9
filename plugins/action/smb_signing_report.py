# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the fleet's SMB signing report (JSON, CSV, HTML) on the controller, once per play.

The data is what win_smb_signing_facts left in each host's ansible_facts.smb_signing plus the
role's per-host outcome variable; the rendering lives in plugin_utils/_report_*.py so that it
can be tested without a play.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Tuple

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.winhardening.smb.plugins.plugin_utils._report_drift import (
    summary_line,
    summary_of,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_merge import (
    MergeError,
    run_key,
    run_payload,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_model import build_report
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_warnings import (
    warning_lines,
    warning_summary,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_write import (
    FORMATS,
    WriteError,
    append_history,
    changes_from_files,
    write_report,
)

ARGUMENT_SPEC: Dict[str, Any] = {
    "dest": {"type": "path", "required": True},
    "formats": {
        "type": "list",
        "elements": "str",
        "choices": list(FORMATS),
        "default": list(FORMATS),
    },
    "hosts": {"type": "list", "elements": "str"},
    "outcome_var": {"type": "str", "default": "smb_signing_outcome"},
    "title": {"type": "str", "default": "SMB signing fleet report"},
    "group_by": {"type": "str", "choices": ["profile", "os_family"], "default": "profile"},
    "basename": {"type": "str", "default": "smb_signing_report"},
    "run_id": {"type": "str"},
    "run_info": {"type": "dict", "default": {}},
    "summarise_warnings": {"type": "bool", "default": True},
    "previous_report": {"type": "path"},
    "history": {"type": "bool", "default": True},
}


def _plain(value: Any) -> Any:
    """A deep copy in builtin types, so json.dumps never meets Ansible's lazy or tagged types."""
    if isinstance(value, Mapping):
        return {to_text(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return to_text(value)


def _run_id(given: Optional[str], now: datetime.datetime) -> str:
    """The run's id: the one given (the role passes AWX's job id), else one made here from the
    controller's clock and a random part, so two runs started in the same second differ."""
    if given:
        return given
    return "ctl_{}_{}".format(now.strftime("%Y%m%dT%H%M%SZ"), secrets.token_hex(3))


def _host_vars(hostvars: Any, host: str) -> Optional[Mapping[str, Any]]:
    """A host's variables as data. HostVars.raw_get skips templating every value of every
    host, which on a 200-host play cost more than the report itself; a plain mapping (unit
    tests, older callers) is read as is."""
    raw_get = getattr(hostvars, "raw_get", None)
    found = raw_get(host) if callable(raw_get) else hostvars.get(host)
    return found if isinstance(found, Mapping) else None


def _smb_signing_facts(holder: Any) -> Optional[Any]:
    facts = holder.get("ansible_facts") if isinstance(holder, Mapping) else None
    return facts.get("smb_signing") if isinstance(facts, Mapping) else None


class ActionModule(ActionBase):  # type: ignore[misc]
    """Runs once for the play (BYPASS_HOST_LOOP) and needs no connection to any host."""

    BYPASS_HOST_LOOP = True
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def _collect(
        self, task_vars: Mapping[str, Any], hosts: List[str], outcome_var: str
    ) -> List[Tuple[str, Optional[Any], Optional[Any]]]:
        """(host, facts, outcome) for each host. The facts come from the outcome (a failed
        task's facts are kept only there), else from the host's facts."""
        hostvars = task_vars.get("hostvars") or {}
        collected: List[Tuple[str, Optional[Any], Optional[Any]]] = []
        for host in hosts:
            host_vars = _host_vars(hostvars, host)
            if host_vars is None:
                raise AnsibleActionFail(
                    f"hosts: {host!r} is not in the inventory of this play", result={}
                )
            outcome = host_vars.get(outcome_var)
            facts = _smb_signing_facts(outcome) or _smb_signing_facts(host_vars)
            collected.append((to_text(host), _plain(facts), _plain(outcome)))
        return collected

    def run(
        self, tmp: Optional[str] = None, task_vars: Optional[Dict[str, Any]] = None
    ) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result: Dict[str, Any] = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]

        hosts = args["hosts"]
        if hosts is None:
            hosts = list(task_vars.get("ansible_play_hosts_all") or [])
        if not hosts:
            raise AnsibleActionFail("hosts: no hosts to report on (the play has none)")

        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        run_id = _run_id(args["run_id"], now)
        try:
            key = run_key(run_id)
        except MergeError as exc:
            raise AnsibleActionFail(f"run_id: {exc}") from None
        info = {
            to_text(k): _plain(v)
            for k, v in (args["run_info"] or {}).items()
            if v not in (None, "")
        }
        report = build_report(
            self._collect(task_vars, hosts, args["outcome_var"]),
            generated_at=now.isoformat().replace("+00:00", "Z"),
            title=args["title"],
            group_by=args["group_by"],
            check_mode=bool(self._task.check_mode),
        )
        report["run"] = {"id": run_id, "info": info}
        if self._task.check_mode:
            report["run"]["check_mode"] = True  # the rows' written settings were only planned

        try:
            if args["previous_report"]:
                changes = changes_from_files(report, args["previous_report"], args["dest"])
                report["changes_since"] = changes
                report["summary"]["changes_since"] = summary_of(changes)
            files = write_report(report, args["dest"], args["formats"], args["basename"])
            history = append_history(report, args["dest"]) if args["history"] else None
        except WriteError as exc:
            raise AnsibleActionFail(str(exc)) from None

        summary = report["summary"]
        warnings = warning_summary(report["hosts"])
        if args["summarise_warnings"] and warnings:
            # Once for the play, each text with its count and first hosts: the role keeps the
            # hosts' own tasks quiet (host_warnings: false), so this is where they are told.
            result["warnings"] = warning_lines(warnings)
        result.update(
            changed=False,
            files=files,
            history=history,
            summary=summary,
            run_key=key,
            stats={"smb_signing": summary, key: run_payload(report, run_id, info)},
            warning_summary=warnings,
            msg="SMB signing report for {} hosts ({} compliant) written to {}{}".format(
                summary["hosts"],
                summary["compliant_hosts"],
                args["dest"],
                "; " + summary_line(report["changes_since"]) if "changes_since" in report else "",
            ),
        )
        return result
