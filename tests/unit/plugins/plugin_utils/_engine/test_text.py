"""Text from a target is safe for a terminal, JSON, CSV and HTML once read."""

from __future__ import annotations

import json

import pytest
from unit.plugins.plugin_utils._engine import answers

from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.read import (
    parse_read_state,
)
from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.text import safe_text


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("DC01", "DC01"),
        ("Сервер-01 東京", "Сервер-01 東京"),  # other scripts are text, not danger
        ("\ud800x", "\ufffdx"),  # a lone surrogate would break any UTF-8 write
        ("\x1b[2Jpwned", "\\x1b[2Jpwned"),  # a terminal escape
        ("a\r\nb", "a\\x0d\\x0ab"),  # a CSV or log line break
        ("\x9bc", "\\x9bc"),  # a C1 control
        ("evil\u202egnp.exe", "evil\\u202egnp.exe"),  # a right-to-left override
        ("a\u2028b\u2066c", "a\\u2028b\\u2066c"),
    ],
)
def test_safe_text(raw: str, safe: str) -> None:
    assert safe_text(raw) == safe
    safe.encode("utf-8")  # never raises


def test_every_string_of_an_answer_is_made_safe() -> None:
    data = answers.read_state()
    data["computer_name"] = "PWN\x1b]0;x\x07"
    data["os"]["caption"] = "Windows\ud800"
    data["rsop"] = {
        "available": True,
        "error": None,
        "entries": [
            {
                "class": "RSOP_RegistryValue",
                "path": "MACHINE\\System\\CurrentControlSet\\Services\\LanManServer\\Parameters"
                "\\RequireSecuritySignature",
                "data": "1",
                "gpo_id": "{1}",
                "gpo_name": "Domain\u202eycilop",
            }
        ],
    }
    state = parse_read_state(data)
    assert state.computer_name == "PWN\\x1b]0;x\\x07"
    assert state.os["caption"] == "Windows\ufffd"
    assert state.rsop.entries[0].gpo_name == "Domain\\u202eycilop"
    json.dumps(state.os).encode("utf-8")
