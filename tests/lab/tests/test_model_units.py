"""The model, the OS table and the script reader on their own (no processes, no network)."""

from __future__ import annotations

import base64

import pytest

from lab import ops
from lab.fleet import FleetError, parse
from lab.model import HostModel, ModelError
from lab.os_table import os_default, release
from lab.script_reader import ModuleWrapper, ProtocolScript, RawCommand, Unknown, read_script
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


def test_standalone_has_no_rsop_namespace() -> None:
    view = host("windows_server_2019", 2).rsop_view()
    assert view["available"] is False
    assert view["entries"] == []
    assert view["error"]


def test_events_are_filtered_newest_first_and_capped() -> None:
    m = host("windows_server_2025", 3)
    for day in (20, 21, 22):
        m.add_event("server", 3021, f"peer{day}", f"2026-11-{day}T00:00:00Z")
    view = m.events_view("2026-11-21T00:00:00Z", 1)
    assert view["server"]["count"] == 2
    assert view["server"]["sample"] == [
        {"id": 3021, "time": "2026-11-22T00:00:00Z", "peer": "peer22"}
    ]
    assert view["client"]["available"] is True
    assert host("windows_server_2019", 3).events_view("2026", 5)["server"]["available"] is False
    with pytest.raises(ModelError, match="must be one of"):
        m.add_event("server", 31998, "x", "2026-11-22T00:00:00Z")


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
