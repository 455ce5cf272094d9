"""Audit mode end to end on the demo fleet: it writes nothing, and the report matches the facts."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
from integration.playbook import Run

from lab.client import LabClient

pytestmark = [pytest.mark.lab, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_TIMEOUT_S = 90


def _ops(lab: LabClient) -> Dict[str, List[str]]:
    return {h: [s["op"] for s in lab.records(h)["scripts"]] for h in lab.hosts()}


def test_audit_writes_nothing(demo_lab: LabClient, audited: Run) -> None:
    stats = audited.recap()
    assert set(stats) == set(demo_lab.hosts())
    assert all(s["changed"] == 0 and s["failed"] == 0 for s in stats.values()), stats
    for host, ops in _ops(demo_lab).items():
        assert ops, f"{host}: the audit never read the host"
        assert set(ops) == {"read_state"}, f"{host} ran {ops}"
        assert demo_lab.records(host)["writes"] == []


def test_report_data_matches_the_facts(
    demo_lab: LabClient,
    audited: Run,
    read_facts: Callable[[], Dict[str, Dict[str, Any]]],
) -> None:
    report = audited.report()
    facts = read_facts()
    assert sorted(facts) == sorted(demo_lab.hosts())
    rows = {r["host"]: r for r in report["hosts"]}
    assert sorted(rows) == sorted(facts)
    for host, f in facts.items():
        row = rows[host]
        assert row["profile"] == f["profile"]
        assert row["status"] == f["status"], (host, row["status_reasons"])
        assert row["status_reasons"] == f["status_reasons"]
        assert row["compliant"] == f["compliant"]
        assert row["noncompliant"] == f["noncompliant"]
        assert row["smb1_server_enabled"] == f["smb1"]["server_enabled"]
        assert row["wire"]["signing_required"] == f["observed"]["signing_required"]
        assert row["posture"]["server_require"] == f["posture"]["server"]["requires_signing_smb2"]
        assert row["posture"]["client_require"] == f["posture"]["client"]["requires_signing_smb2"]
        server_events = (f["audit"]["events"] or {}).get("server") or {}
        assert row["audit_events"]["server"]["count"] == server_events.get("count", 0)
        for name, s in f["settings"].items():
            cell = row["settings"][name]
            assert cell["value"] == s["value"], (host, name)
            assert cell["expected"] == s["expected"], (host, name)
            assert cell["compliant"] == s["compliant"], (host, name)
            assert cell["owner"] == s["owner"], (host, name)
            assert cell["gpo"] == ((s["gpo"] or {}).get("name")), (host, name)
    summary = report["summary"]
    assert summary["hosts"] == len(facts)
    assert summary["compliant_hosts"] == sum(1 for f in facts.values() if f["compliant"])
    statuses = [f["status"] for f in facts.values()]
    assert summary["by_status"] == {s: statuses.count(s) for s in summary["by_status"]}
    assert summary["smb1_enabled"] == sorted(
        h for h, f in facts.items() if f["smb1"]["server_enabled"]
    )
    gpo = sorted(
        f"{h}:{n}"
        for h, f in facts.items()
        for n, s in f["settings"].items()
        if s["owner"] == "gpo"
    )
    assert summary["gpo_owned"] == gpo
    # What the demo fleet is built to show.
    assert "ms2019:client_require" in gpo
    assert rows["ms2025"]["audit_events"]["server"]["count"] == 3
    assert summary["unsigned_pairs"] > 0


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def render(html: Path, png: Path, profile: Path) -> List[str]:
    """Screenshot the page with headless Chromium; return the console messages it logged."""
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--log-level=0",
            f"--screenshot={png}",
            "--window-size=1400,1000",
            html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=CHROMIUM_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("chromium is not installed (Debian package chromium)")
    return CHROMIUM


def test_console_check_catches_a_broken_page(chromium: str, tmp_path: Path) -> None:
    """The console check below can fail: an inline script under the report's CSP logs one."""
    from ansible_collections.winhardening.smb.plugins.plugin_utils._report_html import CSP

    page = tmp_path / "bad.html"
    page.write_text(
        f'<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="{CSP}">'
        "<script>document.title='x'</script><p>bad</p>"
    )
    console = render(page, tmp_path / "bad.png", tmp_path / "profile")
    assert any("Content Security Policy" in line for line in console), console


def test_html_report_renders_without_console_errors(
    chromium: str, audited: Run, tmp_path: Path
) -> None:
    assert audited.report_dir is not None
    html = audited.report_dir / "smb_signing_report.html"
    png = tmp_path / "report.png"
    console = render(html, png, tmp_path / "profile")
    assert console == []
    assert _png_size(png) == (1400, 1000)
    assert png.stat().st_size > 20_000  # a blank page compresses to far less


def test_enable_audit_writes_only_the_audit_settings(
    demo_lab: LabClient, playbook: Callable[..., Run]
) -> None:
    run = playbook("audit", "-e", "smb_signing_enable_audit=true")
    assert run.rc == 0, run.tail()
    audit_properties = {"AuditClientDoesNotSupportSigning", "AuditServerDoesNotSupportSigning"}
    wrote = {}
    for host in demo_lab.hosts():
        writes = demo_lab.records(host)["writes"]
        assert {w["property"] for w in writes} <= audit_properties, (host, writes)
        wrote[host] = writes
    # dc02 and ms2025 (Server 2025) have both parameters; ms2025 had the server one on already.
    assert {w["property"] for w in wrote["dc02"]} == audit_properties
    assert [w["property"] for w in wrote["ms2025"]] == ["AuditServerDoesNotSupportSigning"]
    assert wrote["ms2016"] == []  # Server 2016: no audit parameters at all
    # A second run finds nothing to do.
    again = playbook("audit", "-e", "smb_signing_enable_audit=true")
    assert all(s["changed"] == 0 for s in again.recap().values()), again.tail()
