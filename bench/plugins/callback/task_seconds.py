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
  - Writes a JSON list of {name, seconds, start, end, results} to the file named by
    E(TASK_SECONDS_FILE); C(start) and C(end) are seconds from E(TASK_SECONDS_EPOCH) (a Unix
    time; the callback's start when unset), and a last entry named C(<end of the play>) says
    when the stats came.
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
        epoch = os.environ.get("TASK_SECONDS_EPOCH")
        self._epoch = float(epoch) if epoch else time.time()

    def _now(self) -> float:
        return round(time.time() - self._epoch, 3)

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._started = time.perf_counter()
        now = self._now()
        self._tasks.append(
            {"name": task.get_name(), "seconds": 0.0, "start": now, "end": now, "results": 0}
        )

    def _done(self, result: Any, *args: Any, **kwargs: Any) -> None:
        if self._tasks:
            task = self._tasks[-1]
            task["seconds"] = round(time.perf_counter() - self._started, 3)
            task["end"] = self._now()
            task["results"] += 1

    v2_runner_on_ok = _done
    v2_runner_on_failed = _done
    v2_runner_on_unreachable = _done
    v2_runner_on_skipped = _done

    def v2_playbook_on_stats(self, stats: Any) -> None:
        path = os.environ.get("TASK_SECONDS_FILE")
        if path:
            now = self._now()
            end = {"name": "<end of the play>", "seconds": 0.0, "start": now, "end": now}
            with open(path, "w", encoding="utf-8") as handle:
                json.dump([*self._tasks, {**end, "results": 0}], handle)
