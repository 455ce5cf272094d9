# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What is still wrong on a host after enforcing, from the facts of the state after the run.

FOR INTERNAL COLLECTION USE ONLY.

The facts come from the task's own read, the apply script's read-back and the wire probe made
after the write, so verifying costs no further round trip.
"""

from __future__ import annotations

from typing import Any, Collection, List, Mapping, Optional, Tuple


def problems_after_enforce(
    facts: Mapping[str, Any], wanted_server: Optional[bool], skip: Collection[str]
) -> Tuple[List[str], List[str]]:
    """(problems, warnings). skip: settings deliberately left alone (the gate's server_require).

    Unsupported settings have no compliance verdict, so they are never problems.
    """
    settings: Mapping[str, Any] = facts.get("settings") or {}
    problems = [
        str(settings[name]["reason"])
        for name in facts.get("noncompliant") or []
        if name not in skip and name in settings
    ]
    warnings: List[str] = []
    observed: Optional[Mapping[str, Any]] = facts.get("observed")
    if observed:
        if observed.get("agrees_with_config") is False:
            problems.append(
                str(observed.get("message") or "the SMB negotiate disagrees with the configuration")
            )
        # The configuration may be right and the wire wrong, or both wrong: say both.
        if (
            observed.get("reachable")
            and observed.get("signing_required") is not None
            and isinstance(wanted_server, bool)
            and "server_require" not in skip
            and bool(observed["signing_required"]) != wanted_server
        ):
            problems.append(
                "the SMB negotiate says signing is {}, but it should {}be".format(
                    "required" if observed["signing_required"] else "not required",
                    "" if wanted_server else "not ",
                )
            )
        if not observed.get("reachable"):
            warnings.append(
                "the wire check could not reach the SMB port: {}".format(
                    observed.get("error") or "unknown error"
                )
            )
    return problems, warnings
