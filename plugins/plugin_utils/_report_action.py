# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the controller-side report actions share: smb_signing_report, smb_signing_merge and
smb_signing_rollback run once for the play, need no connection, take the same ``formats``
option, read variables as plain data and write a report with its "changes since" section.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, ClassVar, Dict, Optional, Tuple

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ._report_drift import summary_line, summary_of
from ._report_write import FORMATS, WriteError, append_history, changes_from_files, write_report


def formats_option() -> Dict[str, Any]:
    """The ``formats`` option: which of the report's files to write, all by default."""
    return {"type": "list", "elements": "str", "choices": list(FORMATS), "default": list(FORMATS)}


def plain(value: Any) -> Any:
    """A deep copy in builtin types, so json.dumps never meets Ansible's lazy or tagged types."""
    if isinstance(value, Mapping):
        return {to_text(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return to_text(value)


def host_vars(hostvars: Any, host: str) -> Optional[Mapping[str, Any]]:
    """A host's variables as data. HostVars.raw_get skips templating every value of every
    host, which on a 200-host play cost more than the report itself; a plain mapping (unit
    tests, older callers) is read as is."""
    raw_get = getattr(hostvars, "raw_get", None)
    found = raw_get(host) if callable(raw_get) else hostvars.get(host)
    return found if isinstance(found, Mapping) else None


def utc_now() -> datetime.datetime:
    """The controller's clock in UTC, to the second."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def timestamp(now: datetime.datetime) -> str:
    """A report's generated_at: ISO 8601 in UTC with a Z."""
    return now.isoformat().replace("+00:00", "Z")


def changes_suffix(report: Mapping[str, Any]) -> str:
    """The end of an action's message: the "changes since" summary, when the report has one."""
    return "; " + summary_line(report["changes_since"]) if "changes_since" in report else ""


def write_with_changes(
    report: Dict[str, Any], args: Mapping[str, Any], history: bool = False
) -> Tuple[Dict[str, str], Optional[str]]:
    """Add the "changes since" section (option previous_report), write the report's files and,
    with ``history``, append the run to the run history; returns the files and the history's
    path. A file that cannot be read or written fails the task, naming it."""
    try:
        if args["previous_report"]:
            changes = changes_from_files(report, args["previous_report"], args["dest"])
            report["changes_since"] = changes
            report["summary"]["changes_since"] = summary_of(changes)
        files = write_report(report, args["dest"], args["formats"], args["basename"])
        return files, append_history(report, args["dest"]) if history else None
    except WriteError as exc:
        raise AnsibleActionFail(str(exc)) from None


class ReportActionBase(ActionBase):  # type: ignore[misc]
    """Runs once for the play (BYPASS_HOST_LOOP) and needs no connection to any host.

    A subclass names its options in ARGUMENT_SPEC and does its work in ``_act``, which returns
    what goes into the task's result.
    """

    BYPASS_HOST_LOOP = True
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    ARGUMENT_SPEC: ClassVar[Dict[str, Any]] = {}

    def run(
        self, tmp: Optional[str] = None, task_vars: Optional[Dict[str, Any]] = None
    ) -> Dict[str, Any]:
        task_vars = task_vars or {}
        result: Dict[str, Any] = super().run(tmp, task_vars)
        del tmp
        args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)[1]
        result.update(self._act(args, task_vars))
        return result

    def _act(self, args: Dict[str, Any], task_vars: Dict[str, Any]) -> Dict[str, Any]:
        raise NotImplementedError
