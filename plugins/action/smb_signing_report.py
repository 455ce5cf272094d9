# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the fleet's SMB signing report (JSON, CSV, HTML) on the controller, once per play.

The data is what win_smb_signing_facts left in each host's ansible_facts.smb_signing plus the
role's per-host outcome variable; the rendering lives in plugin_utils/_report_*.py so that it
can be tested without a play.
"""

from __future__ import annotations

import datetime
import json
import os
import secrets
from collections.abc import Mapping
from typing import Any, ClassVar, Dict, List, Optional, Tuple

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.winhardening.smb.plugins.plugin_utils._report_action import (
    ReportActionBase,
    changes_suffix,
    formats_option,
    host_vars,
    plain,
    timestamp,
    utc_now,
    write_with_changes,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_carry import (
    coverage_note,
    with_carried,
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


def _run_id(given: Optional[str], now: datetime.datetime) -> str:
    """The run's id: the one given (the role passes AWX's job id), else one made here from the
    controller's clock and a random part, so two runs started in the same second differ."""
    if given:
        return given
    return "ctl_{}_{}".format(now.strftime("%Y%m%dT%H%M%SZ"), secrets.token_hex(3))


def _previous(path: str) -> Optional[object]:
    """The report in the destination, as read: None when there is none, the text when it is no
    JSON (the carry step then names it replaced)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise AnsibleActionFail(f"dest: cannot read the report there, {path!r}: {exc}") from None
    try:
        found: object = json.loads(data.decode("utf-8"))
        return found
    except ValueError:
        return data


def _smb_signing_facts(holder: Any) -> Optional[Any]:
    facts = holder.get("ansible_facts") if isinstance(holder, Mapping) else None
    return facts.get("smb_signing") if isinstance(facts, Mapping) else None


class ActionModule(ReportActionBase):
    """One report over the play's hosts, from their facts and outcomes."""

    ARGUMENT_SPEC: ClassVar[Dict[str, Any]] = {
        "dest": {"type": "path", "required": True},
        "formats": formats_option(),
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

    def _collect(
        self, task_vars: Mapping[str, Any], hosts: List[str], outcome_var: str
    ) -> List[Tuple[str, Optional[Any], Optional[Any]]]:
        """(host, facts, outcome) for each host. The facts come from the outcome (a failed
        task's facts are kept only there), else from the host's facts."""
        hostvars = task_vars.get("hostvars") or {}
        collected: List[Tuple[str, Optional[Any], Optional[Any]]] = []
        for host in hosts:
            found = host_vars(hostvars, host)
            if found is None:
                raise AnsibleActionFail(
                    f"hosts: {host!r} is not in the inventory of this play", result={}
                )
            outcome = found.get(outcome_var)
            facts = _smb_signing_facts(outcome) or _smb_signing_facts(found)
            collected.append((to_text(host), plain(facts), plain(outcome)))
        return collected

    def _act(self, args: Dict[str, Any], task_vars: Dict[str, Any]) -> Dict[str, Any]:
        hosts = args["hosts"]
        if hosts is None:
            hosts = list(task_vars.get("ansible_play_hosts_all") or [])
        if not hosts:
            raise AnsibleActionFail("hosts: no hosts to report on (the play has none)")

        now = utc_now()
        run_id = _run_id(args["run_id"], now)
        try:
            key = run_key(run_id)
        except MergeError as exc:
            raise AnsibleActionFail(f"run_id: {exc}") from None
        info = {
            to_text(k): plain(v) for k, v in (args["run_info"] or {}).items() if v not in (None, "")
        }
        report = build_report(
            self._collect(task_vars, hosts, args["outcome_var"]),
            generated_at=timestamp(now),
            title=args["title"],
            group_by=args["group_by"],
            check_mode=bool(self._task.check_mode),
        )
        check_mode = bool(self._task.check_mode)
        report["run"] = {"id": run_id, "info": info}
        if check_mode:
            report["run"]["check_mode"] = True  # the rows' written settings were only planned
        # What the run publishes for a merge holds this run's rows only, never carried ones.
        payload = run_payload(report, run_id, info)
        # The destination's report (the last real run's) keeps the hosts this run did not see;
        # a check run reads it too, but writes its own files (<basename>.check.*) beside it.
        real = os.path.join(args["dest"], "{}.json".format(args["basename"]))
        report = with_carried(report, _previous(real), real)
        if check_mode:
            args = {**args, "basename": args["basename"] + ".check"}
        files, history = write_with_changes(report, args, history=args["history"])

        summary = report["summary"]
        warnings = warning_summary(report["hosts"])
        out: Dict[str, Any] = {}
        if args["summarise_warnings"] and warnings:
            # Once for the play, each text with its count and first hosts: the role keeps the
            # hosts' own tasks quiet (host_warnings: false), so this is where they are told.
            out["warnings"] = warning_lines(warnings)
        out.update(
            changed=False,
            files=files,
            history=history,
            summary=summary,
            run_key=key,
            stats={"smb_signing": summary, key: payload},
            warning_summary=warnings,
            msg="SMB signing {}report for {} hosts ({} compliant) written to {}{}{}".format(
                "check-mode " if check_mode else "",
                summary["hosts"],
                summary["compliant_hosts"],
                args["dest"],
                coverage_note(report),
                changes_suffix(report),
            ),
        )
        return out
