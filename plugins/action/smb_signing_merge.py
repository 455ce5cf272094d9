# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Merge several runs' SMB signing reports (job slices) into one fleet report, on the controller.

The sources are report JSON files, directories holding them, or the runs that
smb_signing_report published through set_stats (AWX passes a workflow's artifacts on as extra
variables). The merge itself is plugin_utils/_report_merge.py; the files are written as the
report action writes them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar, Dict, List, Tuple

from ansible.errors import AnsibleActionFail

from ansible_collections.winhardening.smb.plugins.plugin_utils._report_action import (
    ReportActionBase,
    changes_suffix,
    formats_option,
    plain,
    timestamp,
    utc_now,
    write_with_changes,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_merge import (
    MergeError,
    Source,
    coverage_line,
    merge,
    sources_from,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._report_write import (
    ReadError,
    read_json,
)


def _load(path: str) -> object:
    try:
        return read_json(path)
    except ReadError as exc:
        raise MergeError(str(exc)) from None


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


class ActionModule(ReportActionBase):
    """One fleet report from several runs' reports or published runs."""

    ARGUMENT_SPEC: ClassVar[Dict[str, Any]] = {
        "sources": {"type": "list", "elements": "path"},
        "artifacts": {"type": "dict"},
        "dest": {"type": "path", "required": True},
        "formats": formats_option(),
        "basename": {"type": "str", "default": "smb_signing_report"},
        "title": {"type": "str"},
        "group_by": {"type": "str", "choices": ["profile", "os_family"]},
        "previous_report": {"type": "path"},
    }

    def _act(self, args: Dict[str, Any], task_vars: Dict[str, Any]) -> Dict[str, Any]:
        if args["sources"] is None and args["artifacts"] is None:
            raise AnsibleActionFail("give sources (report files or directories) or artifacts")

        dest, basename = args["dest"], args["basename"]
        written = [
            os.path.realpath(os.path.join(dest, f"{basename}.{fmt}")) for fmt in args["formats"]
        ]
        try:
            sources, skipped = _read_sources(list(args["sources"] or []), written)
            if args["artifacts"] is not None:
                sources.extend(sources_from("", plain(args["artifacts"])))
            report = merge(
                sources,
                timestamp(utc_now()),
                title=args["title"],
                group_by=args["group_by"],
            )
        except MergeError as exc:
            raise AnsibleActionFail(f"cannot merge: {exc}") from None
        report["merge"]["skipped"] = skipped
        files = write_with_changes(report, args)[0]

        summary = report["summary"]
        coverage = {k: v for k, v in report["merge"].items() if k != "duplicates"}
        coverage["duplicate_hosts"] = [d["host"] for d in report["merge"]["duplicates"]]
        return {
            "changed": False,
            "files": files,
            "summary": summary,
            "coverage": coverage,
            "stats": {"smb_signing": summary, "smb_signing_merge": coverage},
            "msg": "SMB signing fleet report merged: {}; {} compliant; written to {}{}".format(
                coverage_line(report), summary["compliant_hosts"], dest, changes_suffix(report)
            ),
        }
