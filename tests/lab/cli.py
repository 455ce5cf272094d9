"""``python -m lab``: start, inspect, steer and stop a simulated Windows fleet."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, List, Optional

import yaml

from lab import ansible_test_inventory, lifecycle
from lab.busy import Busy
from lab.client import LabClient, LabError
from lab.daemon import serve
from lab.faults import FAULT_KINDS
from lab.fleet import FleetError, generate_fleet
from lab.model import ModelError
from lab.state import apply_assignment


def _state_dir(value: Optional[str]) -> Path:
    chosen = value or os.environ.get("LAB_STATE_DIR")
    if not chosen:
        raise LabError("no state dir: pass --state-dir DIR or set LAB_STATE_DIR")
    return Path(chosen)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def cmd(name: str, help_text: str, host: bool = False) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_text, description=help_text)
        sp.add_argument("--state-dir", help="the lab's state directory (or $LAB_STATE_DIR)")
        if host:
            sp.add_argument("host", help="inventory name of the host")
        return sp

    up = cmd("up", "start a fleet in the background; print the inventory path")
    up.add_argument("--fleet", required=True, help="fleet YAML file")
    up.add_argument("--fresh", action="store_true", help="forget saved host models first")
    up.add_argument("--subnet", type=int, help="second octet S of 127.S.x.y (default: random free)")
    up.add_argument("--smb-port", type=int, help="port for every smbd (445 needs root)")
    up.add_argument("--winrm-port", type=int, help="WinRM port on every host address")
    cmd("status", "show the fleet and its processes")
    inv = cmd("inventory", "write an inventory of the running lab for another tool")
    inv.add_argument(
        "--ansible-test",
        required=True,
        metavar="PATH",
        help="write the INI inventory `ansible-test windows-integration --inventory` reads",
    )
    inv.add_argument(
        "--host",
        action="append",
        dest="hosts",
        metavar="NAME",
        help="only this host (repeatable; default: every host)",
    )
    cmd("down", "stop every process the lab started")
    sv = cmd("serve", "run the lab in the foreground (what `up` starts)")
    sv.set_defaults(internal=True)
    f = cmd("fault", "make a host show a fault", host=True)
    f.add_argument(
        "kind",
        choices=sorted(FAULT_KINDS),
        help="; ".join(f"{k}: {v}" for k, v in FAULT_KINDS.items()),
    )
    f.add_argument("--once", action="store_true", help="fire once, then clear")
    f.add_argument("--delay", type=float, help="seconds, for slow")
    cmd("clear-fault", "clear every fault of a host", host=True)
    cmd("policy-refresh", "re-apply the host's GPOs, reverting local changes", host=True)
    cmd("records", "print the host's records as JSON", host=True)
    cmd("model", "print the host's model as JSON", host=True)
    s = cmd(
        "set",
        "change the host's model: " + (apply_assignment.__doc__ or "").split("\n")[0],
        host=True,
    )
    s.add_argument(
        "assignments",
        nargs="+",
        metavar="key=value",
        help=(apply_assignment.__doc__ or "").split("\n\n", 1)[-1],
    )
    e = cmd("add-event", "add an SMB signing audit event", host=True)
    e.add_argument("--side", choices=("server", "client"), required=True)
    e.add_argument(
        "--id",
        type=int,
        required=True,
        dest="event_id",
        help="3021/3022 (server), 31998/31999 (client)",
    )
    e.add_argument("--peer", required=True, help="the peer's name or address")
    e.add_argument("--time", help="ISO 8601 UTC, default now")
    g = sub.add_parser("gen-fleet", help="print a generated fleet of N hosts as YAML")
    g.add_argument("count", type=int)
    return p


def _print(obj: Any) -> None:
    print(json.dumps(obj, indent=2, sort_keys=True))


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (LabError, FleetError, ModelError) as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1


def _busy_text(knobs: Any) -> str:
    """The busy-host knobs that are on, for the status line (lab/busy.py)."""
    if not knobs:
        return ""
    quiet = Busy().to_json()
    on = [f"{k}={str(v).lower()}" for k, v in knobs.items() if v != quiet.get(k)]
    return " busy " + ",".join(on)


def _run(args: argparse.Namespace) -> int:
    if args.command == "gen-fleet":
        print(yaml.safe_dump(generate_fleet(args.count), sort_keys=False), end="")
        return 0
    state_dir = _state_dir(args.state_dir)
    client = LabClient(state_dir)
    if args.command == "serve":
        return serve(state_dir.resolve())
    if args.command == "up":
        inventory = lifecycle.up(
            Path(args.fleet),
            state_dir,
            fresh=args.fresh,
            subnet=args.subnet,
            smb_port=args.smb_port,
            winrm_port=args.winrm_port,
        )
        print(inventory)
        return 0
    if args.command == "inventory":
        print(ansible_test_inventory.write(state_dir, Path(args.ansible_test), args.hosts))
        return 0
    if args.command == "down":
        report = lifecycle.down(state_dir)
        _print(report)
        return 1 if report["still_listening"] else 0
    if args.command == "status":
        st = client.status()
        print(
            f"lab {st['fleet']} pid {st['pid']} winrm {st['scheme']}:{st['winrm_port']} "
            f"smb {st['smb_port']}"
        )
        for h in st["hosts"]:
            print(
                f"  {h['name']:<15} {h['address']:<15} {h['os']:<20} role {h['domain_role']} "
                f"winrm {'up' if h['winrm_listening'] else 'DOWN'} smbd {h['smbd_pid']} "
                f"require={h['server_requires_signing']} wire={h['wire_requires_signing']} "
                f"smb1={h['smb1']} faults={','.join(h['faults']) or '-'}"
                + _busy_text(h.get("busy"))
            )
        return 0
    if args.command == "fault":
        _print(client.fault(args.host, args.kind, args.once, args.delay))
    elif args.command == "clear-fault":
        _print(client.clear_fault(args.host))
    elif args.command == "policy-refresh":
        _print(client.policy_refresh(args.host))
    elif args.command == "records":
        _print(client.records(args.host))
    elif args.command == "model":
        _print(client.model(args.host))
    elif args.command == "set":
        _print(client.set(args.host, *args.assignments))
    elif args.command == "add-event":
        _print(client.add_event(args.host, args.side, args.event_id, args.peer, args.time))
    return 0
