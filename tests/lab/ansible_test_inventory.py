"""The INI inventory ``ansible-test windows-integration --inventory PATH`` reads, for a running lab.

ansible-test takes a Windows inventory in the form of its ``inventory.winrm`` template: INI, the
hosts in a ``[windows]`` group. This file writes the same hosts and connection variables as the
lab's YAML inventory (``inventory.py``, one source for both), plus the template's ``winrm`` and
``testhost`` groups, and ``smb_signing_probe_port`` (where each host's smbd listens) so the
integration targets probe the lab's SMB port instead of 445.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

from lab.client import LabError
from lab.inventory import build_inventory
from lab.state import read_fleet

HEADER = (
    "# Written by `python -m lab inventory --ansible-test PATH` for a running lab (a simulated\n"
    "# Windows fleet, not Windows). For a real host, start from\n"
    "# tests/integration/inventory.winrm.template instead.\n"
)


def _ini_value(value: Any) -> str:
    """One INI value as Ansible's INI inventory reads it back. Ansible splits a host line with
    shlex, then reads each value with ``ast.literal_eval`` (a string that is no Python literal
    stays a string). So a plain word that is no literal goes as is, and any other string as its
    Python repr, shell-quoted: the split gives the repr back, and literal_eval the string."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if re.fullmatch(r"[A-Za-z0-9_.:/@+-]+", text):
        try:
            ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
    return shlex.quote(repr(text))


def render(fleet: Dict[str, Any], only: Optional[Iterable[str]] = None) -> str:
    """The INI text for a fleet (the lab's fleet.json), for every host or those in ``only``."""
    hosts: Dict[str, Dict[str, Any]] = build_inventory(fleet)["all"]["children"]["windows"]["hosts"]
    wanted = set(hosts) if only is None else set(only)
    unknown = sorted(wanted - set(hosts))
    if unknown:
        raise LabError(f"no host {', '.join(unknown)} in the lab")
    lines: List[str] = [HEADER, "[windows]"]
    for name, variables in hosts.items():
        if name not in wanted:
            continue
        pairs = " ".join(f"{key}={_ini_value(value)}" for key, value in variables.items())
        lines.append(f"{name} {pairs}")
    lines += ["", "[winrm:children]", "windows", "", "[testhost:children]", "windows", ""]
    return "\n".join(lines)


def write(state_dir: Path, path: Path, only: Optional[Iterable[str]] = None) -> Path:
    """Write the INI inventory of the lab running from ``state_dir`` to ``path`` (0600: it holds
    the lab's password), with every host or those in ``only``."""
    text = render(read_fleet(state_dir), only)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(text)
    return path
