"""The lab process: one asyncio loop serving every host's WinRM endpoint, the smbds, and control.

Started in the background by ``python -m lab up``; talks to the CLI and to ``LabClient`` over
a JSON-lines control socket on 127.0.0.1 whose port it writes to ``daemon.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from lab import state
from lab.faults import FAULT_KINDS, make_fault
from lab.inventory import write_inventory
from lab.model import HostModel, ModelError
from lab.reaper import become_subreaper, reap_orphans
from lab.records import HostRecorder
from lab.smb_fleet import SmbFleet, policy_for
from lab.smb_forwarder import SmbForwarder
from lab.tls import make_server_context
from lab.winrm_host import CMD_EXE_LIMIT, HostEndpoint


class Lab:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.fleet = state.read_fleet(state_dir)
        self.models: Dict[str, HostModel] = {
            h["name"]: HostModel.load(state_dir / "hosts" / f"{h['name']}.json")
            for h in self.fleet["hosts"]
        }
        self.addresses = {h["name"]: h["address"] for h in self.fleet["hosts"]}
        self.smb = SmbFleet(state_dir / "smbd", self.fleet["smb_port"], self.fleet["shared_smbd"])
        self.endpoints: Dict[str, HostEndpoint] = {}
        # Shared smbds listen on internal ports; this owns the hosts' SMB addresses.
        self.forwarder: Optional[SmbForwarder] = (
            SmbForwarder(self.fleet["smb_port"], self.smb.endpoint_of)
            if self.fleet["shared_smbd"]
            else None
        )
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()

    def log(self, msg: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {msg}", flush=True)

    async def _on_write(self, model: HostModel) -> None:
        model.save(self.dir / "hosts")
        async with self._lock:
            done = await asyncio.to_thread(self.smb.apply, model)
        if done:
            self.log(f"{model.name}: smbd {done}")
            self._write_pids()

    def _write_pids(self) -> None:
        state.write_json(self.dir / "pids.json", {"daemon": os.getpid(), "smbd": self.smb.pids()})

    async def _reap_loop(self) -> None:
        while True:
            await asyncio.sleep(2)
            reap_orphans(self._popen_pids())

    def _popen_pids(self) -> set[int]:
        return {i.proc.pid for i in self.smb.instances.values() if i.proc is not None}

    async def run(self) -> None:
        become_subreaper()
        reaper = asyncio.create_task(self._reap_loop())
        ctx = None
        if self.fleet["scheme"] == "https":
            ctx = make_server_context(self.dir / "tls")
        for name, model in self.models.items():
            self.endpoints[name] = HostEndpoint(
                model,
                self.addresses[name],
                self.fleet["winrm_port"],
                scheme=self.fleet["scheme"],
                user=self.fleet["user"],
                password=self.fleet["password"],
                recorder=HostRecorder(self.dir / "records" / f"{name}.jsonl"),
                ssl_ctx=ctx,
                on_write=self._on_write,
                max_command_line=int(self.fleet.get("max_command_line", CMD_EXE_LIMIT)),
            )
        try:
            started = time.monotonic()
            await asyncio.gather(*(e.start() for e in self.endpoints.values()))
            self.log(f"{len(self.endpoints)} WinRM endpoints listening")
            await asyncio.to_thread(self.smb.start, self.models, self.addresses)
            if self.forwarder is not None:
                await self.forwarder.start(self.addresses)
            self._write_pids()
            self.log(f"{len(self.smb.instances)} smbd up after {time.monotonic() - started:.2f} s")
            control = await asyncio.start_server(self._control, "127.0.0.1", 0)
            port = control.sockets[0].getsockname()[1]
            await asyncio.to_thread(self._check_endpoints)
            inventory = write_inventory(self.dir, self.fleet)
            state.write_json(
                self.dir / "daemon.json",
                {
                    "pid": os.getpid(),
                    "control_port": port,
                    "ready": True,
                    "inventory": str(inventory),
                    "started": time.time(),
                },
            )
            self.log(f"ready; control on 127.0.0.1:{port}")
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._stop.set)
            await self._stop.wait()
            control.close()
        finally:
            reaper.cancel()
            await self.shutdown()

    def _check_endpoints(self) -> None:
        """Every WinRM endpoint and smbd answers a TCP connect before the lab says ready."""
        for name, address in self.addresses.items():
            for port in (self.fleet["winrm_port"], self.fleet["smb_port"]):
                with socket.create_connection((address, port), timeout=5):
                    pass
            _ = name

    async def shutdown(self) -> None:
        await asyncio.gather(*(e.stop() for e in self.endpoints.values()), return_exceptions=True)
        if self.forwarder is not None:
            await self.forwarder.stop()
        for e in self.endpoints.values():
            e.recorder.close()
        await asyncio.to_thread(self.smb.stop)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            reap_orphans(set())
            if not _children():
                break
            await asyncio.sleep(0.1)
        state.write_json(self.dir / "pids.json", {"daemon": os.getpid(), "smbd": {}})
        (self.dir / "daemon.json").unlink(missing_ok=True)
        self.log("stopped")

    # -- control ----------------------------------------------------------------------------------
    async def _control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 30)
            req = json.loads(line)
            handler: Optional[Callable[..., Any]] = getattr(self, f"cmd_{req.get('cmd')}", None)
            if handler is None:
                reply: Dict[str, Any] = {
                    "ok": False,
                    "error": f"unknown command {req.get('cmd')!r}",
                }
            else:
                result = await handler(**req.get("args", {}))
                reply = {"ok": True, "result": result}
        except (ValueError, KeyError, TypeError) as exc:
            reply = {"ok": False, "error": str(exc)}
        except Exception as exc:  # the control channel must answer, whatever went wrong
            reply = {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
            }
        writer.write((json.dumps(reply) + "\n").encode())
        try:
            await writer.drain()
        finally:
            writer.close()

    def _host(self, host: str) -> HostEndpoint:
        if host not in self.endpoints:
            known = ", ".join(sorted(self.endpoints))
            raise KeyError(f"no host {host!r} in this lab; hosts: {known}")
        return self.endpoints[host]

    async def cmd_status(self) -> Dict[str, Any]:
        hosts: List[Dict[str, Any]] = []
        for name, ep in self.endpoints.items():
            m = ep.model
            inst = self.smb.instance_of(name)
            hosts.append(
                {
                    "name": name,
                    "address": ep.address,
                    "os": m.os,
                    "domain_role": m.domain_role,
                    "winrm_listening": ep.listening,
                    "faults": sorted(ep.faults),
                    "smbd_pid": inst.pid,
                    "smbd": inst.name,
                    "server_requires_signing": m.server_requires_signing,
                    "wire_requires_signing": policy_for(m).require_signing,
                    "smb1": m.smb1_enabled,
                    "busy": m.busy.to_json() if m.busy.active else None,
                }
            )
        return {
            "pid": os.getpid(),
            "fleet": self.fleet["name"],
            "hosts": hosts,
            "winrm_port": self.fleet["winrm_port"],
            "smb_port": self.fleet["smb_port"],
            "scheme": self.fleet["scheme"],
            "smbd_pids": self.smb.pids(),
            "smb_forwarder": None
            if self.forwarder is None
            else {
                "listening": len(self.forwarder.servers),
                "accepted": self.forwarder.accepted,
                "failed_upstream": self.forwarder.failed_upstream,
            },
        }

    async def cmd_fault(
        self, host: str, kind: str, once: bool = False, delay: Optional[float] = None
    ) -> Dict[str, Any]:
        ep = self._host(host)
        fault = make_fault(host, kind, once, delay)
        ep.faults[kind] = fault
        if kind == "refused":
            await ep.stop()
        return {"host": host, "fault": kind, "once": once, "meaning": FAULT_KINDS[kind]}

    async def cmd_clear_fault(self, host: str) -> Dict[str, Any]:
        ep = self._host(host)
        cleared = sorted(ep.faults)
        ep.faults.clear()
        await ep.start()
        return {"host": host, "cleared": cleared}

    async def cmd_policy_refresh(self, host: str) -> Dict[str, Any]:
        ep = self._host(host)
        changed = ep.model.policy_refresh()
        await self._on_write(ep.model)
        return {"host": host, "reverted": changed}

    async def cmd_records(self, host: str) -> Dict[str, Any]:
        return self._host(host).recorder.summary()

    async def cmd_model(self, host: str) -> Dict[str, Any]:
        return self._host(host).model.to_json()

    async def cmd_set(self, host: str, assignments: List[str]) -> Dict[str, Any]:
        ep = self._host(host)
        applied = [state.apply_assignment(ep.model, a) for a in assignments]
        await self._on_write(ep.model)
        return {
            "host": host,
            "applied": applied,
            "server_config": ep.model.config("server"),
            "client_config": ep.model.config("client"),
        }

    async def cmd_add_event(
        self, host: str, side: str, event_id: int, peer: str, time_: Optional[str] = None
    ) -> Dict[str, Any]:
        ep = self._host(host)
        when = time_ or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        ep.model.add_event(side, int(event_id), peer, when)
        ep.model.save(self.dir / "hosts")
        return {"host": host, "events": len(ep.model.events)}

    async def cmd_shutdown(self) -> Dict[str, Any]:
        self._stop.set()
        return {"stopping": os.getpid()}


def _children() -> List[int]:
    """Processes whose parent is this one (adopted smbd helpers included)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == os.getpid():
                out.append(int(entry))
    return out


def serve(state_dir: Path) -> int:
    try:
        asyncio.run(Lab(state_dir).run())
    except (ModelError, OSError, RuntimeError, ValueError) as exc:
        print(f"lab: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0
