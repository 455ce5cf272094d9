"""Every module's DOCUMENTATION, EXAMPLES and RETURN is YAML (a ': ' in a plain scalar breaks it,
and ansible-doc, sanity and the docs site then fail far from the cause)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

MODULES = sorted((Path(__file__).resolve().parents[4] / "plugins" / "modules").glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_module_docs_are_yaml(path: Path) -> None:
    blocks = {
        n.targets[0].id: n.value.value
        for n in ast.parse(path.read_text()).body
        if isinstance(n, ast.Assign)
        and isinstance(n.targets[0], ast.Name)
        and n.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN")
        and isinstance(n.value, ast.Constant)
    }
    assert set(blocks) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}, path.name
    for name, text in blocks.items():
        assert yaml.safe_load(text) is not None, f"{path.name}: {name} is empty"
    assert all(len(line) <= 160 for line in path.read_text().splitlines()), path.name
