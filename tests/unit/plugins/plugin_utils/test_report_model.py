"""The report's numbers: host status, flags, the seed table per posture, and host-pair counts."""

from __future__ import annotations

import random
import time

import pytest
from unit.plugins.plugin_utils.report_samples import ALL_ON, make_facts

from ansible_collections.winhardening.smb.plugins.plugin_utils import _report_model as model


def _cell(report: dict, client: str, server: str) -> dict:
    for cell in report["effective"]["groups"]["cells"]:
        if (cell["client_group"], cell["server_group"]) == (client, server):
            return cell
    raise AssertionError(f"no cell {client} x {server}")


# Three hosts whose SMB2/3 pairs were worked out by hand from the seed table (signed when either
# side requires): a -> c, b -> a and b -> c are unsigned; a -> b, c -> a, c -> b are signed.
THREE = [
    ("a", make_facts("a", values={"client_require": False, "server_require": False}), None),
    ("b", make_facts("b", values={"client_require": False, "server_require": True}), None),
    (
        "c",
        make_facts(
            "c", "domain_controller", values={"client_require": True, "server_require": False}
        ),
        None,
    ),
]


def test_group_matrix_counts_unsigned_pairs_per_group() -> None:
    report = model.build_report(THREE, "2026-11-25T00:00:00Z")
    ms_ms = _cell(report, "member_server", "member_server")
    assert (ms_ms["pairs"], ms_ms["unsigned_pairs"], ms_ms["examples"]) == (2, 1, [["b", "a"]])
    ms_dc = _cell(report, "member_server", "domain_controller")
    assert (ms_dc["pairs"], ms_dc["unsigned_pairs"]) == (2, 2)
    assert sorted(ms_dc["examples"]) == [["a", "c"], ["b", "c"]]
    dc_ms = _cell(report, "domain_controller", "member_server")
    assert (dc_ms["pairs"], dc_ms["unsigned_pairs"]) == (2, 0)
    dc_dc = _cell(report, "domain_controller", "domain_controller")
    assert dc_dc["pairs"] == 0  # a host is never paired with itself
    assert report["summary"]["unsigned_pairs"] == 3
    assert report["summary"]["host_pairs"] == 6


def test_seed_table_places_each_host_by_its_posture() -> None:
    report = model.build_report(THREE, "t")
    cells = {
        (c["client_require"], c["server_require"]): c for c in report["effective"]["seed_table"]
    }
    assert cells[(True, True)]["clients"] == ["c"]
    assert sorted(cells[(False, False)]["clients"]) == ["a", "b"]
    assert cells[(True, True)]["servers"] == ["b"]
    assert sorted(cells[(False, False)]["servers"]) == ["a", "c"]
    assert cells[(False, False)]["result"] == "Not Signed"
    assert cells[(False, True)]["signed"] is True


def test_group_by_os_family() -> None:
    report = model.build_report(THREE, "t", group_by="os_family")
    groups = report["effective"]["groups"]
    assert groups["group_by"] == "os_family"
    assert [g["name"] for g in groups["groups"]] == ["windows_server_2022"]
    assert groups["cells"][0]["unsigned_pairs"] == 3


def test_smb1_counted_only_where_the_server_has_smb1() -> None:
    server_off = {"server_require": False, "server_enable": False}
    hosts = [
        ("old", make_facts("old", values=server_off, smb1=True), None),
        # Requires client signing: against a server that cannot sign, SMB1 refuses the session.
        (
            "strict",
            make_facts("strict", values={"client_require": True, "client_enable": True}),
            None,
        ),
        # Signing enabled but not required on both sides would sign; "old" cannot, so unsigned.
        ("plain", make_facts("plain", values={"client_enable": True}), None),
    ]
    cell = model.build_report(hosts, "t")["effective"]["groups"]["cells"][0]
    assert cell["smb1_refused_pairs"] == 1  # strict -> old
    assert cell["smb1_unsigned_pairs"] == 1  # plain -> old


def test_unknown_posture_is_not_counted_as_signed_or_unsigned() -> None:
    facts = make_facts("x")
    facts["posture"] = {}
    facts["settings"]["server_require"]["value"] = None
    hosts = [("x", facts, None), ("y", make_facts("y"), None)]
    cell = model.build_report(hosts, "t")["effective"]["groups"]["cells"][0]
    assert cell["pairs"] == 2
    assert cell["unknown_pairs"] == 1  # y -> x: x's server side is unknown
    assert cell["unsigned_pairs"] == 1  # x -> y: neither requires


@pytest.mark.parametrize(
    ("facts", "outcome", "status"),
    [
        (make_facts("h", values=ALL_ON), None, "compliant"),
        (make_facts("h"), None, "noncompliant"),
        (None, None, "unreachable"),
        (make_facts("h", status="failed"), {"failure": "boom"}, "failed"),
        (make_facts("h", status="blocked"), {"blocked": {"peers": [], "message": "m"}}, "blocked"),
        (make_facts("h", expected=dict.fromkeys(ALL_ON)), None, "unverified"),
        (make_facts("h", status="unverified"), None, "unverified"),
        # The wire contradicts a compliant configuration: what an attacker sees decides.
        (make_facts("h", values=ALL_ON, wire_required=False), None, "noncompliant"),
        # Fail closed: a failure never counts compliant, nor does a status the report lacks.
        (make_facts("h", values=ALL_ON), {"failure": "boom"}, "failed"),
        (make_facts("h", status="great"), None, "unverified"),
        ({**make_facts("h", values=ALL_ON), "status": None}, None, "unverified"),
    ],
)
def test_host_status(facts: object, outcome: object, status: str) -> None:
    assert model.host_row("h", facts, outcome)["status"] == status


def test_flags_for_gpo_wire_smb1_and_audit_events() -> None:
    facts = make_facts(
        "h",
        values={"server_require": False},
        gpo={"client_require": "Tier1 SMB"},
        wire_required=True,
        smb1=True,
        unsigned_peers={"10.0.0.5": 2},
    )
    row = model.host_row("h", facts, None)
    assert row["flags"] == [
        "gpo:client_require",
        "wire_disagrees",
        "smb1_enabled",
        "unsigned_clients_seen",
    ]
    assert row["settings"]["client_require"]["gpo"] == "Tier1 SMB"
    assert row["audit_events"]["server"]["peers"] == [
        {"peer": "10.0.0.5", "count": 2, "last": "2026-11-24T10:00:00Z"}
    ]


def test_garbage_facts_do_not_crash_the_report() -> None:
    row = model.host_row("h", "not a mapping", ["nor", "this"])
    assert row["facts_missing"] is True
    assert row["status"] == "unreachable"


def test_wire_contradiction_is_counted_noncompliant_everywhere() -> None:
    hosts = [("relay", make_facts("relay", values=ALL_ON, wire_required=False), None)]
    report = model.build_report(hosts, "t")
    (row,) = report["hosts"]
    assert row["status"] == "noncompliant"
    assert "wire_disagrees" in row["flags"]
    assert report["summary"]["compliant_hosts"] == 0
    assert report["summary"]["noncompliant_hosts"] == ["relay"]
    # The seed table places the host by what the wire showed, not by its configuration.
    assert row["posture"]["server_require"] is False


def test_summary_lists_hosts_by_problem() -> None:
    hosts = [
        ("ok", make_facts("ok", values=ALL_ON, wire_required=True), None),
        ("bad", make_facts("bad", gpo={"server_require": "G"}, wire_required=True), None),
        ("gone", None, None),
        ("err", make_facts("err", status="failed"), {"failure": "verify failed"}),
        ("unk", make_facts("unk", values=ALL_ON, status="unverified"), None),
    ]
    summary = model.build_report(hosts, "t")["summary"]
    assert summary["hosts"] == 5
    assert summary["unverified_hosts"] == ["unk"]
    assert summary["compliant_hosts"] == 1
    assert summary["noncompliant_hosts"] == ["bad"]
    assert summary["unreachable_hosts"] == ["gone"]
    assert summary["failed_hosts"] == ["err"]
    assert summary["gpo_owned"] == ["bad:server_require"]
    assert summary["wire_disagrees"] == ["bad"]
    assert summary["by_setting"]["server_require"] == {
        "compliant": 2,
        "noncompliant": 2,
        "not_judged": 0,
    }


def test_examples_are_bounded() -> None:
    hosts = [(f"h{i}", make_facts(f"h{i}"), None) for i in range(8)]
    cell = model.build_report(hosts, "t")["effective"]["groups"]["cells"][0]
    assert cell["unsigned_pairs"] == 8 * 7
    assert len(cell["examples"]) == model.MAX_PAIR_EXAMPLES


def test_rows_sorted_worst_first() -> None:
    hosts = [
        ("z-ok", make_facts("z", values=ALL_ON), None),
        ("a-bad", make_facts("a"), None),
        ("m-failed", make_facts("m", status="failed"), {"failure": "x"}),
    ]
    rows = model.build_report(hosts, "t")["hosts"]
    assert [r["host"] for r in rows] == ["m-failed", "a-bad", "z-ok"]


def _brute_force(rows: list) -> dict:
    """Every (client, server) pair, one by one, straight from the seed table's rule."""
    counts: dict = {}
    for c in rows:
        for s in rows:
            if c["host"] == s["host"]:
                continue
            key = (c["profile"], s["profile"])
            pairs, unsigned = counts.get(key, (0, 0))
            cr, sr = c["posture"]["client_require"], s["posture"]["server_require"]
            counts[key] = (pairs + 1, unsigned + (not (cr or sr)))
    return counts


def test_class_counting_agrees_with_pair_by_pair() -> None:
    rng = random.Random(7)
    profiles = ["domain_controller", "member_server", "standalone_server"]
    hosts = [
        (
            f"h{i}",
            make_facts(
                f"h{i}",
                rng.choice(profiles),
                values={
                    "server_require": rng.random() < 0.5,
                    "client_require": rng.random() < 0.3,
                },
            ),
            None,
        )
        for i in range(60)
    ]
    report = model.build_report(hosts, "t")
    expected = _brute_force(report["hosts"])
    cells = report["effective"]["groups"]["cells"]
    got = {
        (c["client_group"], c["server_group"]): (c["pairs"], c["unsigned_pairs"])
        for c in cells
        if c["pairs"]
    }
    assert got == expected
    for cell in cells:
        for client, server in cell["examples"]:
            assert client != server


def test_ten_thousand_hosts_stay_cheap() -> None:
    facts = [make_facts(f"h{i}", values={"server_require": i % 3 == 0}) for i in range(200)]
    hosts = [(f"h{i}", facts[i % 200], None) for i in range(10_000)]
    started = time.monotonic()
    report = model.build_report(hosts, "t")
    elapsed = time.monotonic() - started
    cell = report["effective"]["groups"]["cells"][0]
    assert cell["pairs"] == 10_000 * 9_999
    # Pair by pair this would be 10^8 evaluations; by class it is a handful.
    assert elapsed < 30, elapsed
