"""Fixtures: each test module gets its own lab on its own random 127.S.x.y subnet."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from lab.client import LabClient
from lab.lifecycle import running_lab

FLEETS = Path(__file__).resolve().parent.parent / "fleets"


@pytest.fixture(scope="module")
def demo_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabClient]:
    with running_lab(FLEETS / "demo.yml", tmp_path_factory.mktemp("demo-lab")) as lab:
        yield lab
