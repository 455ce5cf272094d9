"""Which smbd serves which host: one per host, or (``shared_smbd``) one per distinct policy."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Dict, List, Optional

from lab.model import HostModel
from lab.samba import START_TIMEOUT_S, SmbdInstance, SmbPolicy
from lab.wire_check import smb1_accepted, smb2_signing_required

RELOAD_CONFIRM_S = 5.0


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
        """Start every smbd at once, then wait for all listeners (blocking; run in a thread)."""
        self._addresses = dict(addresses)
        for name, model in hosts.items():
            pol = policy_for(model)
            key = pol.key if self.shared else name
            inst = self.instances.get(key)
            if inst is None:
                netbios = f"LAB-{pol.key.upper()}" if self.shared else model.computer_name
                inst = SmbdInstance(key, self.base / key, netbios, self.port)
                inst.policy = pol
                self.instances[key] = inst
            inst.addresses.append(addresses[name])
            self._host_instance[name] = key
        for inst in self.instances.values():
            inst.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        for inst in self.instances.values():
            inst.wait_ready(deadline)

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
        # Shared: the address moves to the smbd of the new policy; both restart (a reload does
        # not add or drop listeners).
        address = self._addresses[model.name]
        inst.addresses.remove(address)
        inst.stop()
        if inst.addresses:
            inst.start()
        else:
            del self.instances[key]
        target = self.instances.get(pol.key)
        if target is None:
            target = SmbdInstance(pol.key, self.base / pol.key, f"LAB-{pol.key.upper()}", self.port)
            target.policy = pol
            self.instances[pol.key] = target
        else:
            target.stop()
        target.addresses.append(address)
        target.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        for i in {key, pol.key}:
            if i in self.instances:
                self.instances[i].wait_ready(deadline)
        self._host_instance[model.name] = pol.key
        return f"moved {model.name} from {key} to {pol.key}"

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
