# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What win_smb_signing_facts and win_smb_signing share: their options and the two scripts,
run over the task's connection.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.plugins.action import ActionBase

from ._engine.errors import TaskFailed
from ._engine.options import MAX_AUDIT_EVENTS, REQUIRED_IF, TaskOptions, parse_options
from ._engine.read import ApplyOutcome, ProtocolError, TargetState, parse_apply, parse_read_state
from ._pwsh import ScriptFailed, ScriptOutput, ScriptTimedOut, excerpt_of, run_script
from ._scripts import APPLY, READ_STATE, Script

STATE_UNKNOWN_MSG = (
    "%s: %s while the write script was running. The write may or may not have been applied: "
    "the state is unknown. Re-run the task; it reads the state first and converges."
)


def is_task_timeout(exc: BaseException) -> bool:
    """Ansible's task timeout (``timeout:``): a BaseException, named the same on 2.16 to 2.21."""
    return type(exc).__name__ == "TaskTimeoutError"


def unexpected_failure(host: str, exc: BaseException) -> Dict[str, Any]:
    """A failed result for an error the collection did not foresee: the host was reached, so it
    must not look unreachable, and the reason is named instead of a traceback."""
    msg = f"{host}: unexpected error: {type(exc).__name__}: {exc}"
    return {"failed": True, "msg": msg, "failure": msg, "status": "failed"}


class SmbSigningActionBase(ActionBase):  # type: ignore[misc]
    """Runs the target protocol's scripts over the task's connection, one exec per script."""

    _supports_check_mode = True
    _supports_async = False

    def _task_options(
        self, argument_spec: Dict[str, Dict[str, Any]], task_vars: Mapping[str, Any]
    ) -> TaskOptions:
        """The task's arguments checked against their spec, then parsed; TaskFailed names the
        bad option."""
        if getattr(self._play_context, "become", False) is True:
            # The scripts run as raw PowerShell through the connection, not through Ansible's
            # module wrapper, which is where runas would apply: refuse rather than ignore it.
            raise TaskFailed(
                "become: this module runs its scripts as the connection user and cannot apply "
                f"become (method {getattr(self._play_context, 'become_method', None)!r}); set "
                "become: false for this task and connect as a user with the rights it needs"
            )
        try:
            args = self.validate_argument_spec(
                argument_spec=argument_spec, required_if=REQUIRED_IF
            )[1]
        except AnsibleActionFail as exc:
            raise TaskFailed(exc.message) from None
        options = parse_options(
            args,
            check_mode=bool(self._task.check_mode),
            default_probe_address=self._probe_address(task_vars),
        )
        self._script_timeout = options.script_timeout
        self._stray = []
        return options

    def _probe_address(self, task_vars: Mapping[str, Any]) -> Optional[str]:
        """The address the connection uses (ansible_host), else the inventory name."""
        address = getattr(self._play_context, "remote_addr", None)
        return str(address or task_vars.get("inventory_hostname") or "") or None

    def _host_name(self, task_vars: Mapping[str, Any]) -> str:
        name = task_vars.get("inventory_hostname")
        if not name:
            name = getattr(self._play_context, "remote_addr", None) or "the host"
        return str(name)

    _script_timeout: Optional[float] = None
    # Lines a host printed besides its answer, as warnings (escaped: a target's text).
    _stray: List[str]

    def _guarded(
        self, host: str, result: Dict[str, Any], step: Callable[[], None]
    ) -> Dict[str, Any]:
        """Run the task's step; every way it can end becomes a result with one status. Only a
        transport failure escapes, which Ansible reports as unreachable."""
        try:
            step()
        except TaskFailed as exc:
            result.update(exc.to_result())
            result.setdefault("status", "failed")
            # A host the gate alone stopped is blocked (its message under blocked), not failed.
            result["failure"] = None if result["status"] == "blocked" else exc.msg
        except AnsibleConnectionFailure:
            raise
        except Exception as exc:
            result.update(unexpected_failure(host, exc))
        return result

    def _run(self, host: str, script: Script, request: Mapping[str, Any]) -> ScriptOutput:
        try:
            return run_script(self._connection, host, script, request, self._script_timeout)
        except ScriptFailed as exc:
            raise TaskFailed(exc.message, **_without_msg(exc.result())) from None
        except ScriptTimedOut as exc:
            raise TaskFailed(
                f"{host}: the {script.op} script gave {exc} (script_timeout); it may still be "
                "running on the host"
            ) from None

    def _read_state(self, host: str, options: TaskOptions) -> TargetState:
        window = options.audit_window
        request = {
            "events_since": window.start_text if window is not None else None,
            "max_peers": options.max_audit_peers,
            "max_events": MAX_AUDIT_EVENTS,
        }
        out = self._run(host, READ_STATE, request)
        self._stray.extend(
            f"{host}: the read script also printed: {ln[:200]!r}" for ln in out.stray_lines
        )
        try:
            return parse_read_state(out.data)
        except ProtocolError as exc:
            raise TaskFailed(
                f"{host}: the read_state answer does not follow the protocol: {exc}",
                stdout=excerpt_of(out.stdout, 4000),
            ) from None

    def _apply(self, host: str, request: Mapping[str, Any]) -> ApplyOutcome:
        """Run the write; any failure part-way leaves the state unknown, and says so."""
        try:
            output = self._run(host, APPLY, request)
        except AnsibleConnectionFailure as exc:
            cause = f"the connection failed ({exc})"
            raise TaskFailed(STATE_UNKNOWN_MSG % (host, cause), state_unknown=True) from None
        except TaskFailed as exc:
            exc.result["state_unknown"] = True
            exc.msg += (
                " Some settings may have been written before it stopped; re-run the task to "
                "read the state and converge."
            )
            raise
        except BaseException as exc:
            # Ansible's task timeout is a BaseException; a result that says "state unknown"
            # serves the caller better than Ansible's bare timeout message.
            if not (is_task_timeout(exc) or isinstance(exc, Exception)):
                raise
            cause = "the task timed out" if is_task_timeout(exc) else f"{type(exc).__name__}: {exc}"
            raise TaskFailed(STATE_UNKNOWN_MSG % (host, cause), state_unknown=True) from None
        for line in output.stray_lines:
            self._stray.append(f"{host}: the apply script also printed: {line[:200]!r}")
        try:
            return parse_apply(output.data)
        except ProtocolError as exc:
            raise TaskFailed(
                f"{host}: the apply answer does not follow the protocol: {exc}. The state is "
                "unknown; re-run the task to converge.",
                state_unknown=True,
                stdout=excerpt_of(output.stdout, 4000),
            ) from None


def _without_msg(result: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in result.items() if k not in ("msg", "failed")}
