"""Fixtures for the probe's network tests: fake hostile endpoints and real smbd instances.

Nothing from the collection is imported at module level: pytest loads this file before
pytest-ansible installs Ansible's collection finder, and an early import would bypass it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def fakes() -> Iterator[Any]:
    from ansible_collections.winhardening.smb.tests.integration.probe import fake_endpoints

    with fake_endpoints.fake_endpoints() as f:
        yield f


@pytest.fixture(scope="session")
def smbd_path() -> str:
    path = shutil.which("smbd") or shutil.which("smbd", path="/usr/sbin:/usr/local/sbin")
    if path is None:
        pytest.skip("smbd is not installed (Debian package samba)")
    return path


@pytest.fixture(scope="session")
def nmap_path() -> str:
    path = shutil.which("nmap")
    if path is None:
        pytest.skip("nmap is not installed (Debian package nmap)")
    return path
