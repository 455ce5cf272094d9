"""The state directory: resolved fleet, host models, and the model edits ``set`` can make."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Dict, Optional

from lab import busy, os_table
from lab.fleet import Fleet, FleetError, address_for, choose_subnet
from lab.model import PEER_FIELD_NAMES, REGISTRY_AREAS, HostModel, ModelError, parse_time


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def read_fleet(state_dir: Path) -> Dict[str, Any]:
    path = state_dir / "fleet.json"
    if not path.exists():
        raise FleetError(f"state dir {state_dir} holds no lab (no fleet.json); run `up` first")
    data: Dict[str, Any] = json.loads(path.read_text())
    return data


def prepare(
    state_dir: Path,
    fleet: Fleet,
    *,
    fresh: bool,
    subnet: Optional[int],
    smb_port: Optional[int],
    winrm_port: Optional[int],
) -> Dict[str, Any]:
    """Write fleet.json and one JSON per host, unless the state dir already has them (then the
    saved models win, so a lab restart keeps every change)."""
    if fresh:
        for sub in ("hosts", "records", "smbd", "tls"):
            shutil.rmtree(state_dir / sub, ignore_errors=True)
        (state_dir / "fleet.json").unlink(missing_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    existing = state_dir / "fleet.json"
    if existing.exists():
        return read_fleet(state_dir)
    wport = winrm_port or fleet.winrm_port
    sport = smb_port or fleet.smb_port
    if sport < 1024 and os.geteuid() != 0:
        raise FleetError(f"smb_port {sport} needs root")
    net = choose_subnet(wport, subnet if subnet is not None else fleet.subnet)
    resolved = {
        "name": fleet.name,
        "user": fleet.user,
        "password": fleet.password,
        "winrm_port": wport,
        "smb_port": sport,
        "scheme": fleet.scheme,
        "shared_smbd": fleet.shared_smbd,
        "subnet": net,
        "max_command_line": fleet.max_command_line,
        "connection": fleet.connection,
        "hosts": [
            {"name": h.name, "address": address_for(net, i), "domain_role": h.domain_role}
            for i, h in enumerate(fleet.hosts)
        ],
    }
    for h in fleet.hosts:
        h.save(state_dir / "hosts")
    write_json(existing, resolved)
    return resolved


_BOOL = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _bool(key: str, text: str) -> bool:
    try:
        return _BOOL[text.lower()]
    except KeyError:
        raise ModelError(f"{key}: expected true or false, got {text!r}") from None


LANGUAGE_MODES = ("FullLanguage", "ConstrainedLanguage", "RestrictedLanguage", "NoLanguage")


def apply_assignment(model: HostModel, assignment: str) -> str:
    """One ``key=value`` edit of the model.

    Keys: ``<area>.<Value>`` with area server, client, server_policy or client_policy sets a
    registry DWord (value ``absent`` removes it); ``config.<side>.<Property>`` acts like
    Set-Smb*Configuration; ``smb1``, ``audit_backport``, ``rsop_available``; ``wire_signing``
    (true, false or model) makes Samba's negotiate follow or disagree with the model;
    ``deny_writes`` (comma list of side.Property); ``rsop_error`` (RSoP unreadable with this
    text, e.g. ``Access denied``; empty clears); ``event_log_error`` (``SIDE:TEXT``: the event
    query on that side's log fails with TEXT; ``SIDE:`` clears); ``event_list_error``
    (``SIDE:TEXT``: Get-WinEvent -ListLog fails with TEXT, as for access denied to the log);
    ``event_read_stops_after`` (``SIDE:N``: the query fails at a record it cannot read after N
    events);
    ``event_log_missing`` (comma list of sides whose audit log does not exist);
    ``event_peer_field`` (``SIDE:FIELD``: the EventData field carrying the peer, ClientName,
    ClientAddress, ServerName or ``#0`` for none); ``audit_marker`` (an ISO 8601
    time, or ``absent``); ``language_mode`` (FullLanguage, ConstrainedLanguage,
    RestrictedLanguage, NoLanguage); ``domain_role``; ``os``; ``edition``. A busy host's WinRS
    answers (lab/busy.py): ``receive_timeouts=N`` (the first N Receives of a command get the
    w:TimedOut fault), ``receive_running=N`` (then N answers say Running), ``output_chunks=N``
    (stdout and stderr split across N answers), ``stderr_progress`` (CLIXML progress and a
    warning on stderr, exit code 0), ``stdout_bom`` (stdout starts with a UTF-8 BOM).
    """
    if "=" not in assignment:
        raise ModelError(f"host {model.name}: expected key=value, got {assignment!r}")
    key, value = assignment.split("=", 1)
    before = getattr(model, key, None)
    area, _, name = key.partition(".")
    if area in REGISTRY_AREAS and name:
        if value.lower() == "absent":
            model.set_registry(area, name, None)
        else:
            try:
                model.set_registry(area, name, {"type": "DWord", "data": int(value)})
            except ValueError:
                raise ModelError(f"{key}: a DWord value is an integer or 'absent'") from None
    elif area == "config" and name.count(".") == 1:
        side, prop = name.split(".")
        model.set_config(side, prop, _bool(key, value))
    elif key == "smb1":
        model.set_registry("server", "SMB1", {"type": "DWord", "data": int(_bool(key, value))})
    elif key in ("audit_backport", "rsop_available"):
        setattr(model, key, _bool(key, value))
    elif key == "wire_signing":
        model.wire_require_signing = None if value == "model" else _bool(key, value)
    elif key == "rsop_error":
        model.rsop_error = value
    elif key == "event_log_error":
        side, sep, text = value.partition(":")
        if not sep or side not in ("server", "client"):
            raise ModelError(f"{key}: expected SIDE:TEXT with SIDE server or client, got {value!r}")
        if text:
            model.event_log_error[side] = text
        else:
            model.event_log_error.pop(side, None)
    elif key in ("event_list_error", "event_read_stops_after", "event_peer_field"):
        side, sep, text = value.partition(":")
        if not sep or side not in ("server", "client"):
            raise ModelError(f"{key}: expected SIDE:VALUE, SIDE server or client, got {value!r}")
        table = getattr(model, key)
        if not text:
            table.pop(side, None)
        elif key == "event_read_stops_after":
            if not text.isdigit():
                raise ModelError(f"{key}: expected SIDE:N with N a whole number, got {value!r}")
            table[side] = int(text)
        elif key == "event_peer_field" and text not in PEER_FIELD_NAMES:
            raise ModelError(f"{key}: one of {', '.join(PEER_FIELD_NAMES)}, got {text!r}")
        else:
            table[side] = text
    elif key == "audit_marker":
        if value.lower() == "absent":
            model.audit_marker = None
        else:
            try:
                parse_time(value)
            except ValueError:
                raise ModelError(f"{key}: expected an ISO 8601 time or 'absent'") from None
            model.audit_marker = value
    elif key == "language_mode":
        if value not in LANGUAGE_MODES:
            raise ModelError(f"{key}: one of {', '.join(LANGUAGE_MODES)}, got {value!r}")
        model.language_mode = value
    elif key in busy.KNOBS:
        try:
            busy.set_knob(model.busy, key, value)
        except ValueError as exc:
            raise ModelError(f"host {model.name}: {exc}") from None
    elif key == "event_log_missing":
        sides = [v for v in value.split(",") if v]
        if any(side not in ("server", "client") for side in sides):
            raise ModelError(f"{key}: a comma list of server and client, got {value!r}")
        model.event_log_missing = sides
    elif key == "deny_writes":
        model.deny_writes = [v for v in value.split(",") if v]
    elif key == "domain_role":
        model.domain_role = int(value)
    elif key == "os":
        os_table.release(value)
        model.os = value
    elif key == "edition":
        model.edition = value
    else:
        raise ModelError(f"host {model.name}: unknown key {key!r} (see `python -m lab set --help`)")
    if key in ("domain_role", "os", "edition"):
        try:
            HostModel.from_json(model.to_json())  # the same checks as a fleet file gets
        except ModelError:
            setattr(model, key, before)
            raise
    return assignment
