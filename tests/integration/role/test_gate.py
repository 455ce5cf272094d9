"""The audit-first gate on the demo fleet: ms2025's audit log names two unsigned clients."""

from __future__ import annotations

from typing import Callable

import pytest
from integration.playbook import WIDE_WINDOW, Run

from lab.client import LabClient

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def test_gate_blocks_server_signing_and_names_the_clients(
    demo_lab: LabClient, playbook: Callable[..., Run]
) -> None:
    # The gate opens only when the host's record of since when auditing has been on
    # (AuditUnsignedClientsSince) is older than the window's start. The demo fleet's ms2022 has
    # auditing on but no record, which now keeps the gate closed (it used to open on a clean
    # log alone); age the record so that ms2022 shows the gate opening on full evidence.
    demo_lab.set("ms2022", "audit_marker=2010-01-01T00:00:00.0000000Z")
    run = playbook(
        "enforce",
        "--limit",
        "ms2025,ms2022",
        "-e",
        "smb_signing_require_clean_audit=true",
        "-e",
        f"smb_signing_audit_window={WIDE_WINDOW}",
    )
    stats = run.recap()
    assert run.rc != 0
    assert stats["ms2025"]["failed"] == 1, run.tail()
    # ms2022 has audited unsigned clients for the whole window and its log is clean: the gate
    # lets it through.
    assert stats["ms2022"]["failed"] == 0, run.tail()

    failure = run.fatal()["ms2025"]
    assert "audit-first gate" in failure
    assert "10.20.0.15 (2 events)" in failure
    assert "PRINTER-07 (1 event)" in failure

    server_require_writes = {
        host: [
            w
            for w in demo_lab.records(host)["writes"]
            if w["side"] == "server" and w["property"] == "RequireSecuritySignature"
        ]
        for host in ("ms2025", "ms2022")
    }
    assert server_require_writes["ms2025"] == []
    assert server_require_writes["ms2022"] == [
        {"side": "server", "property": "RequireSecuritySignature", "value": True}
    ]
    # The rest of ms2025's values were still applied (client signing, the audit settings).
    assert {w["property"] for w in demo_lab.records("ms2025")["writes"]} >= {
        "EnableSecuritySignature",
        "AuditServerDoesNotSupportSigning",
    }
    wire = {h["name"]: h["wire_requires_signing"] for h in demo_lab.status()["hosts"]}
    assert (wire["ms2025"], wire["ms2022"]) == (False, True)

    report = run.report()
    rows = {r["host"]: r for r in report["hosts"]}
    assert sorted(rows) == ["ms2022", "ms2025"]
    assert rows["ms2025"]["status"] == "blocked"
    blocked = rows["ms2025"]["outcome"]["blocked"]
    assert blocked["peers"] == [
        {"peer": "10.20.0.15", "count": 2},
        {"peer": "PRINTER-07", "count": 1},
    ]
    assert blocked["peers_left_out"] == 0
    assert rows["ms2022"]["status"] == "compliant"
    assert report["summary"]["blocked_hosts"] == ["ms2025"]


def test_gate_stays_open_without_the_option(
    demo_lab: LabClient, playbook: Callable[..., Run]
) -> None:
    run = playbook("enforce", "--limit", "ms2025")
    assert run.rc == 0, run.tail()
    wire = {h["name"]: h["wire_requires_signing"] for h in demo_lab.status()["hosts"]}
    assert wire["ms2025"] is True
