"""A table of invalid parameters, types and combinations for every plugin and for the role.

Each row must fail with a message that names what was wrong (the parameter, or the offending
value), with no traceback, and must write nothing on the host. The rows of one plugin run as
the tasks of one playbook, so the table costs one ansible-playbook run per plugin.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pytest
from integration.playbook import REPO, Run, run_playbook, run_tasks

from lab.client import LabClient

pytestmark = [pytest.mark.lab, pytest.mark.slow]

HOST = "s00001"
Case = Tuple[str, Dict[str, Any], List[str]]  # (id, args, words: the msg names one of them)

ENFORCE_CASES: List[Case] = [
    ("bool_not_bool", {"server_require": "maybe"}, ["server_require"]),
    ("bool_as_list", {"client_require": [True]}, ["client_require"]),
    ("baseline_unknown", {"baseline": "nist"}, ["baseline"]),
    ("custom_without_values", {"baseline": "custom"}, ["custom_baseline"]),
    (
        "values_without_custom",
        {"baseline": "cis", "custom_baseline": {"server_require": True}},
        ["custom_baseline"],
    ),
    (
        "custom_unknown_setting",
        {"baseline": "custom", "custom_baseline": {"server_requires": True}},
        ["server_requires"],
    ),
    (
        "custom_value_not_bool",
        {"baseline": "custom", "custom_baseline": {"server_require": "on?"}},
        ["server_require"],
    ),
    (
        "custom_not_a_dict",
        {"baseline": "custom", "custom_baseline": "server_require"},
        ["custom_baseline"],
    ),
    (
        "gpo_conflict_unknown",
        {"server_require": True, "on_gpo_conflict": "abort"},
        ["on_gpo_conflict"],
    ),
    (
        "allow_weakening_not_bool",
        {"server_require": True, "allow_weakening": "sometimes"},
        ["allow_weakening"],
    ),
    ("probe_not_bool", {"server_require": True, "probe": "yes please"}, ["probe"]),
    ("probe_port_too_big", {"server_require": True, "probe_port": 70000}, ["probe_port"]),
    ("probe_port_zero", {"server_require": True, "probe_port": 0}, ["probe_port"]),
    ("probe_port_text", {"server_require": True, "probe_port": "smb"}, ["probe_port"]),
    ("probe_timeout_zero", {"server_require": True, "probe_timeout": 0}, ["probe_timeout"]),
    ("probe_timeout_too_long", {"server_require": True, "probe_timeout": 61}, ["probe_timeout"]),
    ("probe_timeout_text", {"server_require": True, "probe_timeout": "fast"}, ["probe_timeout"]),
    ("unknown_option", {"server_require": True, "sever_require": True}, ["sever_require"]),
    ("mode_unknown", {"mode": "fix"}, ["mode"]),
    ("old_name_apply", {"apply": "all"}, ["apply"]),
    ("window_bad_unit", {"server_require": True, "audit_window": "7x"}, ["audit_window"]),
]
FACTS_CASES: List[Case] = [
    ("baseline_unknown", {"baseline": "nist"}, ["baseline"]),
    ("custom_without_values", {"baseline": "custom"}, ["custom_baseline"]),
    ("values_without_custom", {"custom_baseline": {"server_require": True}}, ["custom_baseline"]),
    (
        "custom_unknown_setting",
        {"baseline": "custom", "custom_baseline": {"bogus": True}},
        ["bogus"],
    ),
    (
        "custom_value_not_bool",
        {"baseline": "custom", "custom_baseline": {"client_require": 7}},
        ["client_require"],
    ),
    ("probe_not_bool", {"probe": "maybe"}, ["probe"]),
    ("probe_port_too_big", {"probe_port": 65536}, ["probe_port"]),
    ("probe_port_negative", {"probe_port": -1}, ["probe_port"]),
    ("probe_timeout_negative", {"probe_timeout": -1}, ["probe_timeout"]),
    ("probe_timeout_too_long", {"probe_timeout": 600}, ["probe_timeout"]),
    ("window_words", {"audit_window": "yesterday"}, ["audit_window"]),
    ("window_bad_unit", {"audit_window": "7x"}, ["audit_window"]),
    (
        "window_bad_date",
        {"audit_window": "2026-13-45T99:00:00Z"},
        ["audit_window"],
    ),
    ("max_peers_zero", {"max_audit_peers": 0}, ["max_audit_peers"]),
    ("max_peers_too_many", {"max_audit_peers": 1001}, ["max_audit_peers"]),
    ("max_peers_text", {"max_audit_peers": "many"}, ["max_audit_peers"]),
    ("old_name_audit_events_since", {"audit_events_since": "7d"}, ["audit_events_since"]),
    ("unknown_option", {"baseline": "cis", "verbose": True}, ["verbose"]),
]
PROBE_CASES: List[Case] = [
    ("targets_missing", {}, ["targets"]),
    ("targets_empty", {"targets": []}, ["targets"]),
    ("targets_not_list", {"targets": {"a": 1}}, ["targets"]),
    ("target_bad_port", {"targets": ["127.0.0.1:99999"]}, ["99999", "port"]),
    ("target_bad_cidr", {"targets": ["127.0.0.0/33"]}, ["127.0.0.0/33"]),
    ("target_bad_ipv6", {"targets": ["[::1"]}, ["[::1"]),
    ("target_garbage", {"targets": ["<script>"]}, ["<script>"]),
    ("too_many_endpoints", {"targets": ["127.0.0.0/8"]}, ["max_endpoints"]),
    ("port_zero", {"targets": ["127.0.0.1"], "port": 0}, ["port"]),
    ("port_too_big", {"targets": ["127.0.0.1"], "port": 65536}, ["port"]),
    ("concurrency_zero", {"targets": ["127.0.0.1"], "concurrency": 0}, ["concurrency"]),
    ("deadline_zero", {"targets": ["127.0.0.1"], "deadline": 0}, ["deadline"]),
    ("deadline_text", {"targets": ["127.0.0.1"], "deadline": "soon"}, ["deadline"]),
    ("max_endpoints_zero", {"targets": ["127.0.0.1"], "max_endpoints": 0}, ["max_endpoints"]),
    ("unknown_option", {"targets": ["127.0.0.1"], "timeout": 3}, ["timeout"]),
]
# Role variables: (id, extra vars, words). Checked with the role's own argument_specs through
# validate_argument_spec (what the role's entry point runs), one task per row.
ROLE_CASES: List[Case] = [
    ("mode_unknown", {"smb_signing_mode": "fix"}, ["smb_signing_mode"]),
    ("baseline_unknown", {"smb_signing_baseline": "nist"}, ["smb_signing_baseline"]),
    ("profiles_not_dict", {"smb_signing_profiles": ["member_server"]}, ["smb_signing_profiles"]),
    ("profile_unknown", {"smb_signing_profiles": {"kiosk": {}}}, ["kiosk"]),
    (
        "profile_setting_unknown",
        {"smb_signing_profiles": {"member_server": {"sign": True}}},
        ["sign"],
    ),
    (
        "profile_setting_not_bool",
        {"smb_signing_profiles": {"member_server": {"server_require": "maybe"}}},
        ["server_require"],
    ),
    (
        "host_override_unknown",
        {"smb_signing_host_overrides": {"server_requires": True}},
        ["server_requires"],
    ),
    (
        "host_override_not_bool",
        {"smb_signing_host_overrides": {"client_require": [1]}},
        ["client_require"],
    ),
    (
        "enable_audit_not_bool",
        {"smb_signing_enable_audit": "perhaps"},
        ["smb_signing_enable_audit"],
    ),
    (
        "clean_audit_not_bool",
        {"smb_signing_require_clean_audit": "perhaps"},
        ["smb_signing_require_clean_audit"],
    ),
    ("max_peers_text", {"smb_signing_max_audit_peers": "many"}, ["smb_signing_max_audit_peers"]),
    (
        "gpo_conflict_unknown",
        {"smb_signing_on_gpo_conflict": "abort"},
        ["smb_signing_on_gpo_conflict"],
    ),
    (
        "weakening_not_bool",
        {"smb_signing_allow_weakening": "sometimes"},
        ["smb_signing_allow_weakening"],
    ),
    ("probe_not_bool", {"smb_signing_probe": "sometimes"}, ["smb_signing_probe"]),
    ("report_not_bool", {"smb_signing_report": "sometimes"}, ["smb_signing_report"]),
    ("formats_unknown", {"smb_signing_report_formats": ["pdf"]}, ["smb_signing_report_formats"]),
    (
        "formats_not_list",
        {"smb_signing_report_formats": {"json": 1}},
        ["smb_signing_report_formats"],
    ),
    ("group_by_unknown", {"smb_signing_report_group_by": "site"}, ["smb_signing_report_group_by"]),
]
SPEC_FILE = REPO / "roles" / "smb_signing" / "meta" / "argument_specs.yml"


def _table(lab: LabClient, module: str, cases: List[Case], delegate: bool) -> Run:
    tasks: List[Dict[str, Any]] = []
    for case_id, args, _ in cases:
        task: Dict[str, Any] = {"name": case_id, module: args}
        if delegate:
            task["delegate_to"] = "localhost"
        tasks.append(task)
    return run_tasks(tasks, lab.inventory, limit=HOST, forks=1)


def _role_table(lab: LabClient) -> Run:
    spec = (
        f"{{{{ (lookup('ansible.builtin.file', '{SPEC_FILE}') | from_yaml)"
        ".argument_specs.main.options }}"
    )
    tasks = [
        {
            "name": case_id,
            "ansible.builtin.validate_argument_spec": {
                "argument_spec": spec,
                "provided_arguments": provided,
            },
        }
        for case_id, provided, _ in ROLE_CASES
    ]
    return run_tasks(tasks, lab.inventory, limit=HOST, forks=1)


@pytest.fixture(scope="module")
def tables(rlab: LabClient, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    writes_before = len(rlab.records(HOST)["writes"])
    out: Dict[str, Any] = {
        "win_smb_signing": _table(rlab, "winhardening.smb.win_smb_signing", ENFORCE_CASES, False),
        "win_smb_signing_facts": _table(
            rlab, "winhardening.smb.win_smb_signing_facts", FACTS_CASES, False
        ),
        "smb_signing_probe": _table(rlab, "winhardening.smb.smb_signing_probe", PROBE_CASES, True),
        "role": _role_table(rlab),
    }
    work = tmp_path_factory.mktemp("bad-role-vars")
    out["role_run"] = run_playbook(
        "winhardening.smb.audit",
        rlab.inventory,
        work,
        limit=HOST,
        extra_vars={"smb_signing_baseline": "nist", "smb_signing_report_dir": str(work)},
    )
    out["window_run"] = run_playbook(
        "winhardening.smb.enforce",
        rlab.inventory,
        work,
        limit=HOST,
        extra_vars={"smb_signing_audit_window": "7x", "smb_signing_report_dir": str(work)},
    )
    out["writes"] = len(rlab.records(HOST)["writes"]) - writes_before
    return out


def _check(run: Run, cases: List[Case], index: int) -> None:
    case_id, args, words = cases[index]
    assert HOST in run.results, run.tail()
    result = run.results[HOST][str(index)]
    assert result is not None, (case_id, run.tail())
    assert result.get("failed") is True, (case_id, args, result)
    msg = str(result.get("msg", ""))
    assert "Traceback" not in msg, (case_id, msg)
    assert "Traceback (most recent call last)" not in str(result.get("exception", "")), case_id
    assert any(w.lower() in msg.lower() for w in words), (case_id, words, msg)


@pytest.mark.parametrize("index", range(len(ENFORCE_CASES)), ids=[c[0] for c in ENFORCE_CASES])
def test_win_smb_signing_rejects(tables: Dict[str, Any], index: int) -> None:
    _check(tables["win_smb_signing"], ENFORCE_CASES, index)


@pytest.mark.parametrize("index", range(len(FACTS_CASES)), ids=[c[0] for c in FACTS_CASES])
def test_win_smb_signing_facts_rejects(tables: Dict[str, Any], index: int) -> None:
    _check(tables["win_smb_signing_facts"], FACTS_CASES, index)


@pytest.mark.parametrize("index", range(len(PROBE_CASES)), ids=[c[0] for c in PROBE_CASES])
def test_smb_signing_probe_rejects(tables: Dict[str, Any], index: int) -> None:
    _check(tables["smb_signing_probe"], PROBE_CASES, index)


@pytest.mark.parametrize("index", range(len(ROLE_CASES)), ids=[c[0] for c in ROLE_CASES])
def test_role_argument_spec_rejects(tables: Dict[str, Any], index: int) -> None:
    _check(tables["role"], ROLE_CASES, index)


def test_role_entry_point_rejects_a_bad_variable(tables: Dict[str, Any]) -> None:
    run: Run = tables["role_run"]
    assert run.rc != 0
    assert "smb_signing_baseline" in run.stdout, run.tail()
    assert "nist" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr


def test_role_rejects_a_bad_audit_window(tables: Dict[str, Any]) -> None:
    run: Run = tables["window_run"]
    assert run.rc != 0
    # The role passes the window to the module as audit_window (the plugins read no role
    # variable), and the module names its option: audit_window, with the value it refused.
    assert "audit_window: expected an ISO 8601 time" in run.stdout, run.tail()
    assert "got '7x'" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr


def test_bad_input_writes_nothing(tables: Dict[str, Any]) -> None:
    assert tables["writes"] == 0


# The module documents custom_baseline as "with baseline=custom": without it, it is refused.
# Run in check mode, so the case writes nothing either way.
def test_custom_baseline_without_baseline_is_refused(rlab: LabClient) -> None:
    run = run_tasks(
        [
            {
                "name": "values_without_baseline",
                "winhardening.smb.win_smb_signing": {
                    "custom_baseline": {"server_require": True},
                    "probe": False,
                },
            }
        ],
        rlab.inventory,
        limit=HOST,
        check=True,
    )
    result = run.results[HOST]["0"]
    assert result.get("failed") is True, result
    assert "custom_baseline" in str(result.get("msg"))
