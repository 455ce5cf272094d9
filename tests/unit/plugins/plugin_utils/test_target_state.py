"""Parsing the scripts' JSON: every captured lab answer, and malformed ones field by field."""

from __future__ import annotations

import copy
import json
from typing import Any, Callable, Dict

import pytest
from unit.plugins.plugin_utils.fake_windows import CAPTURED, captured_json

from ansible_collections.winhardening.smb.plugins.plugin_utils import _pwsh
from ansible_collections.winhardening.smb.plugins.plugin_utils._target_state import (
    ProtocolError,
    RegistryValue,
    parse_apply,
    parse_read_state,
)

READ_STATES = sorted(p.name for p in CAPTURED.glob("read_state_*.txt"))


@pytest.mark.parametrize("name", READ_STATES)
def test_every_captured_read_state_parses(name: str) -> None:
    data = _pwsh.parse_json_line((CAPTURED / name).read_text())
    state = parse_read_state(data)
    assert state.computer_name == data["computer_name"]
    assert set(state.registry) == {"server", "client", "server_policy", "client_policy"}
    assert state.server_config["RequireSecuritySignature"] in (True, False)
    assert "EnableSMB1Protocol" in state.server_config


def test_dc_answer_keeps_gpo_and_registry_type() -> None:
    state = parse_read_state(captured_json("read_state_dc01.txt"))
    assert state.domain_role == 5
    assert state.registry["server"]["RequireSecuritySignature"] == RegistryValue("DWord", 1)
    assert state.registry["client"]["RequireSecuritySignature"] is None
    (entry,) = state.rsop.entries
    assert entry.cls == "RSOP_RegistryValue"
    assert entry.gpo_name == "Default Domain Controllers Policy"
    assert entry.path is not None
    assert entry.path.endswith("\\RequireSecuritySignature")


def test_events_and_parameters() -> None:
    state = parse_read_state(captured_json("read_state_ms2025.txt"))
    assert state.parameters["server"] == frozenset({"AuditClientDoesNotSupportSigning"})
    assert state.events is not None
    server = state.events["server"]
    assert server.available is True
    assert server.count == 3
    assert len(server.sample) == 2  # max_events was 2 when this was captured
    assert server.sample[0].time >= server.sample[1].time  # newest first


def test_standalone_host_has_no_rsop() -> None:
    state = parse_read_state(captured_json("read_state_web01.txt"))
    assert state.rsop.available is False
    assert state.rsop.error
    assert state.rsop.entries == ()


def _mutate(fn: Callable[[Dict[str, Any]], None]) -> Dict[str, Any]:
    data = copy.deepcopy(captured_json("read_state_dc01.txt"))
    fn(data)
    return data


@pytest.mark.parametrize(
    ("mutation", "message"),
    [
        (lambda d: d.pop("os"), "read_state: missing key 'os'"),
        (lambda d: d["os"].pop("product_type"), "os: missing key 'product_type'"),
        (lambda d: d.update(domain_role="5"), "domain_role: expected an integer"),
        (lambda d: d.update(domain_role=True), "domain_role: expected an integer"),
        (lambda d: d["registry"].pop("client_policy"), "registry: missing key 'client_policy'"),
        (
            lambda d: d["registry"]["server"].update(RequireSecuritySignature={"data": 1}),
            "registry.server.RequireSecuritySignature: missing key 'type'",
        ),
        (
            lambda d: d["server_config"].update(RequireSecuritySignature=1),
            "server_config.RequireSecuritySignature: expected true or false",
        ),
        (lambda d: d["parameters"].update(server="x"), "parameters.server: expected a list"),
        (lambda d: d["rsop"].update(entries={}), "rsop.entries: expected a list"),
        (
            lambda d: d["rsop"]["entries"][0].update({"class": "RSOP_Other"}),
            "rsop.entries[0].class: unknown class",
        ),
        (lambda d: d.update(computer_name=""), "computer_name: expected a name"),
        (
            lambda d: d.update(events={"server": {"available": True, "count": 1, "sample": []}}),
            "events: missing key 'client'",
        ),
    ],
)
def test_malformed_read_state_names_the_field(
    mutation: Callable[[Dict[str, Any]], None], message: str
) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_read_state(_mutate(mutation))
    assert message in str(info.value)


def test_captured_apply_answers_parse() -> None:
    outcome = parse_apply(captured_json("apply_dc02.txt"))
    assert [r.ok for r in outcome.results] == [True, True, True]
    assert outcome.config("server")["AuditClientDoesNotSupportSigning"] is True
    refused = parse_apply(captured_json("apply_ms2016_unsupported.txt"))
    (result,) = refused.results
    assert result.ok is False
    assert result.error is not None
    assert "AuditClientDoesNotSupportSigning" in result.error
    assert "AuditClientDoesNotSupportSigning" not in refused.server_config


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"results": [], "server_config": {}}, "apply: missing key 'client_config'"),
        ({"results": {}, "server_config": {}, "client_config": {}}, "results: expected a list"),
        (
            {"results": [{"side": "both"}], "server_config": {}, "client_config": {}},
            "results[0].side: expected server or client",
        ),
        (
            {
                "results": [{"side": "server", "property": "X", "value": "yes", "ok": True}],
                "server_config": {},
                "client_config": {},
            },
            "results[0].value: expected true or false",
        ),
    ],
)
def test_malformed_apply_names_the_field(answer: Dict[str, Any], message: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_apply(json.loads(json.dumps(answer)))
    assert message in str(info.value)
