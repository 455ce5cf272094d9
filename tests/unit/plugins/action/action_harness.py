"""Run an action plugin against a FakeHost, as ansible.windows' unit tests run theirs."""

from __future__ import annotations

from typing import Any, Dict, List, Optional
from unittest.mock import MagicMock

from ansible.playbook.task import Task
from unit.plugins.plugin_utils.fake_windows import FakeHost

from ansible_collections.winhardening.smb.plugins.module_utils.smb_negotiate import ProbeResult

TASK_VARS = {
    "inventory_hostname": "ms2019",
    "ansible_host": "127.0.0.9",
}
# The lab's SMB port: run_action passes it as probe_port unless a test gives its own.
PROBE_PORT = 14450


def probe_result(address: str, port: int, required: Optional[bool]) -> ProbeResult:
    return ProbeResult(
        address=address,
        port=port,
        reachable=required is not None,
        dialect="3.1.1" if required is not None else None,
        signing_enabled=True if required is not None else None,
        signing_required=required,
        server_guid=None,
        signing_algorithm=None,
        smb1_security_mode=None,
        error=None if required is not None else "refused",
        detail="",
        elapsed=0.01,
    )


class Wire:
    """Stands in for the probe: answers with what the fake host's server_config says, unless
    told otherwise, and records each call."""

    def __init__(self, host: FakeHost) -> None:
        self.host = host
        self.calls: List[tuple[str, int, float]] = []
        self.required: Optional[bool] = None  # None: follow the host's configuration
        self.unreachable = False

    def __call__(self, address: str, port: int = 445, deadline: float = 3.0) -> ProbeResult:
        self.calls.append((address, port, deadline))
        if self.unreachable:
            return probe_result(address, port, None)
        required = self.required
        if required is None:
            required = self.host.model.server_requires_signing
        return probe_result(address, port, required)


def run_action(
    module: Any,
    host: FakeHost,
    args: Dict[str, Any],
    *,
    check_mode: bool = False,
    diff: bool = False,
    task_vars: Optional[Dict[str, Any]] = None,
    become: bool = False,
) -> Dict[str, Any]:
    task = MagicMock(Task)
    task.args = {"probe_port": PROBE_PORT, **args}
    task.check_mode = check_mode
    task.diff = diff
    task.async_val = 0
    task.action = "winhardening.smb." + module.__name__.rsplit(".", 1)[-1]
    variables = dict(task_vars or TASK_VARS)
    play_context = MagicMock()
    play_context.remote_addr = variables.get("ansible_host")
    play_context.become = become
    play_context.become_method = "runas"
    connection = MagicMock()
    connection.exec_command.side_effect = host.exec_command
    connection._shell.tmpdir = None
    action = module.ActionModule(
        task,
        connection,
        play_context,
        loader=None,
        templar=None,
        shared_loader_obj=None,
    )
    result: Dict[str, Any] = action.run(task_vars=variables)
    return result
