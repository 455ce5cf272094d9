# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What win_smb_signing_facts and win_smb_signing share: options, the read, and the probe.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, Mapping, Optional, Tuple

from ansible.plugins.action import ActionBase

from ansible_collections.winhardening.smb.plugins.module_utils import smb_negotiate
from ansible_collections.winhardening.smb.plugins.module_utils.baselines import BASELINES

from ._pwsh import ScriptFailed, ScriptOutput, run_script
from ._scripts import READ_STATE, Script
from ._target_state import ProtocolError, TargetState, parse_read_state

DEFAULT_PROBE_PORT = 445
PROBE_PORT_VAR = "smb_signing_probe_port"

BASELINE_ARGS: Dict[str, Dict[str, Any]] = {
    "custom_baseline": {"type": "dict"},
}

PROBE_ARGS: Dict[str, Dict[str, Any]] = {
    "probe": {"type": "bool", "default": True},
    "probe_address": {"type": "str"},
    "probe_port": {"type": "int"},
    "probe_timeout": {"type": "float", "default": 3.0},
}

BASELINE_CHOICES = list(BASELINES)

# Probe errors worth asking again after a write: both come back at once, unlike a timeout.
RETRIED_PROBE_ERRORS = ("refused", "closed")


class TaskFailed(Exception):
    """Ends the task as failed with this message and extra result keys (no traceback)."""

    def __init__(self, msg: str, **result: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.result = result

    def to_result(self) -> Dict[str, Any]:
        out = dict(self.result)
        out.update(failed=True, msg=self.msg)
        return out


class SmbSigningActionBase(ActionBase):  # type: ignore[misc]
    """Runs the target protocol's scripts over the task's connection, one exec per script."""

    _supports_check_mode = True
    _supports_async = False

    def _validated_args(self, argument_spec: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
        """The task's arguments checked against ``argument_spec``.

        AnsibleActionFail names the bad option. baseline=custom takes its values from
        custom_baseline or the overrides, so it needs at least one of them.
        """
        return dict(
            self.validate_argument_spec(
                argument_spec=argument_spec,
                required_if=[
                    (
                        "baseline",
                        "custom",
                        ["custom_baseline", "profile_overrides", "overrides"],
                        True,
                    )
                ],
            )[1]
        )

    def _host_name(self, task_vars: Mapping[str, Any]) -> str:
        name = task_vars.get("inventory_hostname")
        if not name:
            name = getattr(self._play_context, "remote_addr", None) or "the host"
        return str(name)

    def _run(self, host: str, script: Script, request: Mapping[str, Any]) -> ScriptOutput:
        try:
            return run_script(self._connection, host, script, request)
        except ScriptFailed as exc:
            raise TaskFailed(exc.message, **_without_msg(exc.result())) from None

    def _read_state(
        self, host: str, events_since: Optional[str] = None, max_events: int = 50
    ) -> TargetState:
        out = self._run(host, READ_STATE, {"events_since": events_since, "max_events": max_events})
        try:
            return parse_read_state(out.data)
        except ProtocolError as exc:
            raise TaskFailed(
                f"{host}: the read_state answer does not follow the protocol: {exc}",
                stdout=out.stdout[:4000],
            ) from None

    def _probe_target(
        self, args: Mapping[str, Any], task_vars: Mapping[str, Any]
    ) -> Tuple[str, int]:
        """The probe's address and port: the options, else ansible_host / inventory_hostname
        and the smb_signing_probe_port host variable, else 445."""
        address = args.get("probe_address") or task_vars.get("ansible_host")
        address = address or task_vars.get("inventory_hostname")
        address = self._template(address)
        port = args.get("probe_port")
        if port is None:
            raw = self._template(task_vars.get(PROBE_PORT_VAR))
            if raw is None or raw == "":
                port = DEFAULT_PROBE_PORT
            else:
                try:
                    port = int(raw)
                except (TypeError, ValueError):
                    raise TaskFailed(
                        f"host variable {PROBE_PORT_VAR} must be a port number, got {raw!r}"
                    ) from None
        if not 0 < int(port) < 65536:
            raise TaskFailed(f"probe_port must be between 1 and 65535, got {port}")
        if not address:
            raise TaskFailed("probe_address: no address to probe; set probe_address")
        return str(address), int(port)

    def _template(self, value: Any) -> Any:
        if isinstance(value, str) and "{{" in value and self._templar is not None:
            return self._templar.template(value)
        return value

    def _probe_settings(
        self, args: Mapping[str, Any], task_vars: Mapping[str, Any]
    ) -> Tuple[str, int, float]:
        """Address, port and timeout of the probe; fails on a bad option before any work."""
        address, port = self._probe_target(args, task_vars)
        raw = args.get("probe_timeout")
        timeout = 3.0 if raw is None else float(raw)
        if timeout <= 0 or timeout > 60:
            raise TaskFailed(f"probe_timeout must be above 0 and at most 60 seconds, got {raw}")
        return address, port, timeout


class PendingProbe:
    """probe_with_retries under way in its own thread, so that it runs while the host's script
    does: the two are independent (the negotiate goes from the controller to the host's SMB
    port, the script over WinRM), so a host costs the longer of the two instead of both.

    Give it the settings _probe_settings resolved in the task's thread; the probe thread only
    talks SMB. probe_endpoint never raises, so neither does result(); a task that fails first
    simply never asks for it (the thread is a daemon and ends within the probe's own deadline
    and retries).
    """

    def __init__(
        self, address: str, port: int, timeout: float, retry_delays: Tuple[float, ...] = ()
    ) -> None:
        self._result: Optional[Dict[str, Any]] = None
        self._thread = threading.Thread(
            target=self._run,
            args=(address, port, timeout, retry_delays),
            name="smb-signing-probe",
            daemon=True,
        )
        self._thread.start()

    def _run(
        self, address: str, port: int, timeout: float, retry_delays: Tuple[float, ...]
    ) -> None:
        self._result = probe_with_retries(address, port, timeout, retry_delays)

    def result(self) -> Dict[str, Any]:
        self._thread.join()
        if self._result is None:  # pragma: no cover - only if the thread itself died
            raise TaskFailed("the SMB probe thread ended without a result")
        return self._result


def probe_with_retries(
    address: str, port: int, timeout: float, retry_delays: Tuple[float, ...] = ()
) -> Dict[str, Any]:
    """One SMB negotiate, asked again after each delay while the connection is refused or
    closed (right after a write the server may still be taking up its new settings). A timeout
    is not retried: a filtered port would only cost more timeouts."""
    result: Dict[str, Any] = smb_negotiate.probe_endpoint(address, port, timeout).to_dict()
    for delay in retry_delays:
        if result.get("signing_required") is not None:
            break
        if result.get("error") not in RETRIED_PROBE_ERRORS:
            break
        time.sleep(delay)
        result = smb_negotiate.probe_endpoint(address, port, timeout).to_dict()
    return result


def _without_msg(result: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in result.items() if k not in ("msg", "failed")}
