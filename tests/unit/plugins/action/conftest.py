"""The probe stand-in, shared by the action plugin tests.

Nothing from the collection is imported at module level here: conftest files load before
pytest-ansible installs Ansible's collection finder, and an early import would bypass it.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], Any]:
    """A factory: wire(host) installs a Wire answering for that FakeHost as the probe."""
    from unit.plugins.action.action_harness import Wire

    from ansible_collections.winhardening.smb.plugins.plugin_utils._engine import probe

    def install(host: Any) -> Wire:
        fake = Wire(host)
        monkeypatch.setattr(probe.smb_negotiate, "probe_endpoint", fake)
        return fake

    return install
