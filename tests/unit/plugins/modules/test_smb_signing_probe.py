"""smb_signing_probe as Ansible runs it: parameters in, JSON out, no traceback on bad input."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.winhardening.smb.plugins.module_utils.smb_negotiate import ProbeResult
from ansible_collections.winhardening.smb.plugins.modules import smb_signing_probe as mod


def _run(args: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    with patch_module_args(args), pytest.raises(SystemExit):
        mod.main()
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def _result(address: str, port: int, **kw: Any) -> ProbeResult:
    base: dict[str, Any] = {
        "reachable": True,
        "dialect": "3.1.1",
        "signing_enabled": True,
        "signing_required": True,
        "server_guid": None,
        "signing_algorithm": None,
        "smb1_security_mode": None,
        "error": None,
        "detail": "",
        "elapsed": 0.01,
    }
    base.update(kw)
    return ProbeResult(address=address, port=port, **base)


def _fake_probe_many(outcomes: dict[tuple[str, int], dict[str, Any]]) -> Any:
    seen: dict[str, Any] = {}

    def fake(endpoints: list[tuple[str, int]], concurrency: int, deadline: float) -> list[Any]:
        seen.update(endpoints=list(endpoints), concurrency=concurrency, deadline=deadline)
        return [_result(h, p, **outcomes.get((h, p), {})) for h, p in endpoints]

    fake.seen = seen  # type: ignore[attr-defined]
    return fake


def test_summary_and_relay_list(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = _fake_probe_many(
        {
            ("127.0.0.2", 445): {"signing_required": False, "security_mode": 1},
            ("::1", 10445): {"signing_required": False},
            ("127.0.0.4", 445): {"dialect": "SMB1", "signing_required": False},
            ("127.0.0.5", 445): {
                "error": "timeout",
                "dialect": None,
                "signing_required": None,
                "signing_enabled": None,
            },
            ("127.0.0.6", 445): {"dialect": "SMB1", "signing_required": True},
        }
    )
    monkeypatch.setattr(mod, "probe_many", fake)
    out = _run(
        {"targets": ["127.0.0.1", "127.0.0.2", "[::1]:10445", "127.0.0.4/31", "127.0.0.6"]},
        capsys,
    )
    assert out["changed"] is False
    assert [e["address"] for e in out["endpoints"]] == [
        "127.0.0.1",
        "127.0.0.2",
        "::1",
        "127.0.0.4",
        "127.0.0.5",
        "127.0.0.6",
    ]
    assert out["relay_list"] == ["127.0.0.2:445", "[::1]:10445", "127.0.0.4:445"]
    assert out["summary"] == {
        "total": 6,
        "signing_required": 2,
        "signing_not_required": 3,
        "smb1_only": 2,
        "refused": 0,
        "timeout": 1,
        "closed": 0,
        "garbage": 0,
        "status": 0,
    }
    assert fake.seen["concurrency"] == 64
    assert fake.seen["deadline"] == 3.0


def test_check_mode_probes_and_reports_unchanged(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = _fake_probe_many({})
    monkeypatch.setattr(mod, "probe_many", fake)
    out = _run({"targets": ["127.0.0.9"], "_ansible_check_mode": True}, capsys)
    assert out["changed"] is False
    assert out["summary"]["signing_required"] == 1
    assert fake.seen["endpoints"] == [("127.0.0.9", 445)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"targets": ["127.0.0.0/8"]}, "targets: '127.0.0.0/8' expands to 16777214 endpoints"),
        (
            {"targets": ["127.0.0.0/24"], "max_endpoints": 100},
            "targets: '127.0.0.0/24' expands to 254 endpoints",
        ),
        ({"targets": ["127.0.0.1:99999"]}, "targets: '127.0.0.1:99999' has an invalid port"),
        ({"targets": ["bad host"]}, "targets: 'bad host' is not a valid host name"),
        ({"targets": []}, "targets: the list is empty"),
        ({"targets": ["127.0.0.1"], "port": 0}, "port: 0 is not a TCP port"),
        ({"targets": ["127.0.0.1"], "concurrency": 0}, "concurrency: 0 is outside"),
        ({"targets": ["127.0.0.1"], "deadline": -1}, "deadline: -1.0 is outside"),
        ({"targets": ["127.0.0.1"], "max_endpoints": 0}, "max_endpoints: 0 must be"),
    ],
)
def test_bad_input_fails_naming_the_parameter(
    args: dict[str, Any],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(mod, "probe_many", _fake_probe_many({}))
    out = _run(args, capsys)
    assert out["failed"] is True
    assert message in out["msg"]
    assert "Traceback" not in json.dumps(out)


def test_real_probe_of_closed_loopback_ports(capsys: pytest.CaptureFixture[str]) -> None:
    """No monkeypatching: the module drives the real probe (nothing listens, so: refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = _run({"targets": [f"127.0.0.1:{port}"], "deadline": 1.0}, capsys)
    (endpoint,) = out["endpoints"]
    assert endpoint["error"] == "refused"
    assert endpoint["reachable"] is False
    assert out["summary"]["refused"] == 1
    assert out["relay_list"] == []
    assert set(endpoint) >= {
        "address",
        "port",
        "reachable",
        "dialect",
        "signing_enabled",
        "signing_required",
        "server_guid",
        "signing_algorithm",
        "smb1_security_mode",
        "error",
        "detail",
        "elapsed",
    }
