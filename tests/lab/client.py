"""Talk to a running lab: the Python API that tests use, and that the CLI wraps."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any, Dict, List, Optional

from lab.state import read_fleet

CONTROL_TIMEOUT_S = 60.0


class LabError(RuntimeError):
    """The lab refused a request or is not running; the message says which."""


class LabClient:
    def __init__(self, state_dir: str | Path) -> None:
        self.state_dir = Path(state_dir)

    # -- what the state dir says --------------------------------------------------------------
    @property
    def fleet(self) -> Dict[str, Any]:
        return read_fleet(self.state_dir)

    @property
    def inventory(self) -> Path:
        return self.state_dir / "inventory.yml"

    def address(self, host: str) -> str:
        for h in self.fleet["hosts"]:
            if h["name"] == host:
                return str(h["address"])
        raise LabError(f"no host {host!r} in the lab at {self.state_dir}")

    def hosts(self) -> List[str]:
        return [str(h["name"]) for h in self.fleet["hosts"]]

    def pids(self) -> Dict[str, Any]:
        """pids.json as the lab last wrote it: ``daemon`` and ``smbd`` (name to pid); empty
        when the lab never started."""
        path = self.state_dir / "pids.json"
        if not path.exists():
            return {}
        data: Dict[str, Any] = json.loads(path.read_text())
        return data

    def daemon(self) -> Optional[Dict[str, Any]]:
        path = self.state_dir / "daemon.json"
        if not path.exists():
            return None
        data: Dict[str, Any] = json.loads(path.read_text())
        return data

    # -- control --------------------------------------------------------------------------------
    def call(self, cmd: str, **args: Any) -> Any:
        info = self.daemon()
        if info is None:
            raise LabError(f"no lab is running for {self.state_dir}")
        try:
            with socket.create_connection(
                ("127.0.0.1", info["control_port"]), timeout=CONTROL_TIMEOUT_S
            ) as sock:
                sock.sendall((json.dumps({"cmd": cmd, "args": args}) + "\n").encode())
                data = b""
                while not data.endswith(b"\n"):
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        except OSError as exc:
            raise LabError(f"the lab for {self.state_dir} does not answer: {exc}") from None
        if not data:
            raise LabError(f"the lab for {self.state_dir} closed the control connection")
        reply = json.loads(data)
        if not reply.get("ok"):
            raise LabError(str(reply.get("error")))
        return reply["result"]

    def status(self) -> Dict[str, Any]:
        result: Dict[str, Any] = self.call("status")
        return result

    def fault(self, host: str, kind: str, once: bool = False, delay: Optional[float] = None) -> Any:
        return self.call("fault", host=host, kind=kind, once=once, delay=delay)

    def clear_fault(self, host: str) -> Any:
        return self.call("clear_fault", host=host)

    def policy_refresh(self, host: str) -> Any:
        return self.call("policy_refresh", host=host)

    def records(self, host: str) -> Dict[str, Any]:
        result: Dict[str, Any] = self.call("records", host=host)
        return result

    def model(self, host: str) -> Dict[str, Any]:
        result: Dict[str, Any] = self.call("model", host=host)
        return result

    def set(self, host: str, *assignments: str) -> Any:
        return self.call("set", host=host, assignments=list(assignments))

    def add_event(
        self, host: str, side: str, event_id: int, peer: str, time: Optional[str] = None
    ) -> Any:
        return self.call(
            "add_event", host=host, side=side, event_id=event_id, peer=peer, time_=time
        )
