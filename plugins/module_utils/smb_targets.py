# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn the probe's ``targets`` (hosts, IPs, CIDR ranges, optional ports) into endpoints.

The standard library's ``ipaddress`` does the address work; only the ``host:port`` and
``[v6]:port`` split is ours, because no stdlib function parses it without also accepting URLs.
The size of a range is checked before it is expanded, so ``10.0.0.0/8`` or an IPv6 /64 fails
fast with a message instead of building millions of tuples.
"""

from __future__ import annotations

import ipaddress
import re
from typing import List, Optional, Sequence, Tuple, Union

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*\.?$"
)

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


class TargetError(ValueError):
    """A target that cannot be probed; the message names the parameter and the value."""


def _port(text: str, target: str) -> int:
    # str.isdigit() and int() also take other scripts' digits ("\u0664\u0664\u0665", "\u00b2"):
    # a port is ASCII digits only.
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 65535:
        raise TargetError(f"targets: {target!r} has an invalid port {text!r} (expected 1-65535)")
    return int(text)


def split_target(target: str) -> Tuple[str, Optional[int]]:
    """Split one target into (host-or-range, port or None when it names no port)."""
    text = target.strip()
    if not text:
        raise TargetError("targets: an entry is empty")
    if "://" in text:
        raise TargetError(
            f"targets: {target!r} looks like a URL; give a host name, IP address or CIDR range, "
            "optionally with :port (for example 'fileserver01.corp.example:445')"
        )
    if text.startswith(("\\\\", "//")):
        raise TargetError(
            f"targets: {target!r} looks like a UNC path; give only the host name or IP address"
        )
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise TargetError(f"targets: {target!r} has an unclosed '['")
        host, rest = text[1:close], text[close + 1 :]
        if rest == "":
            return host, None
        if not rest.startswith(":"):
            raise TargetError(f"targets: {target!r} has text after ']' that is not ':port'")
        return host, _port(rest[1:], target)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, _port(port, target)
    return text, None  # a name, an IPv4 address or range, or a bare IPv6 literal


def _network(host: str, target: str) -> Optional[Network]:
    if "/" not in host:
        return None
    try:
        return ipaddress.ip_network(host, strict=False)
    except ValueError as exc:
        raise TargetError(f"targets: {target!r} is not a valid CIDR range ({exc})") from None


def _range_size(net: Network) -> int:
    # hosts() leaves out the network and broadcast addresses of IPv4 ranges wider than /31
    # and the subnet-router anycast address of IPv6 ranges wider than /127.
    if net.num_addresses <= 2:
        return net.num_addresses
    return net.num_addresses - (2 if net.version == 4 else 1)


def expand_targets(
    targets: Sequence[str], default_port: int = 445, max_endpoints: int = 4096
) -> List[Tuple[str, int]]:
    """Endpoints in the order given, duplicates dropped. Raises TargetError naming the target."""
    endpoints: List[Tuple[str, int]] = []
    seen = set()
    for target in targets:
        if not isinstance(target, str):
            raise TargetError(f"targets: {target!r} is not a string")
        host, port = split_target(target)
        port = default_port if port is None else port
        net = _network(host, target)
        if net is not None:
            size = _range_size(net)
            if len(endpoints) + size > max_endpoints:
                raise TargetError(
                    f"targets: {target!r} expands to {size} endpoints, which with the "
                    f"{len(endpoints)} before it exceeds max_endpoints={max_endpoints}"
                )
            addresses = [str(a) for a in net.hosts()] if size else []
        else:
            addresses = [_single_host(host, target)]
        for address in addresses:
            key = (address, port)
            if key in seen:
                continue
            if len(endpoints) >= max_endpoints:
                raise TargetError(
                    f"targets: {target!r} brings the total past max_endpoints={max_endpoints}"
                )
            seen.add(key)
            endpoints.append(key)
    return endpoints


def _single_host(host: str, target: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if ":" in host:
        raise TargetError(f"targets: {target!r} is not a valid IPv6 address")
    if not _HOSTNAME.match(host) or host.replace(".", "").isdigit():
        raise TargetError(f"targets: {target!r} is not a valid host name or IP address")
    return host
