# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a report's files (JSON, CSV, HTML) into a directory on the controller, atomically, and
read the JSON files and run history a report is compared with.

FOR INTERNAL COLLECTION USE ONLY. Shared by the actions smb_signing_report (one run's report),
smb_signing_merge (one report from several runs) and smb_signing_rollback (the rollback's report).
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

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
from ._report_model import NotAReport, as_report

Renderers = Mapping[str, Callable[[Mapping[str, Any]], str]]

FORMATS = ("json", "csv", "html")

RENDERERS: Renderers = {
    "json": lambda r: json.dumps(r, indent=2, sort_keys=False) + "\n",
    "csv": render_csv,
    "html": render_html,
}


class WriteError(OSError):
    """A report file or its directory could not be written; the message names the path."""


class ReadError(ValueError):
    """A JSON file that could not be read or is not JSON; the message names the path."""


def read_json(path: str) -> object:
    """The JSON document in a file; ReadError says why there is none."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise ReadError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ReadError(f"{path}: not JSON ({exc})") from None


def read_history(path: str) -> Tuple[List[Dict[str, Any]], List[str]]:
    """A run history file's entries and the problems of the lines that are no entry; OSError
    when it cannot be read."""
    with open(path, encoding="utf-8") as handle:
        return parse_history(path, handle)


# The report lists the hosts that accept unsigned SMB: readable by its owner only, unless the
# user widened an existing file or directory, which is kept.
FILE_MODE = 0o600
DIR_MODE = 0o700


def _file_mode(path: str) -> int:
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        return FILE_MODE


def make_dir(path: str) -> None:
    """Create the report directory owner-only; an existing one keeps its mode."""
    os.makedirs(path, mode=DIR_MODE, exist_ok=True)


def write_atomically(path: str, text: str) -> None:
    """Write to a temporary file in the same directory, then rename over the target."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".smb_signing_report.", dir=directory)
    try:
        # A lone surrogate (text that did not come through the engine's read) must not make the
        # write fail half-way: it is written as '?'.
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8", errors="replace"))
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_files(
    report: Mapping[str, Any],
    dest: str,
    formats: Sequence[str],
    basename: str,
    renderers: Optional[Renderers] = None,
) -> Dict[str, str]:
    """Each format's file in dest (created when missing), rendered by ``renderers`` (the report's
    own by default); returns the paths by format."""
    renderers = RENDERERS if renderers is None else renderers
    try:
        make_dir(dest)
    except OSError as exc:
        raise WriteError(f"dest: cannot create {dest!r}: {exc}") from None
    # Every format is rendered before any file changes, so a rendering error leaves the last
    # run's files as they were, all of them.
    rendered = {fmt: renderers[fmt](report) for fmt in dict.fromkeys(formats)}
    files: Dict[str, str] = {}
    failed: List[str] = []
    for fmt, text in rendered.items():
        path = os.path.join(dest, f"{basename}.{fmt}")
        try:
            write_atomically(path, text)
        except OSError as exc:
            failed.append(f"{path!r}: {exc}")
            # The last run's file would look current beside this run's others: it goes.
            if os.path.isfile(path):
                os.unlink(path)
            continue
        files[fmt] = path
    if failed:
        written = ", ".join(files.values()) or "none"
        raise WriteError(f"dest: cannot write {'; '.join(failed)} (written: {written})")
    return files


def write_report(
    report: Mapping[str, Any], dest: str, formats: Sequence[str], basename: str
) -> Dict[str, str]:
    """The fleet report's files in dest, and its "changes since" CSV; returns the paths."""
    files = write_files(report, dest, formats, basename)
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
        make_dir(directory)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def read_previous(path: str) -> Mapping[str, Any]:
    """A previous report (JSON) for the "changes since" section; WriteError names the path."""
    try:
        return as_report(read_json(path), "compares")
    except ReadError as exc:
        raise WriteError(f"previous_report: {exc}") from None
    except NotAReport as exc:
        raise WriteError(f"previous_report: {path}: {exc}") from None


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
            entries, problems = read_history(path)
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


def append_entry(dest: str, entry: Mapping[str, Any]) -> str:
    """Append one entry to the run history of a report directory; returns the file's path."""
    path = history_path(dest)
    try:
        append_line(path, history_line(entry))
    except OSError as exc:
        raise WriteError(f"dest: cannot append to the run history {path!r}: {exc}") from None
    return path


def append_history(report: Mapping[str, Any], dest: str, mode: Optional[str] = None) -> str:
    """Append this run's line to the run history of its report directory."""
    return append_entry(dest, history_entry(report, mode))
