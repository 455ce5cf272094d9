"""The model, the OS table and the script reader on their own (no processes, no network)."""

from __future__ import annotations

import base64
import datetime
import json
import re
from typing import Any, Dict

import pytest

from lab import ops
from lab.fleet import FleetError, parse
from lab.model import HostModel, ModelError, parse_time
from lab.os_table import os_default, release
from lab.script_reader import (
    ModuleWrapper,
    ProtocolScript,
    RawCommand,
    Unknown,
    read_script,
    read_stdin,
)
from lab.state import apply_assignment
from lab.tests._helpers import PREFIX, encode, protocol_script


def host(os_name: str, role: int, **kw: object) -> HostModel:
    return HostModel(name="h1", os=os_name, domain_role=role, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("os_name", "role", "edition", "server_req", "client_req"),
    [
        ("windows_server_2016", 3, "", False, False),
        ("windows_server_2022", 3, "", False, False),
        # Server 2025 requires outbound (client) signing only (smb-signing.md).
        ("windows_server_2025", 3, "", False, True),
        ("windows_11_23h2", 1, "", False, False),
        # Windows 11 24H2 Enterprise requires both; Home neither.
        ("windows_11_24h2", 1, "Enterprise", True, True),
        ("windows_11_24h2", 0, "Core", False, False),
    ],
)
def test_os_defaults(
    os_name: str, role: int, edition: str, server_req: bool, client_req: bool
) -> None:
    m = host(os_name, role, edition=edition)
    assert m.config_value("server", "RequireSecuritySignature") is server_req
    assert m.config_value("client", "RequireSecuritySignature") is client_req
    assert m.config_value("client", "EnableSecuritySignature") is True


def test_smb1_default_only_on_2016() -> None:
    assert os_default(release("windows_server_2016"), "", "server", "EnableSMB1Protocol")
    assert not os_default(release("windows_server_2019"), "", "server", "EnableSMB1Protocol")


def test_audit_parameters_exist_only_where_windows_has_them() -> None:
    assert host("windows_server_2022", 3).parameters() == {"server": [], "client": []}
    assert host("windows_server_2022", 3, audit_backport=True).parameters() == {
        "server": ["AuditClientDoesNotSupportSigning"],
        "client": [],
    }
    assert host("windows_server_2025", 3).parameters() == {
        "server": ["AuditClientDoesNotSupportSigning"],
        "client": ["AuditServerDoesNotSupportSigning"],
    }
    assert "AuditClientDoesNotSupportSigning" not in host("windows_server_2019", 3).config("server")


def test_set_config_writes_the_parameters_value() -> None:
    m = host("windows_server_2019", 3)
    assert m.registry_value("server", "RequireSecuritySignature") is None
    m.set_config("server", "RequireSecuritySignature", True)
    assert m.registry_value("server", "RequireSecuritySignature") == {"type": "DWord", "data": 1}
    with pytest.raises(ModelError, match="parameter cannot be found"):
        m.set_config("server", "AuditClientDoesNotSupportSigning", True)


def test_policy_value_wins_for_audit() -> None:
    m = host("windows_server_2025", 3)
    m.set_registry("server", "AuditClientDoesNotSupportSigning", {"type": "DWord", "data": 0})
    m.set_registry(
        "server_policy", "AuditClientDoesNotSupportSigning", {"type": "DWord", "data": 1}
    )
    assert m.config_value("server", "AuditClientDoesNotSupportSigning") is True


def test_dc_gets_default_domain_controllers_policy_and_refresh_reverts() -> None:
    fleet = parse({"hosts": [{"name": "dc1", "os": "windows_server_2022", "domain_role": 5}]}, "t")
    dc = fleet.hosts[0]
    assert dc.rsop[0]["gpo_name"] == "Default Domain Controllers Policy"
    assert dc.server_requires_signing
    dc.set_config("server", "RequireSecuritySignature", False)
    assert not dc.server_requires_signing
    assert dc.policy_refresh() == ["server.RequireSecuritySignature"]
    assert dc.server_requires_signing


def test_standalone_has_rsop_without_domain_entries() -> None:
    view = host("windows_server_2019", 2).rsop_view()
    assert view == {"available": True, "error": None, "entries": []}


def test_a_missing_rsop_namespace_is_a_knob() -> None:
    m = host("windows_server_2019", 2)
    m.rsop_available = False
    view = m.rsop_view()
    assert view["available"] is False
    assert view["entries"] == []
    assert view["error"]


def test_events_are_filtered_to_the_window() -> None:
    m = host("windows_server_2025", 3)
    for day in (20, 21, 22):
        m.add_event("server", 3021, f"peer{day}", f"2026-11-{day}T00:00:00Z")
    view = m.events_view("2026-11-21T00:00:00Z", 50, 10000)
    assert view["server"] == {
        "available": True,
        "error": None,
        "count": 2,
        "peers_total": 2,
        "peers": [
            {
                "peer": "peer21",
                "count": 1,
                "peer_field": "ClientName",
                "last": "2026-11-21T00:00:00.0000000Z",
            },
            {
                "peer": "peer22",
                "count": 1,
                "peer_field": "ClientName",
                "last": "2026-11-22T00:00:00.0000000Z",
            },
        ],
        "truncated": False,
        "ids": {"3021": 2},
    }
    assert view["client"]["available"] is True
    # The server audit log exists from Server 2016 on; the client's only with its parameter.
    assert host("windows_server_2019", 3).events_view("2026-11-01T00:00:00Z", 5, 10000)["server"][
        "available"
    ]
    # No log, no query: available false and nothing else.
    assert host("windows_server_2019", 3).events_view("2026-11-01T00:00:00Z", 5, 10000)[
        "client"
    ] == {
        "available": False,
        "error": None,
        "count": 0,
        "peers_total": 0,
        "peers": [],
        "truncated": False,
        "ids": {},
    }
    with pytest.raises(ModelError, match="must be one of"):
        m.add_event("server", 31998, "x", "2026-11-22T00:00:00Z")


def _six_peers() -> HostModel:
    """56 server events from 6 peers (51 + 1 + 1 + 1 + 1 + 1), plus one before the window."""
    m = host("windows_server_2025", 3)
    for i in range(51):
        m.add_event("server", 3021, "10.0.0.5", f"2026-11-21T10:{i:02d}:00Z")
    for n, peer in enumerate(("10.0.0.9", "10.0.0.7", "pc-b", "PC-A", "10.0.0.6")):
        m.add_event("server", 3022, peer, f"2026-11-22T0{n}:00:00Z")
    m.add_event("server", 3021, "old-peer", "2026-11-01T00:00:00Z")
    return m


def test_events_are_grouped_per_peer_over_the_whole_window() -> None:
    view = _six_peers().events_view("2026-11-20T00:00:00Z", 50, 10000)["server"]
    assert view["count"] == 56
    assert view["peers_total"] == 6
    assert view["error"] is None
    # Count descending, then label ascending (case-insensitively, as Sort-Object does).
    assert [(p["peer"], p["count"]) for p in view["peers"]] == [
        ("10.0.0.5", 51),
        ("10.0.0.6", 1),
        ("10.0.0.7", 1),
        ("10.0.0.9", 1),
        ("PC-A", 1),
        ("pc-b", 1),
    ]
    assert view["peers"][0]["last"] == "2026-11-21T10:50:00.0000000Z"


def test_events_are_cut_to_max_peers_after_grouping() -> None:
    view = _six_peers().events_view("2026-11-20T00:00:00Z", 2, 10000)["server"]
    assert view["count"] == 56
    assert view["peers_total"] == 6
    assert [(p["peer"], p["count"]) for p in view["peers"]] == [("10.0.0.5", 51), ("10.0.0.6", 1)]


def test_peer_labels_group_case_insensitively_like_group_object() -> None:
    m = host("windows_server_2025", 3)
    m.add_event("server", 3021, "pc1", "2026-11-21T00:00:00Z")
    m.add_event("server", 3021, "PC1", "2026-11-22T00:00:00Z")
    view = m.events_view("2026-11-20T00:00:00Z", 50, 10000)["server"]
    assert view["peers"] == [
        {
            "peer": "PC1",
            "count": 2,
            "peer_field": "ClientName",
            "last": "2026-11-22T00:00:00.0000000Z",
        }
    ]


def _run(m: HostModel, op: str, request: Dict[str, Any]) -> Dict[str, Any]:
    outcome = ops.run(m, read_script("PowerShell", [*PREFIX, encode(protocol_script(op, request))]))
    assert outcome.rc == 0, outcome.stderr
    answer: Dict[str, Any] = json.loads(outcome.stdout)
    return answer


def test_read_state_v2_answer_through_the_reader() -> None:
    m = _six_peers()
    request = {"events_since": "2026-11-20T00:00:00Z", "max_peers": 2, "max_events": 10000}
    state = _run(m, "read_state", request)
    assert state["v"] == 2
    assert state["events"]["server"]["peers_total"] == 6
    assert len(state["events"]["server"]["peers"]) == 2
    assert state["markers"] == {"audit_unsigned_clients_since": None}
    assert _run(m, "read_state", {"events_since": None, "max_peers": 2})["events"] is None


def test_version_1_and_unknown_keys_are_refused() -> None:
    v1 = protocol_script("read_state", {"events_since": None, "max_events": 5}, version=1)
    assert isinstance(read_script("PowerShell", [*PREFIX, encode(v1)]), Unknown)
    old_key = protocol_script("read_state", {"events_since": None, "sample": 5})
    outcome = ops.run(
        host("windows_server_2025", 3), read_script("PowerShell", [*PREFIX, encode(old_key)])
    )
    assert outcome.rc == 1
    assert "unknown keys ['sample']" in outcome.stderr


def test_an_event_read_without_a_bound_is_refused() -> None:
    """-MaxEvents is what bounds the read on a real host (F-8): the lab refuses a request that
    asks for events without it, so the collection cannot lose the bound unnoticed."""
    unbounded = protocol_script("read_state", {"events_since": "2026-11-20T00:00:00Z"})
    outcome = ops.run(
        host("windows_server_2025", 3), read_script("PowerShell", [*PREFIX, encode(unbounded)])
    )
    assert outcome.rc == 1
    assert "max_events must be a positive integer" in outcome.stderr


def test_the_read_stops_at_max_events_newest_first_and_says_so() -> None:
    view = _six_peers().events_view("2026-11-20T00:00:00Z", 50, 5)["server"]
    # The five newest are the 3022 events of 2026-11-22 (one per peer); the 51 older are not read.
    assert (view["count"], view["truncated"], view["peers_total"]) == (5, True, 5)
    assert view["ids"] == {"3022": 5}
    assert "10.0.0.5" not in {p["peer"] for p in view["peers"]}
    assert _six_peers().events_view("2026-11-20T00:00:00Z", 50, 57)["server"]["truncated"] is False


def test_knob_event_list_error_is_an_error_not_a_missing_log() -> None:
    """F-7: access denied to the log (LogInfoNoAccess from -ListLog) is the log's error."""
    m = _six_peers()
    apply_assignment(m, "event_list_error=server:Attempted to perform an unauthorized operation.")
    view = m.events_view("2026-11-20T00:00:00Z", 50, 10000)["server"]
    assert (view["available"], view["count"]) == (True, 0)
    assert view["error"] == "Attempted to perform an unauthorized operation."
    apply_assignment(m, "event_list_error=server:")
    assert m.events_view("2026-11-20T00:00:00Z", 50, 10000)["server"]["error"] is None


def test_knob_a_read_that_stops_keeps_the_events_before_and_reports_an_error() -> None:
    """F-8: the first record the query cannot read ends it (Stop); the events written before
    are kept (-OutVariable) and counted, and the log's error says where the read stopped."""
    m = _six_peers()
    apply_assignment(m, "event_read_stops_after=server:3")
    view = m.events_view("2026-11-20T00:00:00Z", 50, 10000)["server"]
    assert (view["count"], view["ids"]) == (3, {"3022": 3})
    assert view["error"] == "the read stopped after 3 event(s): The RPC server is unavailable"
    apply_assignment(m, "event_read_stops_after=server:0")
    view = m.events_view("2026-11-20T00:00:00Z", 50, 10000)["server"]
    assert (view["count"], view["error"]) == (0, "The RPC server is unavailable")
    apply_assignment(m, "event_read_stops_after=server:")
    assert m.events_view("2026-11-20T00:00:00Z", 50, 10000)["server"]["error"] is None
    with pytest.raises(ModelError, match="whole number"):
        apply_assignment(m, "event_read_stops_after=server:two")


def test_knob_event_peer_field() -> None:
    m = _six_peers()
    view = m.events_view("2026-11-20T00:00:00Z", 50, 10000)
    assert {p["peer_field"] for p in view["server"]["peers"]} == {"ClientName"}
    apply_assignment(m, "event_peer_field=server:#0")
    view = m.events_view("2026-11-20T00:00:00Z", 50, 10000)
    assert {p["peer_field"] for p in view["server"]["peers"]} == {"#0"}
    with pytest.raises(ModelError, match="ClientName"):
        apply_assignment(m, "event_peer_field=server:UserName")


def test_knob_rsop_error() -> None:
    m = host("windows_server_2022", 3)
    assert m.rsop_view()["available"] is True
    apply_assignment(m, "rsop_error=Access denied")
    assert m.rsop_view() == {"available": False, "error": "Access denied", "entries": []}
    apply_assignment(m, "rsop_error=")
    assert m.rsop_view()["available"] is True


def test_knob_event_log_error_per_side() -> None:
    m = _six_peers()
    apply_assignment(m, "event_log_error=server:The parameter is incorrect")
    view = m.events_view("2026-11-20T00:00:00Z", 50, 10000)
    assert view["server"] == {
        "available": True,
        "error": "The parameter is incorrect",
        "count": 0,
        "peers_total": 0,
        "peers": [],
        "truncated": False,
        "ids": {},
    }
    assert view["client"]["error"] is None
    apply_assignment(m, "event_log_error=server:")
    assert m.events_view("2026-11-20T00:00:00Z", 50, 10000)["server"]["count"] == 56
    with pytest.raises(ModelError, match="SIDE:TEXT"):
        apply_assignment(m, "event_log_error=both:x")


def test_knob_audit_marker() -> None:
    m = host("windows_server_2025", 3)
    apply_assignment(m, "audit_marker=2026-11-20T08:00:00.0000000Z")
    assert m.markers_view() == {"audit_unsigned_clients_since": "2026-11-20T08:00:00.0000000Z"}
    apply_assignment(m, "audit_marker=absent")
    assert m.markers_view() == {"audit_unsigned_clients_since": None}
    with pytest.raises(ModelError, match="ISO 8601"):
        apply_assignment(m, "audit_marker=yesterday")


def test_apply_v2_reads_back_the_registry_and_syncs_the_marker() -> None:
    m = host("windows_server_2025", 3, deny_writes=["server.RequireSecuritySignature"])
    before = datetime.datetime.now(datetime.timezone.utc)
    answer = _run(
        m,
        "apply",
        {
            "server": {"RequireSecuritySignature": True, "AuditClientDoesNotSupportSigning": True},
            "client": {},
            "sync_marker": "set",
        },
    )
    assert answer["v"] == 2
    assert answer["marker_error"] is None
    # The refused write leaves the value absent; the audit write is there.
    assert answer["registry"]["server"]["RequireSecuritySignature"] is None
    assert answer["registry"]["server"]["AuditClientDoesNotSupportSigning"] == {
        "type": "DWord",
        "data": 1,
    }
    assert set(answer["registry"]) == {"server", "client", "server_policy", "client_policy"}
    since = answer["markers"]["audit_unsigned_clients_since"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", since)
    assert before - datetime.timedelta(seconds=1) <= parse_time(since)
    # A marker is left as it is (a test can age it).
    apply_assignment(m, "audit_marker=2026-01-01T00:00:00.0000000Z")
    kept = _run(m, "apply", {"sync_marker": "set"})
    assert kept["markers"]["audit_unsigned_clients_since"] == "2026-01-01T00:00:00.0000000Z"
    assert kept["results"] == []
    # Without sync_marker nothing changes; 'clear' removes it.
    off = {"server": {"AuditClientDoesNotSupportSigning": False}}
    assert _run(m, "apply", off)["markers"]["audit_unsigned_clients_since"] is not None
    assert _run(m, "apply", {**off, "sync_marker": "clear"})["markers"] == {
        "audit_unsigned_clients_since": None
    }
    # 'set' records nothing while the read-back shows auditing off (a write that did not take).
    assert _run(m, "apply", {"sync_marker": "set"})["markers"] == {
        "audit_unsigned_clients_since": None
    }


def test_set_marker_without_the_audit_property_trusts_the_caller() -> None:
    # A back-port host: auditing on through policy, no cmdlet property to contradict it.
    m = host("windows_server_2019", 3)
    answer = _run(m, "apply", {"sync_marker": "set"})
    assert answer["markers"]["audit_unsigned_clients_since"] is not None
    assert "AuditClientDoesNotSupportSigning" not in answer["server_config"]
    assert _run(m, "apply", {"sync_marker": "clear"})["markers"] == {
        "audit_unsigned_clients_since": None
    }


def test_sync_marker_must_be_set_clear_or_null() -> None:
    m = host("windows_server_2019", 3)
    script = ProtocolScript("apply", 2, {"sync_marker": True}, 1)
    outcome = ops.run(m, script)
    assert outcome.rc == 1
    assert "sync_marker must be null, 'set' or 'clear'" in outcome.stderr


def test_fleet_errors_name_host_and_key() -> None:
    with pytest.raises(FleetError, match=r"hosts\[0\]: name must be"):
        parse(
            {
                "hosts": [
                    {"name": "this-name-is-far-too-long", "os": "windows_10", "domain_role": 1}
                ]
            },
            "t",
        )
    with pytest.raises(FleetError, match="unknown keys"):
        parse({"hosts": [{"name": "a", "os": "windows_10", "domain_role": 1, "colour": 1}]}, "t")
    with pytest.raises(FleetError, match="appears twice"):
        parse({"hosts": [{"name": "a", "os": "windows_10", "domain_role": 1}] * 2}, "t")


def test_reader_classifies() -> None:
    script = protocol_script(
        "apply", {"server": {"RequireSecuritySignature": True}, "note": "it's"}
    )
    parsed = read_script("PowerShell", [*PREFIX, encode(script)])
    assert isinstance(parsed, ProtocolScript)
    assert parsed.request["note"] == "it's"  # the doubled quote is undone
    assert isinstance(
        read_script("powershell -encodedcommand " + encode("echo a; exit 2"), []), RawCommand
    )
    wrapper = "$exec_wrapper_str = $input | Out-String"
    assert isinstance(read_script("PowerShell", [*PREFIX, encode(wrapper)]), ModuleWrapper)
    assert isinstance(read_script("PowerShell", [*PREFIX, encode("Remove-Item C:\\")]), Unknown)
    bad = base64.b64encode(b"\xff\xfe\xfd").decode()
    assert isinstance(read_script("PowerShell", [*PREFIX, bad]), Unknown)


def test_apply_rejects_non_boolean_values() -> None:
    script = read_script(
        "PowerShell",
        [*PREFIX, encode(protocol_script("apply", {"server": {"RequireSecuritySignature": 1}}))],
    )
    outcome = ops.run(host("windows_server_2019", 3), script)
    assert outcome.rc == 1
    assert "must be true or false" in outcome.stderr


def test_fleet_event_time_counts_back_from_now() -> None:
    import datetime

    from lab.fleet import event_time

    assert event_time("2026-11-22T00:00:00Z") == "2026-11-22T00:00:00Z"
    moment = datetime.datetime.strptime(event_time("-2d"), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc
    )
    age = datetime.datetime.now(datetime.timezone.utc) - moment
    assert datetime.timedelta(days=2) - datetime.timedelta(minutes=1) < age
    assert age < datetime.timedelta(days=2, minutes=1)


def test_a_registry_pol_gpo_on_the_parameters_key_owns_a_signing_value() -> None:
    """Set-GPRegistryValue on Lanman*\\Parameters: an RSOP_RegistryPolicySetting whose key is
    the Parameters key, which gpupdate re-applies like a Security Option."""
    fleet = parse(
        {
            "hosts": [
                {
                    "name": "m1",
                    "os": "windows_server_2022",
                    "domain_role": 3,
                    "gpo": [
                        {
                            "side": "server",
                            "value": "RequireSecuritySignature",
                            "data": 1,
                            "gpo_name": "SMB signing (ADMX)",
                            "policy": "parameters",
                        }
                    ],
                }
            ]
        },
        "t",
    )
    m = fleet.hosts[0]
    assert m.rsop_view()["entries"] == [
        {
            "class": "RSOP_RegistryPolicySetting",
            "key": "System\\CurrentControlSet\\Services\\LanManServer\\Parameters",
            "value_name": "RequireSecuritySignature",
            "data": 1,
            "gpo_id": "{00000000-0000-0000-0000-000000000000}",
            "gpo_name": "SMB signing (ADMX)",
        }
    ]
    assert m.server_requires_signing
    m.set_config("server", "RequireSecuritySignature", False)
    assert m.policy_refresh() == ["server.RequireSecuritySignature"]
    assert m.server_requires_signing
    with pytest.raises(FleetError, match="gpo policy must be"):
        parse(
            {
                "hosts": [
                    {
                        "name": "m2",
                        "os": "windows_server_2022",
                        "domain_role": 3,
                        "gpo": [{"side": "server", "value": "x", "gpo_name": "g", "policy": "x"}],
                    }
                ]
            },
            "t",
        )


def test_knob_language_mode() -> None:
    """Under Constrained Language Mode the bootstrap refuses with its own message; a protocol
    script sent without it fails at its first method call, with PowerShell's generic error."""
    m = host("windows_server_2022", 3)
    apply_assignment(m, "language_mode=ConstrainedLanguage")
    request = {"events_since": None, "max_peers": 5}
    via_stdin = read_stdin((protocol_script("read_state", request) + "\n").encode())
    assert isinstance(via_stdin, ProtocolScript)
    assert via_stdin.via_bootstrap
    outcome = ops.run(m, via_stdin)
    assert outcome.rc == 1
    assert "needs FullLanguage mode" in outcome.stderr
    assert "ConstrainedLanguage" in outcome.stderr
    assert not outcome.wrote
    direct = read_script("PowerShell", [*PREFIX, encode(protocol_script("read_state", request))])
    assert "Method invocation is supported only on core types" in ops.run(m, direct).stderr
    with pytest.raises(ModelError, match="language_mode"):
        apply_assignment(m, "language_mode=Whatever")
    apply_assignment(m, "language_mode=FullLanguage")
    assert ops.run(m, via_stdin).rc == 0


def test_24h2_server_enable_defaults_as_before_24h2() -> None:
    """F-10: no source says 24H2 changes the server's EnableSecuritySignature default, so the lab
    keeps the pre-24H2 value, as the collection's defaults do (DEF-7); require does change."""
    rel = release("windows_11_24h2")
    assert os_default(rel, "Enterprise", "server", "EnableSecuritySignature") is False
    assert os_default(rel, "Enterprise", "server", "RequireSecuritySignature") is True
    assert os_default(rel, "Core", "server", "RequireSecuritySignature") is False


def test_knob_event_log_missing() -> None:
    m = _six_peers()
    apply_assignment(m, "event_log_missing=server")
    view = m.events_view("2026-11-20T00:00:00Z", 50, 10000)
    assert (view["server"]["available"], view["server"]["count"]) == (False, 0)
    assert view["client"]["available"] is True
    apply_assignment(m, "event_log_missing=")
    assert m.events_view("2026-11-20T00:00:00Z", 50, 10000)["server"]["count"] == 56
    with pytest.raises(ModelError, match="comma list"):
        apply_assignment(m, "event_log_missing=both")
