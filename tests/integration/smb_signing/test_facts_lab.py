"""win_smb_signing_facts end to end: ansible-playbook over WinRM against every demo-fleet host.

The expected values come from the lab's own model (tests/lab, which shares no code with the
collection) and from the lab's Samba on the wire.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict

import pytest
from integration.playbook import Run, run_task, run_tasks

from ansible_collections.winhardening.smb.plugins.module_utils.catalog import SETTINGS
from ansible_collections.winhardening.smb.plugins.module_utils.smb_negotiate import probe_endpoint
from lab.model import HostModel, rsop_target

pytestmark = [pytest.mark.lab, pytest.mark.slow]

# The plugins read no host variable: the lab's SMB port is passed as the role passes it.
PROBE_PORT = {"probe_port": "{{ smb_signing_probe_port }}"}


def _facts(lab: Any, args: Dict[str, Any], limit: str, **kw: Any) -> Run:
    return run_task(
        lab.inventory, "win_smb_signing_facts", {**PROBE_PORT, **args}, limit=limit, **kw
    )


PROFILES = {
    0: "standalone_workstation",
    1: "member_workstation",
    2: "standalone_server",
    3: "member_server",
    4: "domain_controller",
    5: "domain_controller",
}


@pytest.fixture(scope="module")
def all_facts(lab: Any) -> Dict[str, Any]:
    before = {h: lab.records(h)["round_trips"] for h in lab.hosts()}
    # An absolute window start (the demo fleet's events are 3 to 5 days old).
    since = (datetime.now(timezone.utc) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = _facts(lab, {"audit_window": since}, "all")
    assert run.rc == 0, run.tail()
    after = {h: lab.records(h)["round_trips"] for h in lab.hosts()}
    return {"run": run, "before": before, "after": after}


def test_every_demo_host_is_read_in_one_round_trip(lab: Any, all_facts: Dict[str, Any]) -> None:
    assert set(all_facts["run"].results) == set(lab.hosts())
    for host in lab.hosts():
        assert all_facts["after"][host] - all_facts["before"][host] == 1, host


def test_facts_match_the_lab_model(lab: Any, all_facts: Dict[str, Any]) -> None:
    for host in lab.hosts():
        model = HostModel.from_json(lab.model(host))
        result = all_facts["run"].results[host]
        assert not result.get("failed"), result
        facts = result["ansible_facts"]["smb_signing"]
        os_info = model.os_info()
        assert facts["os"]["caption"] == os_info["caption"]
        assert facts["os"]["build"] == os_info["build"]
        assert facts["os"]["family"] == model.os, host
        assert facts["domain_role"] == model.domain_role
        assert facts["profile"] == PROFILES[model.domain_role]
        assert facts["smb1"]["server_enabled"] == model.smb1_enabled
        params = model.parameters()
        assert facts["audit"]["supported"] == {
            "server": bool(params["server"]),
            "client": bool(params["client"]),
        }
        assert facts["rsop"]["available"] == model.rsop_available
        # The lab's own reading of its RSoP entries: (registry area, value name) -> entry.
        owned = {rsop_target(entry): entry for entry in model.rsop}
        for s in SETTINGS:
            got = facts["settings"][s.name]
            config = model.config(s.side)
            if s.cmdlet_property in config:
                assert got["cmdlet_value"] == config[s.cmdlet_property], (host, s.name)
                assert got["value"] == config[s.cmdlet_property], (host, s.name)
            else:
                assert got["cmdlet_value"] is None, (host, s.name)
            stored = model.registry_value(s.side, s.registry_value)
            assert got["registry"]["present"] == (stored is not None), (host, s.name)
            area = s.side + "_policy" if s.kind == "audit" else s.side
            gpo = owned.get((area, s.registry_value))
            if gpo is None:
                assert got["owner"] != "gpo", (host, s.name)
            else:
                assert got["owner"] == "gpo", (host, s.name)
                assert got["gpo"] == {"name": gpo["gpo_name"], "id": gpo["gpo_id"]}
        assert sum(f["owner"] == "gpo" for f in facts["settings"].values()) == len(owned)


def test_profiles_gpo_and_smb1_of_the_demo_fleet(all_facts: Dict[str, Any]) -> None:
    facts = {h: r["ansible_facts"]["smb_signing"] for h, r in all_facts["run"].results.items()}
    assert facts["dc01"]["settings"]["server_require"]["gpo"]["name"] == (
        "Default Domain Controllers Policy"
    )
    assert facts["dc02"]["profile"] == "domain_controller"
    assert facts["ms2019"]["settings"]["client_require"]["gpo"]["name"] == "Tier1 SMB Hardening"
    assert facts["ms2016"]["smb1"]["server_enabled"] is True
    assert facts["ms2022"]["audit"]["supported"] == {"server": True, "client": False}
    assert facts["web01"]["profile"] == "standalone_server"
    # RSoP is readable on every host (a standalone server has its local GPO).
    assert facts["web01"]["rsop"] == {"available": True, "error": None}
    assert all(f["rsop"]["available"] for f in facts.values())
    events = facts["ms2025"]["audit"]["events"]["server"]
    assert events["count"] == 3
    assert {p["peer"] for p in events["peers"]} == {"10.20.0.15", "PRINTER-07"}


def test_observed_matches_the_wire(lab: Any, all_facts: Dict[str, Any]) -> None:
    for host in lab.hosts():
        facts = all_facts["run"].results[host]["ansible_facts"]["smb_signing"]
        observed = facts["observed"]
        assert observed["address"] == lab.address(host)
        assert observed["reachable"] is True, (host, observed)
        wire = probe_endpoint(lab.address(host), lab.fleet["smb_port"], 3.0)
        assert observed["signing_required"] == wire.signing_required, host
        model = HostModel.from_json(lab.model(host))
        assert observed["signing_required"] == model.server_requires_signing, host
        assert observed["agrees_with_config"] is True, (host, observed)


def test_samba_disagreeing_with_the_configuration_is_flagged(lab: Any) -> None:
    lab.set("ms2022", "wire_signing=true")
    try:
        run = _facts(lab, {}, "ms2022")
    finally:
        lab.set("ms2022", "wire_signing=model")
    facts = run.results["ms2022"]["ansible_facts"]["smb_signing"]
    assert facts["settings"]["server_require"]["value"] is False
    assert facts["observed"]["signing_required"] is True
    assert facts["observed"]["agrees_with_config"] is False
    assert "configured not to require SMB signing" in facts["observed"]["message"]
    # The wire is what a client meets: the host is not counted compliant.
    assert facts["status"] != "compliant"
    assert "[WARNING]" in run.stdout + run.stderr
    assert "answered the negotiate with signing required" in run.stdout + run.stderr


def test_wrong_credentials_make_the_host_unreachable(lab: Any) -> None:
    run = _facts(lab, {}, "web01", extra_vars={"ansible_password": "not-the-password"})
    # The runner keeps unreachable hosts' results (ignore_unreachable), so the recap counts
    # the host as ignored and the registered result says unreachable.
    assert run.recap_of("web01")["ignored"] == 1, run.tail()
    result = run.results["web01"]
    assert result["unreachable"] is True, result
    assert "credentials were rejected" in result["msg"]
    assert "ansible_facts" not in result


def test_unparsable_output_fails_with_host_and_excerpt(lab: Any) -> None:
    lab.fault("web01", "garbage_stdout", once=True)
    run = _facts(lab, {"probe": False}, "web01")
    result = run.results["web01"]
    assert result["failed"] is True
    assert result["msg"].startswith("web01: the read_state script failed: "), result["msg"]
    assert "expected one JSON object line" in result["msg"]
    assert "| output: " in result["msg"]  # an excerpt of what the host printed
    assert "Traceback" not in result["msg"]
    assert run.recap_of("web01")["unreachable"] == 0


def test_access_denied_fails_with_stderr_excerpt(lab: Any) -> None:
    lab.fault("web01", "access_denied", once=True)
    run = _facts(lab, {"probe": False}, "web01")
    result = run.results["web01"]
    assert result["failed"] is True
    assert "exit code 1" in result["msg"]
    assert "Access is denied." in result["msg"]


def test_probe_false_and_check_mode(lab: Any) -> None:
    before = lab.records("dc01")["round_trips"]
    run = _facts(lab, {"probe": False}, "dc01", check=True)
    facts = run.results["dc01"]["ansible_facts"]["smb_signing"]
    assert facts["observed"] is None
    assert lab.records("dc01")["round_trips"] - before == 1


def test_become_is_refused_through_ansible_playbook_and_nothing_runs(lab: Any) -> None:
    """Issue 18: a play with become_method runas used to run as the connection user without a
    word. Both WinRM actions now fail naming become, before any script reaches the host."""
    before = lab.records("ms2022")["round_trips"]
    run = run_tasks(
        [
            {
                "winhardening.smb.win_smb_signing_facts": dict(PROBE_PORT),
                "become": True,
                "become_method": "runas",
                "become_user": "SYSTEM",
            },
            {
                "winhardening.smb.win_smb_signing": {**PROBE_PORT, "mode": "audit"},
                "become": True,
                "become_method": "runas",
                "become_user": "SYSTEM",
            },
        ],
        lab.inventory,
        limit="ms2022",
    )
    results = run.results["ms2022"]
    for key in ("0", "1"):
        result = results[key]
        assert result.get("failed") is True, result
        assert "become" in result["msg"], result
        assert "runas" in result["msg"], result
    assert lab.records("ms2022")["round_trips"] == before
