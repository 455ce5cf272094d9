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

    def fake(
        endpoints: list[tuple[str, int]], concurrency: int, deadline: float, check_smb1: bool
    ) -> list[Any]:
        seen.update(
            endpoints=list(endpoints),
            concurrency=concurrency,
            deadline=deadline,
            check_smb1=check_smb1,
        )
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
    assert out["unverified"] == ["127.0.0.5:445"]
    assert out["summary"] == {
        "total": 6,
        "signing_required": 2,
        "signing_not_required": 3,
        "smb1_only": 2,
        "smb1_enabled": 0,
        "unverified": 1,
        "refused": 0,
        "unresolved": 0,
        "timeout": 1,
        "closed": 0,
        "garbage": 0,
        "status": 0,
        "local": 0,
    }
    assert fake.seen["concurrency"] == out["concurrency"]
    assert 1 <= out["concurrency"] <= 256
    assert fake.seen["deadline"] == 3.0
    assert fake.seen["check_smb1"] is False


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


_NO_ANSWER: dict[str, Any] = {
    "reachable": False,
    "dialect": None,
    "signing_required": None,
    "signing_enabled": None,
}


def test_local_errors_fail_the_task_and_keep_every_result(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Out of descriptors is not 'refused': the task fails, and nothing probed is dropped."""
    fake = _fake_probe_many(
        {
            ("127.0.0.1", 445): {"signing_required": False},
            ("127.0.0.2", 445): {
                **_NO_ANSWER,
                "error": "local",
                "detail": "this host ran out of resources to probe with: Too many open files",
            },
        }
    )
    monkeypatch.setattr(mod, "probe_many", fake)
    out = _run({"targets": ["127.0.0.1", "127.0.0.2"]}, capsys)
    assert out["failed"] is True
    assert "1 of 2 endpoints could not be probed" in out["msg"]
    assert "Too many open files" in out["msg"]
    assert out["relay_list"] == ["127.0.0.1:445"]
    assert out["unverified"] == ["127.0.0.2:445"]
    assert out["summary"]["local"] == 1
    assert out["summary"]["refused"] == 0


@pytest.mark.parametrize(
    ("kind", "reachable", "listed"),
    [
        ("refused", False, False),  # nothing listens: a verdict
        ("refused", True, True),  # refused after an SMB server had answered: no verdict
        ("unresolved", False, True),
        ("timeout", True, True),
        ("closed", True, True),
        ("garbage", True, True),
        ("status", True, True),
        ("local", False, True),
    ],
)
def test_unverified_lists_every_endpoint_without_a_verdict(
    kind: str,
    reachable: bool,
    listed: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcome = {**_NO_ANSWER, "error": kind, "reachable": reachable}
    monkeypatch.setattr(mod, "probe_many", _fake_probe_many({("127.0.0.1", 445): outcome}))
    out = _run({"targets": ["127.0.0.1"]}, capsys)
    assert out["unverified"] == (["127.0.0.1:445"] if listed else [])
    assert out["relay_list"] == []
    assert out["summary"]["unverified"] == int(listed)


def test_check_smb1_feeds_the_relay_list_and_unverified(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = _fake_probe_many(
        {
            # SMB2 requires signing, SMB1 does not: relayable over SMB1.
            ("127.0.0.1", 445): {"smb1_enabled": True, "smb1_signing_required": False},
            ("127.0.0.2", 445): {"smb1_enabled": True, "smb1_signing_required": True},
            ("127.0.0.3", 445): {"smb1_enabled": False},
            ("127.0.0.4", 445): {"smb1_enabled": None},  # the SMB1 check got no clear answer
        }
    )
    monkeypatch.setattr(mod, "probe_many", fake)
    targets = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]
    out = _run({"targets": targets, "check_smb1": True}, capsys)
    assert fake.seen["check_smb1"] is True
    assert out["relay_list"] == ["127.0.0.1:445"]
    assert out["unverified"] == ["127.0.0.4:445"]
    assert out["summary"]["smb1_enabled"] == 2
    # Without the option, an unanswered SMB1 question is not asked, so not missing either.
    out = _run({"targets": targets}, capsys)
    assert out["unverified"] == []


def test_concurrency_is_sized_from_the_open_file_limit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ansible_collections.winhardening.smb.plugins.module_utils import smb_negotiate

    fake = _fake_probe_many({})
    monkeypatch.setattr(mod, "probe_many", fake)
    monkeypatch.setattr(smb_negotiate, "descriptor_budget", lambda: 40)
    # Under pytest the warning goes to the controller's display; record it instead.
    warned: list[str] = []
    monkeypatch.setattr(mod.AnsibleModule, "warn", lambda _self, text, **_kw: warned.append(text))
    out = _run({"targets": ["127.0.0.1"]}, capsys)
    assert (out["concurrency"], fake.seen["concurrency"]) == (40, 40)
    assert warned == []
    out = _run({"targets": ["127.0.0.1"], "concurrency": 100}, capsys)
    assert (out["concurrency"], fake.seen["concurrency"]) == (40, 40)
    assert len(warned) == 1
    assert "concurrency 100 lowered to 40" in warned[0]
    monkeypatch.setattr(smb_negotiate, "descriptor_budget", lambda: None)
    out = _run({"targets": ["127.0.0.1"]}, capsys)
    assert out["concurrency"] == smb_negotiate.DEFAULT_CONCURRENCY


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("smb://fileserver01", "looks like a URL"),
        ("127.0.0.1:\u0664\u0664\u0665", "has an invalid port"),
    ],
)
def test_odd_targets_fail_with_a_message_that_says_why(
    target: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(mod, "probe_many", _fake_probe_many({}))
    out = _run({"targets": [target]}, capsys)
    assert out["failed"] is True
    assert message in out["msg"]
