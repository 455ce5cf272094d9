# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception that ends a task as failed, with its message and extra result keys.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

from typing import Any, Dict


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
