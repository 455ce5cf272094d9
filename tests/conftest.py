"""Make the checkout importable as ``ansible_collections.winhardening.smb``.

Ansible finds collections only under an ``ansible_collections/<namespace>/<name>`` path, and a
flat checkout is not one. A single symlink in ``.collections/`` gives both pytest and the
ansible-playbook subprocesses that the tests start the same view of the working tree.
pytest-ansible (when installed) would build its own per-entry symlink tree; it is told to use
this one instead, so the suites behave the same with or without it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_ROOT = REPO_ROOT / ".collections"


def _link_collection() -> None:
    link = COLLECTIONS_ROOT / "ansible_collections" / "winhardening" / "smb"
    if not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO_ROOT, target_is_directory=True)


_link_collection()
os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS_ROOT)
if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config.option, "ansible_unit_inject_only"):
        config.option.ansible_unit_inject_only = True


@pytest.fixture(autouse=True)
def _inheritable_stdio() -> None:
    """Give every test standard descriptors that child processes inherit.

    An in-process Ansible run (pytest-ansible's fixtures) leaves descriptors 0-2 marked
    close-on-exec in the pytest process, so every ansible-playbook started after it begins with
    no descriptor 0, and ansible-core 2.21's workers then die with "Could not detach from
    stdio". CI may also start the suite with no standard input at all.
    """
    try:
        os.fstat(0)
    except OSError:
        fd = os.open(os.devnull, os.O_RDONLY)
        if fd != 0:
            os.dup2(fd, 0)
            os.close(fd)
    for fd in (0, 1, 2):
        try:
            if not os.get_inheritable(fd):
                os.set_inheritable(fd, True)
        except OSError:
            continue
