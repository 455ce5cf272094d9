"""read.py: the read_state and apply answers (protocol v2) as typed objects, refused with the
path of the first bad field."""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict

import pytest
from unit.plugins.plugin_utils._engine import answers

from ansible_collections.winhardening.smb.plugins.plugin_utils._engine.read import (
    AuditLog,
    PeerCount,
    ProtocolError,
    RegistryValue,
    parse_apply,
    parse_read_state,
)

Mutation = Callable[[Dict[str, Any]], None]


def full_read_state() -> Dict[str, Any]:
    """An answer that reaches every branch of the parser: stored values, RSoP entries of both
    classes, both audit logs with peers, and a marker."""
    return answers.read_state(
        settings={"server_require": True},
        registry_values={"server_policy": {answers.SERVER_AUDIT: 1}},
        rsop_entries=[
            answers.rsop_value("server_require"),
            answers.rsop_policy("audit_unsigned_clients"),
        ],
        events=answers.events(
            server=answers.log(peers=[("10.0.0.5", 51), ("10.0.0.6", 5)]),
            client=answers.log(peers=[("fs01", 2)]),
        ),
        marker="2026-11-20T08:00:00.0000000Z",
    )


def full_apply() -> Dict[str, Any]:
    return answers.apply(
        results=[answers.write_result("server", "RequireSecuritySignature", True)],
        settings={"server_require": True},
        marker="2026-11-20T08:00:00.0000000Z",
    )


def _set(path: str, value: Any) -> Mutation:
    """A mutation that sets data[a][b]... (dotted; [n] indexes a list) to value."""

    def mutate(data: Dict[str, Any]) -> None:
        *parents, last = _steps(path)
        target: Any = data
        for step in parents:
            target = target[step]
        target[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(data: Dict[str, Any]) -> None:
        *parents, last = _steps(path)
        target: Any = data
        for step in parents:
            target = target[step]
        del target[last]

    return mutate


def _steps(path: str) -> list:
    steps: list = []
    for part in path.split("."):
        name, _, index = part.partition("[")
        steps.append(name)
        if index:
            steps.append(int(index.rstrip("]")))
    return steps


# (mutation, text the error must contain: the field's path)
READ_STATE_ERRORS = {
    "os missing": (_delete("os"), "'os'"),
    "os not an object": (_set("os", "Windows"), "os: expected an object"),
    "os.caption missing": (_delete("os.caption"), "os: missing key 'caption'"),
    "os.version missing": (_delete("os.version"), "os: missing key 'version'"),
    "os.build missing": (_delete("os.build"), "os: missing key 'build'"),
    "os.product_type missing": (_delete("os.product_type"), "os: missing key 'product_type'"),
    "parameters missing": (_delete("parameters"), "'parameters'"),
    "parameters not an object": (_set("parameters", []), "parameters: expected an object"),
    "parameters.client missing": (_delete("parameters.client"), "parameters: missing key 'client'"),
    "parameters.server not a list": (_set("parameters.server", "x"), "parameters.server"),
    "computer_name missing": (_delete("computer_name"), "'computer_name'"),
    "computer_name empty": (_set("computer_name", ""), "computer_name"),
    "computer_name not text": (_set("computer_name", 7), "computer_name"),
    "domain_role missing": (_delete("domain_role"), "'domain_role'"),
    "domain_role a bool": (_set("domain_role", True), "domain_role: expected an integer"),
    "domain_role text": (_set("domain_role", "3"), "domain_role: expected an integer"),
    "registry missing": (_delete("registry"), "'registry'"),
    "registry not an object": (_set("registry", []), "registry: expected an object"),
    "registry group missing": (
        _delete("registry.client_policy"),
        "registry: missing key 'client_policy'",
    ),
    "registry group not an object": (_set("registry.server", None), "registry.server"),
    "registry value not an object": (
        _set("registry.client.EnableSecuritySignature", 1),
        "registry.client.EnableSecuritySignature",
    ),
    "registry value without type": (
        _delete("registry.server.RequireSecuritySignature.type"),
        "registry.server.RequireSecuritySignature: missing key 'type'",
    ),
    "registry value with empty type": (
        _set("registry.server.RequireSecuritySignature.type", ""),
        "registry.server.RequireSecuritySignature.type",
    ),
    "registry value with a numeric type": (
        _set("registry.server_policy.AuditClientDoesNotSupportSigning.type", 4),
        "registry.server_policy.AuditClientDoesNotSupportSigning.type",
    ),
    "server_config missing": (_delete("server_config"), "'server_config'"),
    "server_config value not a bool": (
        _set("server_config.RequireSecuritySignature", 1),
        "server_config.RequireSecuritySignature",
    ),
    "client_config not an object": (_set("client_config", [True]), "client_config"),
    "client_config value text": (
        _set("client_config.EnableSecuritySignature", "True"),
        "client_config.EnableSecuritySignature",
    ),
    "rsop missing": (_delete("rsop"), "'rsop'"),
    "rsop not an object": (_set("rsop", None), "rsop: expected an object"),
    "rsop.entries missing": (_delete("rsop.entries"), "rsop: missing key 'entries'"),
    "rsop.entries not a list": (_set("rsop.entries", {}), "rsop.entries"),
    "rsop entry not an object": (_set("rsop.entries[1]", "x"), "rsop.entries[1]"),
    "rsop entry without class": (
        _delete("rsop.entries[0].class"),
        "rsop.entries[0]: missing key 'class'",
    ),
    "rsop entry of unknown class": (
        _set("rsop.entries[1].class", "RSOP_SecuritySettings"),
        "rsop.entries[1].class",
    ),
    "rsop gpo_id not text": (_set("rsop.entries[0].gpo_id", 5), "rsop.entries[0].gpo_id"),
    "rsop gpo_name not text": (_set("rsop.entries[1].gpo_name", ["a"]), "rsop.entries[1].gpo_name"),
    "rsop path not text": (_set("rsop.entries[0].path", 1), "rsop.entries[0].path"),
    "rsop key not text": (_set("rsop.entries[1].key", 1), "rsop.entries[1].key"),
    "rsop value_name not text": (
        _set("rsop.entries[1].value_name", 1),
        "rsop.entries[1].value_name",
    ),
    "rsop.available missing": (_delete("rsop.available"), "rsop: missing key 'available'"),
    "rsop.available text": (_set("rsop.available", "true"), "rsop.available"),
    "rsop.error not text": (_set("rsop.error", 5), "rsop.error"),
    "rsop entries although unavailable": (_set("rsop.available", False), "rsop: entries"),
    "events not an object": (_set("events", []), "events: expected an object"),
    "events.client missing": (_delete("events.client"), "events: missing key 'client'"),
    "events.server not an object": (_set("events.server", "none"), "events.server"),
    "events.server.peers missing": (
        _delete("events.server.peers"),
        "events.server: missing key 'peers'",
    ),
    "events.server.peers not a list": (_set("events.server.peers", {}), "events.server.peers"),
    "peer not an object": (_set("events.server.peers[0]", "10.0.0.5"), "events.server.peers[0]"),
    "peer without count": (
        _delete("events.server.peers[1].count"),
        "events.server.peers[1]: missing key 'count'",
    ),
    "peer count text": (_set("events.client.peers[0].count", "2"), "events.client.peers[0].count"),
    "peer count a bool": (
        _set("events.client.peers[0].count", True),
        "events.client.peers[0].count",
    ),
    "peer count zero": (_set("events.server.peers[1].count", 0), "events.server.peers[1].count"),
    "peer without a name": (
        _delete("events.client.peers[0].peer"),
        "events.client.peers[0]: missing key 'peer'",
    ),
    "events count missing": (_delete("events.server.count"), "events.server: missing key 'count'"),
    "events count text": (_set("events.client.count", "2"), "events.client.count"),
    "events peers_total missing": (
        _delete("events.client.peers_total"),
        "events.client: missing key 'peers_total'",
    ),
    "events peers_total null": (
        _set("events.server.peers_total", None),
        "events.server.peers_total",
    ),
    "events available missing": (
        _delete("events.server.available"),
        "events.server: missing key 'available'",
    ),
    "events available text": (_set("events.client.available", "yes"), "events.client.available"),
    "events error not text": (_set("events.server.error", 5), "events.server.error"),
    "markers missing": (_delete("markers"), "read_state: missing key 'markers'"),
    "markers not an object": (_set("markers", "2026-11-20"), "markers: expected an object"),
    "marker not text": (
        _set("markers.audit_unsigned_clients_since", 20261120),
        "markers.audit_unsigned_clients_since",
    ),
}


@pytest.mark.parametrize(
    ("mutate", "field"), list(READ_STATE_ERRORS.values()), ids=list(READ_STATE_ERRORS)
)
def test_read_state_protocol_error_names_the_field(mutate: Mutation, field: str) -> None:
    data = full_read_state()
    parse_read_state(copy.deepcopy(data))  # the unmutated answer is fine
    mutate(data)
    with pytest.raises(ProtocolError) as exc:
        parse_read_state(data)
    assert field in str(exc.value)


APPLY_ERRORS = {
    "results missing": (_delete("results"), "apply: missing key 'results'"),
    "results not a list": (_set("results", {}), "results: expected a list"),
    "result not an object": (_set("results[0]", "ok"), "results[0]"),
    "result without side": (_delete("results[0].side"), "results[0]: missing key 'side'"),
    "result with unknown side": (_set("results[0].side", "both"), "results[0].side"),
    "result without property": (
        _delete("results[0].property"),
        "results[0]: missing key 'property'",
    ),
    "result property not text": (_set("results[0].property", 3), "results[0].property"),
    "result without value": (_delete("results[0].value"), "results[0]: missing key 'value'"),
    "result value an int": (_set("results[0].value", 1), "results[0].value"),
    "result without ok": (_delete("results[0].ok"), "results[0]: missing key 'ok'"),
    "result ok text": (_set("results[0].ok", "True"), "results[0].ok"),
    "result error not text": (_set("results[0].error", {"msg": "x"}), "results[0].error"),
    "server_config missing": (_delete("server_config"), "apply: missing key 'server_config'"),
    "client_config value not a bool": (
        _set("client_config.RequireSecuritySignature", None),
        "client_config.RequireSecuritySignature",
    ),
    "registry missing": (_delete("registry"), "apply: missing key 'registry'"),
    "registry group missing": (
        _delete("registry.server_policy"),
        "registry: missing key 'server_policy'",
    ),
    "markers missing": (_delete("markers"), "apply: missing key 'markers'"),
    "marker not text": (_set("markers.audit_unsigned_clients_since", 1), "markers.audit_unsigned"),
    "marker_error not text": (_set("marker_error", 1), "marker_error"),
}


@pytest.mark.parametrize(("mutate", "field"), list(APPLY_ERRORS.values()), ids=list(APPLY_ERRORS))
def test_apply_protocol_error_names_the_field(mutate: Mutation, field: str) -> None:
    data = full_apply()
    parse_apply(copy.deepcopy(data))
    mutate(data)
    with pytest.raises(ProtocolError) as exc:
        parse_apply(data)
    assert field in str(exc.value)


def test_protocol_error_is_a_value_error() -> None:
    # Callers that catch ValueError for a bad answer keep working.
    assert issubclass(ProtocolError, ValueError)


# --- counts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "log",
    [
        pytest.param(
            answers.log(peers=[("a", 3), ("b", 2)], count=4), id="peers-add-to-more-than-count"
        ),
        pytest.param(
            answers.log(peers=[("a", 3), ("b", 2)], peers_total=1), id="fewer-total-than-listed"
        ),
        pytest.param(answers.log(count=-1), id="negative-count"),
        pytest.param(answers.log(peers_total=-1), id="negative-peers-total"),
    ],
)
def test_counts_that_do_not_add_up_are_refused(log: Dict[str, Any]) -> None:
    data = answers.read_state(events=answers.events(server=log))
    with pytest.raises(ProtocolError, match=r"events\.server: counts do not add up"):
        parse_read_state(data)


def test_more_peers_than_events_is_refused() -> None:
    # Each peer has at least one event. Accepted, count 0 with peers [] would read as an empty
    # log, and the gate would open on a log that names six peers.
    data = answers.read_state(
        events=answers.events(server=answers.log(peers=[], count=0, peers_total=6))
    )
    with pytest.raises(ProtocolError, match="counts do not add up"):
        parse_read_state(data)


def test_listed_peers_short_of_count_is_refused() -> None:
    # Peers are grouped over every event: with none left out, their counts are the count.
    data = answers.read_state(
        events=answers.events(
            server=answers.log(peers=[("a", 1), ("b", 1)], count=56, peers_total=2)
        )
    )
    with pytest.raises(ProtocolError, match="counts do not add up"):
        parse_read_state(data)


def test_counts_that_add_up_with_peers_left_out() -> None:
    # 56 events from 6 peers, 2 listed (51 + 1); the 4 left out have one event each.
    data = answers.read_state(
        events=answers.events(
            server=answers.log(peers=[("10.0.0.5", 51), ("10.0.0.6", 1)], count=56, peers_total=6)
        )
    )
    log = parse_read_state(data).events["server"]
    assert (log.count, log.peers_total, len(log.peers)) == (56, 6, 2)
    assert log.peers_left_out == 4


# --- the typed state ---------------------------------------------------------------------------


def test_parse_read_state_types_every_part() -> None:
    st = parse_read_state(full_read_state())
    assert st.computer_name == "HOST01"
    assert st.domain_role == 3
    assert st.os["build"] == 20348
    assert st.registry["server"]["RequireSecuritySignature"] == RegistryValue("DWord", 1)
    assert st.registry["server"]["EnableSecuritySignature"] is None
    assert st.registry["server_policy"][answers.SERVER_AUDIT] == RegistryValue("DWord", 1)
    assert st.server_config["RequireSecuritySignature"] is True
    assert st.config("client") is st.client_config
    assert st.config("server") is st.server_config
    assert st.parameters == {
        "server": frozenset({answers.SERVER_AUDIT}),
        "client": frozenset({answers.CLIENT_AUDIT}),
    }
    assert st.rsop.available is True
    assert [e.cls for e in st.rsop.entries] == ["RSOP_RegistryValue", "RSOP_RegistryPolicySetting"]
    assert st.rsop.entries[0].gpo_name == "SMB hardening"
    assert st.rsop.entries[1].value_name == answers.SERVER_AUDIT
    assert st.events is not None
    server = st.events["server"]
    assert server == AuditLog(
        available=True,
        error=None,
        count=56,
        peers=(
            PeerCount("10.0.0.5", 51, "2026-11-24T10:00:00.0000000Z", "ClientName"),
            PeerCount("10.0.0.6", 5, "2026-11-24T10:00:00.0000000Z", "ClientName"),
        ),
        peers_total=2,
        truncated=False,
        ids={"3021": 56},
    )
    assert server.readable
    assert server.peers_left_out == 0
    assert st.audit_on_since == "2026-11-20T08:00:00.0000000Z"


def test_events_null_when_not_asked() -> None:
    assert parse_read_state(answers.read_state(events=None)).events is None


def test_marker_null_is_no_record() -> None:
    assert parse_read_state(answers.read_state(marker=None)).audit_on_since is None


def test_rsop_unavailable_keeps_its_error() -> None:
    st = parse_read_state(answers.read_state(rsop_available=False, rsop_error="Access denied"))
    assert (st.rsop.available, st.rsop.error, st.rsop.entries) == (False, "Access denied", ())


@pytest.mark.parametrize(
    ("log", "readable"),
    [
        (answers.log(), True),
        (answers.log(available=False), False),
        (answers.log(error="Access is denied"), False),
    ],
)
def test_audit_log_readable(log: Dict[str, Any], readable: bool) -> None:
    st = parse_read_state(answers.read_state(events=answers.events(client=log)))
    assert st.events["client"].readable is readable


def test_a_property_the_os_lacks_is_left_out_not_null() -> None:
    st = parse_read_state(
        answers.read_state(
            audit_parameters=False, server_config={"EnableSMB1Protocol": answers.ABSENT}
        )
    )
    assert answers.SERVER_AUDIT not in st.server_config
    assert "EnableSMB1Protocol" not in st.server_config
    assert st.parameters["server"] == frozenset()


def test_parse_apply() -> None:
    data = answers.apply(
        results=[
            answers.write_result("server", "RequireSecuritySignature", True),
            answers.write_result(
                "client", "RequireSecuritySignature", True, False, "Access is denied."
            ),
        ],
        settings={"server_require": True},
        marker="2026-11-24T11:59:00.0000000Z",
        marker_error="registry key is read-only",
    )
    out = parse_apply(data)
    assert [(r.side, r.property, r.value, r.ok, r.error) for r in out.results] == [
        ("server", "RequireSecuritySignature", True, True, None),
        ("client", "RequireSecuritySignature", True, False, "Access is denied."),
    ]
    assert out.config("server")["RequireSecuritySignature"] is True
    assert out.config("client")["RequireSecuritySignature"] is False
    assert out.registry["server"]["RequireSecuritySignature"] == RegistryValue("DWord", 1)
    assert out.registry["client"]["RequireSecuritySignature"] is None
    assert out.audit_on_since == "2026-11-24T11:59:00.0000000Z"
    assert out.marker_error == "registry key is read-only"


def test_registry_value_to_dict() -> None:
    assert RegistryValue("String", "1").to_dict() == {
        "present": True,
        "type": "String",
        "data": "1",
    }


# --- after_write and planned -------------------------------------------------------------------


def test_after_write_takes_the_read_back_and_keeps_what_a_write_cannot_change() -> None:
    before = answers.state(
        settings={"server_require": False},
        rsop_available=False,
        rsop_error="Access denied",
        events=answers.events(server=answers.log(peers=[("a", 1)])),
        marker=None,
    )
    out = answers.outcome(
        settings={"server_require": True, "audit_unsigned_clients": True},
        marker="2026-11-24T12:00:00.0000000Z",
    )
    after = before.after_write(out)
    assert after.server_config["RequireSecuritySignature"] is True
    assert after.server_config[answers.SERVER_AUDIT] is True
    assert after.registry["server"]["RequireSecuritySignature"] == RegistryValue("DWord", 1)
    assert after.audit_on_since == "2026-11-24T12:00:00.0000000Z"
    # RSoP, the OS and the logs are the read's.
    assert after.rsop == before.rsop
    assert after.events == before.events
    assert after.os == before.os
    assert after.computer_name == before.computer_name
    # The state read is not touched.
    assert before.server_config["RequireSecuritySignature"] is False
    assert before.audit_on_since is None


def test_after_write_of_a_refused_write_shows_nothing_stored() -> None:
    before = answers.state()
    out = answers.outcome(
        results=[answers.write_result("server", "RequireSecuritySignature", True, False, "denied")]
    )
    after = before.after_write(out)
    assert after.registry["server"]["RequireSecuritySignature"] is None
    assert after.server_config["RequireSecuritySignature"] is False


def test_planned_shows_each_change_in_the_cmdlet_view_and_under_parameters() -> None:
    before = answers.state(store=False)
    planned = before.planned(
        [("server", "RequireSecuritySignature", True), ("client", "EnableSecuritySignature", False)]
    )
    assert planned.server_config["RequireSecuritySignature"] is True
    assert planned.client_config["EnableSecuritySignature"] is False
    assert planned.registry["server"]["RequireSecuritySignature"] == RegistryValue("DWord", 1)
    assert planned.registry["client"]["EnableSecuritySignature"] == RegistryValue("DWord", 0)
    # Untouched values and groups stay as read; the read state is unchanged.
    assert planned.registry["client"]["RequireSecuritySignature"] is None
    assert planned.registry["server_policy"] == before.registry["server_policy"]
    assert before.server_config["RequireSecuritySignature"] is False
    assert before.registry["server"]["RequireSecuritySignature"] is None
    assert planned.audit_on_since == before.audit_on_since


def test_planned_without_changes_is_the_same_state() -> None:
    before = answers.state(settings={"client_require": True})
    planned = before.planned([])
    assert planned.server_config == before.server_config
    assert planned.client_config == before.client_config
    assert planned.registry == before.registry


@pytest.mark.parametrize(
    "ids",
    [
        pytest.param({"3021": 3}, id="short-of-the-count"),
        pytest.param({"3021": 4, "3022": 1}, id="past-the-count"),
        pytest.param({"3021": 4, "3022": 0}, id="an-id-with-no-event"),
    ],
)
def test_event_ids_must_add_up_to_the_count(ids: Dict[str, int]) -> None:
    """The events per id (EVT-3) are the same events as the count: a mismatch is a script or
    reader fault, and a log whose numbers disagree cannot be trusted to be empty."""
    data = answers.read_state(events=answers.events(server=answers.log(peers=[("a", 4)], ids=ids)))
    with pytest.raises(ProtocolError, match=r"events\.server\.ids: .* add up to 4"):
        parse_read_state(data)


def test_truncated_and_the_peer_field_are_typed() -> None:
    log = answers.log(
        peers=[answers.peer("a", 3, peer_field="#0")],
        truncated=True,
        ids={"3021": 1, "3022": 2},
    )
    parsed = parse_read_state(answers.read_state(events=answers.events(server=log)))
    server = parsed.events["server"]
    assert (server.truncated, dict(server.ids)) == (True, {"3021": 1, "3022": 2})
    assert server.peers[0].peer_field == "#0"
    bad = answers.log(truncated=True)
    bad["truncated"] = "yes"
    with pytest.raises(ProtocolError, match=r"events\.server\.truncated"):
        parse_read_state(answers.read_state(events=answers.events(server=bad)))
