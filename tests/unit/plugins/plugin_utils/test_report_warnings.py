"""A warning many hosts give is told once, with the count and the first hosts."""

from __future__ import annotations

from ansible_collections.winhardening.smb.plugins.plugin_utils import _report_warnings as w


def _row(host: str, *warnings: str) -> dict:
    return {"host": host, "computer_name": host.upper(), "warnings": list(warnings)}


def test_the_same_text_from_many_hosts_is_one_entry() -> None:
    rows = [_row(f"ws{i:03d}", f"ws{i:03d}: skipping audit_unsigned_clients") for i in range(40)]
    rows.append(_row("dc01", "DC01: wire disagrees", "dc01: skipping audit_unsigned_clients"))
    summary = w.warning_summary(rows)
    assert summary == [
        {
            "message": "skipping audit_unsigned_clients",
            "count": 41,
            "hosts": ["ws000", "ws001", "ws002", "ws003", "ws004"],
        },
        {"message": "wire disagrees", "count": 1, "hosts": ["dc01"]},
    ]
    assert w.warning_lines(summary) == [
        "41 hosts (ws000, ws001, ws002, ws003, ws004 and 36 more): skipping audit_unsigned_clients",
        "1 host (dc01): wire disagrees",
    ]


def test_a_host_repeating_a_warning_counts_once() -> None:
    summary = w.warning_summary([_row("a", "a: x", "a: x"), _row("b", "other: x")])
    assert summary == [
        {"message": "other: x", "count": 1, "hosts": ["b"]},
        {"message": "x", "count": 1, "hosts": ["a"]},
    ]


def test_no_warnings_no_entries() -> None:
    assert w.warning_summary([_row("a"), {"host": "b"}]) == []
