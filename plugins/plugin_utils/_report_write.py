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
from typing import Any, Callable, Dict, Mapping, Sequence

from ._report_csv import render_csv
from ._report_html import render_html

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
    return files
