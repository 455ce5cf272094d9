# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wire check from the controller: an SMB negotiate, asked again while refused or closed,
optionally in a thread while the host's script runs.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, Optional, Tuple

from ansible_collections.winhardening.smb.plugins.module_utils import smb_negotiate

from .options import ProbeTarget

# Probe errors worth asking again after a write: both come back at once, unlike a timeout.
RETRIED_PROBE_ERRORS = ("refused", "closed")
# A probe whose connection is refused or closed asks again after these pauses (7 s at most):
# right after a write the SMB server may be taking up its new settings, and a lab fleet's shared
# smbd restarts whenever another host's write moves it. A filtered port times out and is not
# asked again.
PROBE_RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0, 3.25)


def probe_with_retries(
    target: ProbeTarget, retry_delays: Tuple[float, ...] = PROBE_RETRY_DELAYS
) -> Dict[str, Any]:
    """One SMB negotiate, asked again after each delay while the connection is refused or
    closed. A timeout is not retried: a filtered port would only cost more timeouts."""
    result: Dict[str, Any] = smb_negotiate.probe_endpoint(
        target.address, target.port, target.timeout
    ).to_dict()
    for delay in retry_delays:
        if result.get("signing_required") is not None:
            break
        if result.get("error") not in RETRIED_PROBE_ERRORS:
            break
        time.sleep(delay)
        result = smb_negotiate.probe_endpoint(target.address, target.port, target.timeout).to_dict()
    return result


class PendingProbe:
    """probe_with_retries under way in its own thread, so that it runs while the host's script
    does: the negotiate goes from the controller to the host's SMB port, the script over WinRM,
    so a host costs the longer of the two instead of both. A task that fails first never asks
    for the result; the daemon thread ends within the probe's own deadline and retries."""

    def __init__(
        self, target: ProbeTarget, retry_delays: Tuple[float, ...] = PROBE_RETRY_DELAYS
    ) -> None:
        self._result: Optional[Dict[str, Any]] = None
        self._error: Optional[str] = None
        self._target = target
        self._thread = threading.Thread(
            target=self._run, args=(retry_delays,), name="smb-signing-probe", daemon=True
        )
        self._thread.start()

    def _run(self, retry_delays: Tuple[float, ...]) -> None:
        try:
            self._result = probe_with_retries(self._target, retry_delays)
        except Exception as exc:  # the verdict must say the probe failed, not hang or vanish
            self._error = f"{type(exc).__name__}: {exc}"

    def result(self) -> Dict[str, Any]:
        self._thread.join()
        if self._result is not None:
            return self._result
        return {
            "address": self._target.address,
            "port": self._target.port,
            "reachable": False,
            "signing_required": None,
            "error": "probe_failed",
            "detail": self._error or "the probe thread ended without a result",
        }
