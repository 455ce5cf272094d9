"""docs/facts-schema.md, the module's RETURN and the facts the code builds name the same keys."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, Dict, Set

import yaml
from unit.plugins.plugin_utils.fake_windows import FakeHost

from ansible_collections.winhardening.smb.plugins.plugin_utils._engine import render
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.assess import assess
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.read import (
    parse_read_state,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.render import (
    SCHEMA_VERSION,
)

REPO = Path(__file__).resolve().parents[4]
DOC = REPO / "docs" / "facts-schema.md"
MODULE = REPO / "plugins" / "modules" / "win_smb_signing_facts.py"
PLACEHOLDER = {"...": None}


def _doc_example() -> Dict[str, Any]:
    match = re.search(r"```yaml\n(schema_version:.*?)```", DOC.read_text(), re.DOTALL)
    assert match, "no example block in docs/facts-schema.md"
    data: Dict[str, Any] = yaml.safe_load(match.group(1))
    return data


def _code_facts() -> Dict[str, Any]:
    since = "2026-11-01T00:00:00Z"
    host = FakeHost.demo("ms2025")
    state = parse_read_state(
        host.answer("read_state", {"events_since": since, "max_peers": 50, "max_events": 10000})
    )
    probe = {
        "address": "127.0.0.1",
        "port": 445,
        "reachable": True,
        "dialect": "3.1.1",
        "signing_enabled": True,
        "signing_required": False,
        "error": None,
        "detail": "",
    }
    targets = {"server_require": True, "client_require": True}
    assessment = assess(state, baseline="cis", targets=targets, window_start=since)
    return render.facts(assessment.with_wire(probe))


def _compare(doc: Any, code: Any, where: str) -> None:
    if doc == PLACEHOLDER or not isinstance(doc, dict) or not isinstance(code, dict):
        return
    assert set(doc) == set(code), f"{where}: doc {sorted(doc)} vs code {sorted(code)}"
    for key in doc:
        _compare(doc[key], code[key], f"{where}.{key}")


def test_doc_example_has_the_keys_the_code_builds() -> None:
    doc, code = _doc_example(), _code_facts()
    assert doc["schema_version"] == code["schema_version"] == SCHEMA_VERSION
    _compare(doc, code, "smb_signing")
    # Placeholders stand for settings with the same keys as the spelled-out ones.
    assert set(doc["settings"]) == set(code["settings"])


def _return_keys() -> Dict[str, Set[str]]:
    tree = ast.parse(MODULE.read_text())
    text = next(
        n.value.value
        for n in tree.body
        if isinstance(n, ast.Assign)
        and getattr(n.targets[0], "id", "") == "RETURN"
        and isinstance(n.value, ast.Constant)
    )
    smb = yaml.safe_load(text)["ansible_facts"]["contains"]["smb_signing"]["contains"]
    return {"top": set(smb), "settings": set(smb["settings"]["contains"])}


def test_module_return_documents_every_key() -> None:
    keys, code = _return_keys(), _code_facts()
    assert keys["top"] == set(code)
    assert keys["settings"] == set(code["settings"]["server_require"])


def test_every_documented_key_is_described_in_the_tables() -> None:
    text = DOC.read_text()
    code = _code_facts()
    for key in code:
        assert f"`{key}" in text, key
    for key in code["settings"]["server_require"]:
        assert f"| `{key}` |" in text, key
