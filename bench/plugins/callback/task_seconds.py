# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bench only: each task's wall time, from its start to its last host's result, as JSON."""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, List

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: task_seconds
type: aggregate
short_description: each task's wall time, for the benchmarks
description:
  - Writes a JSON list of {name, seconds} to the file named by E(TASK_SECONDS_FILE).
"""


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_seconds"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._tasks: List[Dict[str, Any]] = []
        self._started = 0.0

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._started = time.perf_counter()
        self._tasks.append({"name": task.get_name(), "seconds": 0.0})

    def _done(self, result: Any) -> None:
        if self._tasks:
            self._tasks[-1]["seconds"] = round(time.perf_counter() - self._started, 3)

    v2_runner_on_ok = _done
    v2_runner_on_failed = _done
    v2_runner_on_unreachable = _done

    def v2_playbook_on_stats(self, stats: Any) -> None:
        path = os.environ.get("TASK_SECONDS_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(self._tasks, handle)
