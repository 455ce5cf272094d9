# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a report's files (JSON, CSV, HTML) into a directory on the controller, atomically.

FOR INTERNAL COLLECTION USE ONLY. Shared by the actions smb_signing_report (one run's report)
and smb_signing_merge (one report from several runs).
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from ._report_csv import render_changes_csv, render_csv
from ._report_drift import (
    HISTORY_FILE,
    changes_since,
    history_entry,
    history_line,
    parse_history,
    report_runs,
    runs_between,
)
from ._report_html import render_html
from ._report_model import REPORT_SCHEMA_VERSION

FORMATS = ("json", "csv", "html")

RENDERERS: Dict[str, Callable[[Mapping[str, Any]], str]] = {
    "json": lambda r: json.dumps(r, indent=2, sort_keys=False) + "\n",
    "csv": render_csv,
    "html": render_html,
}


class WriteError(OSError):
    """A report file or its directory could not be written; the message names the path."""


def write_atomically(path: str, text: str) -> None:
    """Write to a temporary file in the same directory, then rename over the target."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".smb_signing_report.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_report(
    report: Mapping[str, Any], dest: str, formats: Sequence[str], basename: str
) -> Dict[str, str]:
    """Each format's file in dest (created when missing); returns the paths by format."""
    try:
        os.makedirs(dest, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"dest: cannot create {dest!r}: {exc}") from None
    files: Dict[str, str] = {}
    for fmt in dict.fromkeys(formats):
        path = os.path.join(dest, f"{basename}.{fmt}")
        try:
            write_atomically(path, RENDERERS[fmt](report))
        except OSError as exc:
            raise WriteError(f"dest: cannot write {path!r}: {exc}") from None
        files[fmt] = path
    # The "changes since" section (a previous report was given) as a CSV of its own; a file
    # left by an earlier run with a previous report would describe other runs, so it goes.
    changes_path = os.path.join(dest, f"{basename}_changes.csv")
    try:
        if "csv" in formats and report.get("changes_since"):
            write_atomically(changes_path, render_changes_csv(report))
            files["changes_csv"] = changes_path
        elif os.path.exists(changes_path):
            os.unlink(changes_path)
    except OSError as exc:
        raise WriteError(f"dest: cannot write {changes_path!r}: {exc}") from None
    return files


def append_line(path: str, line: str) -> None:
    """Append one line with one write (O_APPEND): the run history is append-only."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def read_previous(path: str) -> Dict[str, Any]:
    """A previous report (JSON) for the "changes since" section; WriteError names the path."""
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except OSError as exc:
        raise WriteError(f"previous_report: cannot read {path!r}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise WriteError(f"previous_report: {path!r} is not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("hosts"), list):
        raise WriteError(f"previous_report: {path!r} is not an SMB signing report")
    if doc.get("schema_version") != REPORT_SCHEMA_VERSION:
        raise WriteError(
            f"previous_report: {path!r} has report schema_version "
            f"{doc.get('schema_version')!r}; this collection compares version "
            f"{REPORT_SCHEMA_VERSION} only"
        )
    return doc


def history_path(directory: str) -> str:
    return os.path.join(directory, HISTORY_FILE)


def changes_from_files(report: Mapping[str, Any], previous_path: str, dest: str) -> Dict[str, Any]:
    """The report's "changes since" section: the previous report, and the run history of this
    report's directory and of the previous report's directory (when they differ)."""
    previous = read_previous(previous_path)
    histories = []
    files: List[str] = []
    notes: List[str] = []
    for directory in dict.fromkeys(
        os.path.realpath(d) for d in (dest, os.path.dirname(previous_path) or ".")
    ):
        path = history_path(directory)
        try:
            with open(path, encoding="utf-8") as handle:
                entries, problems = parse_history(path, handle)
        except FileNotFoundError:
            notes.append(f"{path}: no run history there")
            continue
        except OSError as exc:
            notes.append(f"{path}: cannot read the run history ({exc.strerror or exc})")
            continue
        histories.append(entries)
        files.append(path)
        notes.extend(problems)
    between, found = runs_between(histories, previous, report_runs(report))
    if not found:
        notes.append(
            "the previous report's run is in no run history read; the runs in between were "
            "picked by time, and a run that wrote its report into another directory is not seen "
            "(its changes count as elsewhere)"
        )
    return changes_since(
        previous,
        report,
        between,
        history={"files": files, "previous_run_found": found, "notes": notes},
        previous_name=previous_path,
    )


def append_history(report: Mapping[str, Any], dest: str, mode: Optional[str] = None) -> str:
    """Append this run's line to the run history of its report directory."""
    path = history_path(dest)
    try:
        append_line(path, history_line(history_entry(report, mode)))
    except OSError as exc:
        raise WriteError(f"dest: cannot append to the run history {path!r}: {exc}") from None
    return path
