"""Fault kinds a host can be told to show, and when each one fires."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

# kind -> what a client sees
FAULT_KINDS: Dict[str, str] = {
    "refused": "nothing listens on the host's WinRM address: connection refused",
    "unauthorized": "every request gets HTTP 401 (Ansible: UNREACHABLE)",
    "wsman_fault": "HTTP 500 with a WS-Man SOAP fault",
    "hang": "the request is read and never answered (past the client's timeout)",
    "drop_after_write": "an apply is carried out, then the connection is closed unanswered",
    "garbage_stdout": "the command's stdout is replaced by bytes that are not JSON",
    "truncated_stdout": "the command's stdout is cut in half",
    "access_denied": "the command fails: rc 1, CLIXML stderr 'Access is denied.'",
    "slow": "every answer is delayed by --delay seconds (default 1)",
}
# Faults that fire on an HTTP request rather than on a command's result.
REQUEST_FAULTS = ("unauthorized", "wsman_fault", "hang", "slow")
COMMAND_FAULTS = ("drop_after_write", "garbage_stdout", "truncated_stdout", "access_denied")


@dataclass
class Fault:
    kind: str
    once: bool = False
    delay: float = 1.0


def make_fault(host: str, kind: str, once: bool, delay: Optional[float]) -> Fault:
    if kind not in FAULT_KINDS:
        known = ", ".join(FAULT_KINDS)
        raise ValueError(f"host {host}: unknown fault kind {kind!r}; known: {known}")
    if kind == "refused" and once:
        raise ValueError(
            f"host {host}: 'refused' cannot be --once (a refused connection never "
            "reaches the lab); use clear-fault"
        )
    if delay is not None and (delay < 0 or delay > 600):
        raise ValueError(f"host {host}: --delay must be between 0 and 600 seconds")
    return Fault(kind, once, 1.0 if delay is None else delay)
