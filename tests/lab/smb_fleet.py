"""Which smbd serves which host: one per host, or (``shared_smbd``) one per distinct policy.

Per host: each smbd owns its host's address and a policy change is a SIGHUP reload. Shared: each
policy's smbd listens on an internal port and ``SmbForwarder`` routes the hosts' addresses to it,
so a policy change is a routing change and no host's port ever closes.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from lab.model import HostModel
from lab.samba import START_TIMEOUT_S, SmbdInstance, SmbPolicy
from lab.wire_check import smb1_accepted, smb2_signing_required

RELOAD_CONFIRM_S = 5.0
# Shared smbds listen here only, each on its own port; ``up`` picks free ones.
INTERNAL_ADDRESS = "127.0.0.1"


def free_port(address: str) -> int:
    """A port free on ``address`` now (the kernel picks it); smbd binds it right after."""
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def policy_for(model: HostModel) -> SmbPolicy:
    required = model.server_requires_signing
    if model.wire_require_signing is not None:
        required = model.wire_require_signing
    return SmbPolicy(required, model.smb1_enabled)


class SmbFleet:
    def __init__(self, base: Path, port: int, shared: bool) -> None:
        self.base = base
        self.port = port
        self.shared = shared
        self.instances: Dict[str, SmbdInstance] = {}
        self._host_instance: Dict[str, str] = {}
        self._addresses: Dict[str, str] = {}

    def start(self, hosts: Dict[str, HostModel], addresses: Dict[str, str]) -> None:
        """Start every smbd at once, then wait for all listeners (blocking; run in a thread).

        Shared: one smbd per policy in use, each on its own internal port on 127.0.0.1; the
        lab's ``SmbForwarder`` owns the hosts' addresses.
        """
        self._addresses = dict(addresses)
        for name, model in hosts.items():
            pol = policy_for(model)
            if self.shared:
                if pol.key not in self.instances:
                    self._shared_instance(pol)
                self._host_instance[name] = pol.key
            else:
                self._host_instance_for(model, pol).addresses.append(addresses[name])
                self._host_instance[name] = name
        for inst in self.instances.values():
            inst.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        for inst in self.instances.values():
            inst.wait_ready(deadline)

    def _host_instance_for(self, model: HostModel, pol: SmbPolicy) -> SmbdInstance:
        inst = SmbdInstance(model.name, self.base / model.name, model.computer_name, self.port)
        inst.policy = pol
        self.instances[model.name] = inst
        return inst

    def _shared_instance(self, pol: SmbPolicy) -> SmbdInstance:
        """Create (not start) the policy's smbd on a free internal port."""
        inst = SmbdInstance(
            pol.key, self.base / pol.key, f"LAB-{pol.key.upper()}", free_port(INTERNAL_ADDRESS)
        )
        inst.policy = pol
        inst.addresses.append(INTERNAL_ADDRESS)
        self.instances[pol.key] = inst
        return inst

    def endpoint_of(self, host: str) -> Tuple[str, int]:
        """Where a connection to the host goes now (shared mode; read at each accept)."""
        inst = self.instances[self._host_instance[host]]
        return INTERNAL_ADDRESS, inst.port

    def apply(self, model: HostModel) -> Optional[str]:
        """Make the wire follow the model after a write; returns what was done (for the log)."""
        pol = policy_for(model)
        key = self._host_instance[model.name]
        inst = self.instances[key]
        if not self.shared:
            if inst.policy == pol:
                return None
            inst.policy = pol
            started = time.monotonic()
            inst.reload()
            self._confirm(self._addresses[model.name], pol)
            return f"reloaded {key} ({pol.key}) in {time.monotonic() - started:.3f} s"
        if pol.key == key:
            return None
        # Shared: start the new policy's smbd if none runs yet, then route the host's next
        # connections to it. No smbd restarts and no listener closes; connections already open
        # stay with the old smbd until the client closes them.
        target = self.instances.get(pol.key)
        if target is None:
            target = self._shared_instance(pol)
            target.start()
            target.wait_ready(time.monotonic() + START_TIMEOUT_S)
        self._host_instance[model.name] = pol.key
        started = time.monotonic()
        self._confirm(self._addresses[model.name], pol)
        return (
            f"routed {model.name} from {key} to {pol.key} "
            f"(wire confirmed in {time.monotonic() - started:.3f} s)"
        )

    def _confirm(self, address: str, pol: SmbPolicy) -> None:
        """Wait until a new connection negotiates the new policy (bounded)."""
        deadline = time.monotonic() + RELOAD_CONFIRM_S
        while True:
            if (
                smb2_signing_required(address, self.port) == pol.require_signing
                and smb1_accepted(address, self.port) == pol.smb1
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"smbd on {address}:{self.port} still negotiates the old "
                    f"policy {RELOAD_CONFIRM_S:.0f} s after a reload to {pol.key}"
                )
            time.sleep(0.02)

    def instance_of(self, host: str) -> SmbdInstance:
        return self.instances[self._host_instance[host]]

    def pids(self) -> Dict[str, int]:
        return {k: i.pid for k, i in self.instances.items() if i.pid is not None}

    def stop(self) -> List[str]:
        stopped = []
        for key, inst in list(self.instances.items()):
            inst.stop()
            stopped.append(key)
        return stopped
