"""Answer a recognised script from the host model, as Windows would answer the real script."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from lab import model as model_module
from lab.clixml import error_clixml
from lab.model import REPORTED_VALUES, HostModel, ModelError
from lab.script_reader import (
    BOOTSTRAP_CLM_ERROR,
    Bootstrap,
    ModuleWrapper,
    ProtocolScript,
    RawCommand,
    Script,
    Unknown,
)


@dataclass
class Outcome:
    rc: int
    stdout: str
    stderr: str
    # What the records keep: the op, what was read, and what was written.
    record: Dict[str, Any] = field(default_factory=dict)
    wrote: bool = False


# What PowerShell says when a script calls a method of a non-core type outside FullLanguage
# (about_Language_Modes; the collection's scripts call RegistryKey.GetValue before anything else
# that would fail).
CLM_METHOD_ERROR = (
    "Cannot invoke method. Method invocation is supported only on core types in this language mode."
)


def run(model: HostModel, script: Script) -> Outcome:
    clm = model.language_mode != "FullLanguage"
    if clm and (isinstance(script, Bootstrap) or getattr(script, "via_bootstrap", False)):
        # The bootstrap's first line: a clear error, nothing read or written.
        message = BOOTSTRAP_CLM_ERROR.format(mode=model.language_mode)
        return _fail(message, {"op": "language_mode", "language_mode": model.language_mode})
    if clm and isinstance(script, ProtocolScript):
        # A script sent without the bootstrap meets the restriction at its first method call.
        return _fail(CLM_METHOD_ERROR, {"op": script.op, "language_mode": model.language_mode})
    if isinstance(script, ProtocolScript):
        try:
            if script.op == "read_state":
                return _read_state(model, script)
            return _apply(model, script)
        except RequestError as exc:
            return _fail(f"lab: bad $Request for {script.op}: {exc}", {"op": script.op})
    if isinstance(script, RawCommand):
        return _raw(model, script)
    if isinstance(script, ModuleWrapper):
        return _fail(
            "lab: this is Ansible's PowerShell module wrapper; the lab cannot run Ansible "
            "PowerShell modules (use ansible.builtin.raw or the collection's action plugins)",
            {"op": "module_wrapper"},
        )
    if isinstance(script, Bootstrap):
        # The bootstrap reads its script from stdin; the endpoint hands that over (read_stdin).
        return _fail(
            "lab: the collection's bootstrap ran without a script on stdin",
            {"op": "unknown", "reason": "bootstrap without stdin"},
        )
    assert isinstance(script, Unknown)
    excerpt = script.text[:200].replace("\n", "\\n")
    return _fail(
        f"lab: the lab does not understand this script ({script.reason}): {excerpt}",
        {"op": "unknown", "reason": script.reason},
    )


class RequestError(ValueError):
    pass


def _fail(message: str, record: Dict[str, Any]) -> Outcome:
    return Outcome(1, "", error_clixml(message), {**record, "rc": 1, "error": message})


def _dump(obj: Dict[str, Any]) -> str:
    # ConvertTo-Json -Compress prints one line; Windows ends console output with CRLF.
    return json.dumps(obj, separators=(",", ":")) + "\r\n"


def _read_state(model: HostModel, script: ProtocolScript) -> Outcome:
    req = script.request
    unknown = set(req) - {"events_since", "max_peers", "max_events"}
    if unknown:
        raise RequestError(f"unknown keys {sorted(unknown)}")
    since = req.get("events_since")
    if since is not None and not isinstance(since, str):
        raise RequestError("events_since must be null or an ISO 8601 string")
    max_peers = req.get("max_peers", 50)
    if not isinstance(max_peers, int) or isinstance(max_peers, bool) or max_peers < 0:
        raise RequestError("max_peers must be a non-negative integer")
    max_events = req.get("max_events")
    if since is not None and (
        not isinstance(max_events, int) or isinstance(max_events, bool) or max_events < 1
    ):
        # -MaxEvents takes a positive Int64; without it the read would be unbounded.
        raise RequestError("max_events must be a positive integer when events_since is given")
    if since is not None:
        try:
            model_module.parse_time(since)
        except ValueError:
            raise RequestError(f"events_since is not an ISO 8601 time: {since!r}") from None
    registry = _registry(model)
    result = {
        "op": "read_state",
        "v": 2,
        "computer_name": model.computer_name,
        "os": model.os_info(),
        "domain_role": model.domain_role,
        "registry": registry,
        "server_config": model.config("server"),
        "client_config": model.config("client"),
        "parameters": model.parameters(),
        "rsop": model.rsop_view(),
        "events": (
            None if since is None else model.events_view(since, max_peers, int(max_events or 0))
        ),
        "markers": model.markers_view(),
    }
    return Outcome(0, _dump(result), "", {"op": "read_state", "reads": sorted(registry)})


def _apply(model: HostModel, script: ProtocolScript) -> Outcome:
    req = script.request
    unknown = set(req) - {"server", "client", "sync_marker"}
    if unknown:
        raise RequestError(f"unknown keys {sorted(unknown)}")
    sync = req.get("sync_marker")
    if sync not in (None, "set", "clear"):
        raise RequestError(f"sync_marker must be null, 'set' or 'clear', got {sync!r}")
    results: List[Dict[str, Any]] = []
    writes: List[Dict[str, Any]] = []
    for side in ("server", "client"):
        props = req.get(side) or {}
        if not isinstance(props, dict):
            raise RequestError(f"{side} must be an object of property: bool")
        for prop, value in props.items():
            if not isinstance(value, bool):
                raise RequestError(f"{side}.{prop} must be true or false, got {value!r}")
    for side in ("server", "client"):
        for prop, value in (req.get(side) or {}).items():
            error: Optional[str] = None
            try:
                model.set_config(side, prop, value)
                writes.append({"side": side, "property": prop, "value": value})
            except ModelError as exc:
                error = str(exc)
            results.append(
                {
                    "side": side,
                    "property": prop,
                    "value": value,
                    "ok": error is None,
                    "error": error,
                }
            )
    marker_before = model.audit_marker
    marker_error: Optional[str] = None
    if sync:
        try:
            model.sync_marker(sync, model_module.utc_now())
        except ModelError as exc:  # pragma: no cover - the model has no marker failure yet
            marker_error = str(exc)
    result = {
        "op": "apply",
        "v": 2,
        "results": results,
        "server_config": model.config("server"),
        "client_config": model.config("client"),
        "registry": _registry(model),
        "markers": model.markers_view(),
        "marker_error": marker_error,
    }
    record: Dict[str, Any] = {
        "op": "apply",
        "writes": writes,
        "failed": [r for r in results if not r["ok"]],
    }
    marker_changed = model.audit_marker != marker_before
    if marker_changed:
        record["marker"] = {"before": marker_before, "after": model.audit_marker}
    return Outcome(0, _dump(result), "", record, wrote=bool(writes) or marker_changed)


def _registry(model: HostModel) -> Dict[str, Dict[str, Any]]:
    """The four registry groups read_state and the apply read-back report."""
    return {
        area: {name: model.registry_value(area, name) for name in names}
        for area, names in REPORTED_VALUES.items()
    }


def _raw(model: HostModel, script: RawCommand) -> Outcome:
    out: List[str] = []
    for verb, args in script.statements:
        if verb == "exit":
            try:
                rc = int(args[0]) if args else 0
            except ValueError:
                return _fail(f"lab: exit needs an integer, got {args[0]!r}", {"op": "raw"})
            return Outcome(rc, "".join(out), "", {"op": "raw", "text": script.text, "rc": rc})
        if verb == "hostname":
            out.append(model.computer_name + "\r\n")
        else:
            out.extend(f"{a}\r\n" for a in args)
    return Outcome(0, "".join(out), "", {"op": "raw", "text": script.text, "rc": 0})
