# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Merge several runs' SMB signing reports (job slices) into one fleet report, on the controller.

The sources are report JSON files, directories holding them, or the runs that
smb_signing_report published through set_stats (AWX passes a workflow's artifacts on as extra
variables). The merge itself is plugin_utils/_report_merge.py; the files are written as the
report action writes them.
"""

from __future__ import annotations

import datetime
import json
import os
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
    Source,
    coverage_line,
    merge,
    sources_from,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_write import (
    FORMATS,
    WriteError,
    changes_from_files,
    write_report,
)

ARGUMENT_SPEC: Dict[str, Any] = {
    "sources": {"type": "list", "elements": "path"},
    "artifacts": {"type": "dict"},
    "dest": {"type": "path", "required": True},
    "formats": {
        "type": "list",
        "elements": "str",
        "choices": list(FORMATS),
        "default": list(FORMATS),
    },
    "basename": {"type": "str", "default": "smb_signing_report"},
    "title": {"type": "str"},
    "group_by": {"type": "str", "choices": ["profile", "os_family"]},
    "previous_report": {"type": "path"},
}


def _plain(value: Any) -> Any:
    """A deep copy in builtin types (Ansible's variables may be lazy or tagged types)."""
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
        raise MergeError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise MergeError(f"{path}: not JSON ({exc})") from None


def _json_files(directory: str) -> List[str]:
    found: List[str] = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        found.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(".json"))
    return found


def _read_sources(paths: List[str], written: List[str]) -> Tuple[List[Source], List[str]]:
    """The sources in the named files and directories, and what a directory held that is no
    source (other JSON, a merged report, this merge's own output) with the reason."""
    sources: List[Source] = []
    skipped: List[str] = []
    for path in paths:
        if os.path.isdir(path):
            for name in _json_files(path):
                if os.path.realpath(name) in written:
                    skipped.append(f"{name}: this merge's own output")
                    continue
                try:
                    doc = _load(name)
                    if isinstance(doc, Mapping) and "merge" in doc:
                        skipped.append(f"{name}: a merged report (name it to merge it again)")
                        continue
                    sources.extend(sources_from(name, doc))
                except MergeError as exc:
                    skipped.append(str(exc))
        elif os.path.exists(path):
            sources.extend(sources_from(path, _load(path)))
        else:
            raise MergeError(f"{path}: no such file or directory")
    return sources, skipped


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
        if args["sources"] is None and args["artifacts"] is None:
            raise AnsibleActionFail("give sources (report files or directories) or artifacts")

        dest, basename = args["dest"], args["basename"]
        written = [
            os.path.realpath(os.path.join(dest, f"{basename}.{fmt}")) for fmt in args["formats"]
        ]
        try:
            sources, skipped = _read_sources(list(args["sources"] or []), written)
            if args["artifacts"] is not None:
                sources.extend(sources_from("", _plain(args["artifacts"])))
            now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            report = merge(
                sources,
                now.isoformat().replace("+00:00", "Z"),
                title=args["title"],
                group_by=args["group_by"],
            )
        except MergeError as exc:
            raise AnsibleActionFail(f"cannot merge: {exc}") from None
        report["merge"]["skipped"] = skipped

        try:
            if args["previous_report"]:
                changes = changes_from_files(report, args["previous_report"], dest)
                report["changes_since"] = changes
                report["summary"]["changes_since"] = summary_of(changes)
            files = write_report(report, dest, args["formats"], basename)
        except WriteError as exc:
            raise AnsibleActionFail(str(exc)) from None

        summary = report["summary"]
        coverage = {k: v for k, v in report["merge"].items() if k != "duplicates"}
        coverage["duplicate_hosts"] = [d["host"] for d in report["merge"]["duplicates"]]
        result.update(
            changed=False,
            files=files,
            summary=summary,
            coverage=coverage,
            stats={"smb_signing": summary, "smb_signing_merge": coverage},
            msg="SMB signing fleet report merged: {}; {} compliant; written to {}{}".format(
                coverage_line(report),
                summary["compliant_hosts"],
                dest,
                "; " + summary_line(report["changes_since"]) if "changes_since" in report else "",
            ),
        )
        return result
