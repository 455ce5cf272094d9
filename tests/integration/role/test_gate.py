"""The audit-first gate on the demo fleet: ms2025's audit log names two unsigned clients."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from integration.role._helpers import WIDE_WINDOW, load_report, recap

from lab.client import LabClient

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def test_gate_blocks_server_signing_and_names_the_clients(
    demo_lab: LabClient, playbook: Callable[..., Any], tmp_path: Path
) -> None:
    run = playbook(
        "enforce",
        "--limit",
        "ms2025,ms2022",
        "-e",
        "smb_signing_require_clean_audit=true",
        "-e",
        f"smb_signing_audit_window={WIDE_WINDOW}",
    )
    stats = recap(run.stdout)
    assert run.returncode != 0
    assert stats["ms2025"]["failed"] == 1, run.stdout[-3000:]
    # ms2022 audits unsigned clients and its log is clean: the gate lets it through.
    assert stats["ms2022"]["failed"] == 0, run.stdout[-3000:]

    failure = next(line for line in run.stdout.splitlines() if line.startswith("fatal: [ms2025]"))
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

    report = load_report(tmp_path / "report")
    rows = {r["host"]: r for r in report["hosts"]}
    assert sorted(rows) == ["ms2022", "ms2025"]
    assert rows["ms2025"]["status"] == "blocked"
    assert sorted(rows["ms2025"]["outcome"]["blocked"]["peers"]) == ["10.20.0.15", "PRINTER-07"]
    assert rows["ms2022"]["status"] == "compliant"
    assert report["summary"]["blocked_hosts"] == ["ms2025"]


def test_gate_stays_open_without_the_option(
    demo_lab: LabClient, playbook: Callable[..., Any]
) -> None:
    run = playbook("enforce", "--limit", "ms2025")
    assert run.returncode == 0, run.stdout[-3000:]
    wire = {h["name"]: h["wire_requires_signing"] for h in demo_lab.status()["hosts"]}
    assert wire["ms2025"] is True
