#!/usr/bin/python
# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wire check of SMB signing across many endpoints (a real module; runs where it is delegated)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: smb_signing_probe
short_description: Check from the network which SMB servers do not require signing
version_added: 0.1.0
description:
  - Sends one unauthenticated SMB2 NEGOTIATE to each endpoint and reads the server's
    C(SecurityMode), where bit 0x01 means signing enabled and bit 0x02 signing required
    (MS-SMB2 2.2.4).
  - When a server closes the connection on the SMB2 request (an SMB1-only server), a second
    connection sends an SMB1 NEGOTIATE and reads bits 0x04 and 0x08 of its C(SecurityMode)
    (MS-CIFS 3.2.4.2.2), so such servers are classified rather than lost.
  - Sees every SMB server the way an auditor or an attacker does, including NAS boxes,
    appliances and Linux Samba that no playbook manages. The endpoints that answer and do
    not require signing make up the C(relay_list).
  - Each endpoint gets one overall O(deadline) that covers connecting, the SMB1 retry and every
    read, so a server that trickles its answer one byte at a time cannot stretch it. At most
    64 KiB is buffered per endpoint, whatever length the peer announces.
  - With O(check_smb1=true), a server that answered SMB2 is also sent an SMB1 NEGOTIATE on a
    second connection, so SMB1 left enabled next to SMB2 is seen and its signing bits read.
  - Each endpoint that cannot be classified gets an C(error) kind and is listed in
    C(unverified); a check for weak servers must look at both C(relay_list) and C(unverified)
    (see the examples).
  - The addresses of a name are tried within the one O(deadline), the next one starting when
    the previous one failed or has not connected after 0.25 s (RFC 8305); name resolution is
    bounded by the same deadline.
  - Fails, with all results, when this host ran out of file descriptors, socket buffers,
    memory or threads while probing (C(error=local)), because the relay list would then be
    incomplete. Otherwise fails only on invalid parameters.
  - Usually delegated to localhost or to a jump host inside the network; it needs only the
    Python standard library on that host.
author:
  - winhardening.smb maintainers (@winhardening)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode runs the same probes.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  targets:
    description:
      - Host names, IP addresses and CIDR ranges to probe, each with an optional C(:port).
      - Write IPv6 addresses and ranges in brackets when adding a port, for example
        C([2001:db8::10]:445) or C([2001:db8::/120]:445).
      - CIDR ranges expand to their usable host addresses (IPv4 ranges wider than /31 leave
        out the network and broadcast addresses).
      - Duplicate endpoints are probed once.
    type: list
    elements: str
    required: true
  port:
    description: TCP port for targets that do not name one.
    type: int
    default: 445
  concurrency:
    description:
      - How many endpoints are probed at the same time.
      - Defaults to 256, or fewer when the open-file limit (C(ulimit -n)) of the host the module
        runs on leaves less room; each endpoint in flight holds one file descriptor.
      - A larger value is lowered to what the open-file limit allows, with a warning.
    type: int
  deadline:
    description:
      - Overall time limit in seconds for one endpoint, from connect to the last byte,
        including the SMB1 retry. An endpoint that has not answered by then is reported with
        C(error=timeout).
    type: float
    default: 3.0
  check_smb1:
    description:
      - Also send an SMB1 NEGOTIATE to servers that answered SMB2, on a second connection
        within the same O(deadline), and report per endpoint whether SMB1 is accepted and
        whether it requires signing (C(smb1_enabled), C(smb1_signing_required)).
      - An endpoint that accepts SMB1 without requiring signing is then in C(relay_list) too,
        and one whose SMB1 check got no clear answer is in C(unverified).
      - Servers that speak only SMB1 are always classified over SMB1, with or without this.
    type: bool
    default: false
  max_endpoints:
    description:
      - Refuse to run when the targets expand to more endpoints than this; a guard against a
        mistyped prefix length such as C(10.0.0.0/8).
    type: int
    default: 4096
notes:
  - C(signing_required=false) means the server accepts unsigned sessions, so NTLM relay to it
    is possible. Windows applies "Microsoft network server - Digitally sign communications
    (always)" to SMB2 and SMB3; the "(if client agrees)" setting only affects SMB1.
  - SMB2 servers always set the signing-enabled bit (MS-SMB2 server negotiate processing), so C(signing_enabled)
    is informative only for SMB1.
  - Guest and anonymous sessions are exempt from signing even on servers that require it.
  - A server that requires encryption but not signing still reports C(signing_required=false);
    encryption is not visible in the negotiate.
seealso:
  - name: MS-SMB2 2.2.4 SMB2 NEGOTIATE Response
    description: The SecurityMode field the probe reads.
    link: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/63abf97c-0d09-47e2-88d6-6bfa552949a5
"""

EXAMPLES = r"""
- name: Find SMB servers that do not require signing
  winhardening.smb.smb_signing_probe:
    targets:
      - 10.0.10.0/24
      - fileserver01.corp.example
      - "[2001:db8::25]:445"
      - nas01.corp.example:10445
    concurrency: 128
    deadline: 2.0
  delegate_to: localhost
  run_once: true
  register: probe

- name: Show the relay list
  ansible.builtin.debug:
    var: probe.relay_list

- name: Fail when any domain controller accepts unsigned SMB or could not be checked
  winhardening.smb.smb_signing_probe:
    targets: "{{ groups['domain_controllers'] }}"
    check_smb1: true
  delegate_to: localhost
  run_once: true
  register: dc_probe
  failed_when: dc_probe.relay_list | length > 0 or dc_probe.unverified | length > 0
"""

RETURN = r"""
endpoints:
  description: One entry per endpoint, in the order the targets expand to.
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: The host name or address probed.
      type: str
      sample: 10.0.10.5
    port:
      description: The TCP port probed.
      type: int
      sample: 445
    reachable:
      description: Whether the TCP connection was accepted.
      type: bool
      sample: true
    dialect:
      description: The negotiated dialect (C(2.0.2), C(2.1), C(3.0), C(3.0.2), C(3.1.1)), or
        C(SMB1) when the server only spoke SMB1; null when it did not answer a negotiate.
      type: str
      sample: 3.1.1
    signing_enabled:
      description: SecurityMode bit 0x01 (SMB2) or 0x04 (SMB1); null when unanswered.
      type: bool
      sample: true
    signing_required:
      description: SecurityMode bit 0x02 (SMB2) or 0x08 (SMB1); null when unanswered.
      type: bool
      sample: false
    security_mode:
      description: The raw SecurityMode of the answer.
      type: int
      sample: 1
    server_guid:
      description: The ServerGuid from the answer (SMB1 only with extended security).
      type: str
      sample: 5d1f5a0e-7c39-4c4c-9d6e-1b0f3c0a9a11
    signing_algorithm:
      description: For SMB 3.1.1, the algorithm the server chose from the signing
        capabilities context (C(AES-GMAC), C(AES-CMAC), C(HMAC-SHA256)); else null.
      type: str
      sample: AES-GMAC
    smb1_security_mode:
      description: The SMB1 SecurityMode byte when the server answered an SMB1 NEGOTIATE (it
        refused SMB2, or O(check_smb1) asked); else null.
      type: int
      sample: 7
    smb1_enabled:
      description: True when the server answered an SMB1 NEGOTIATE, false when it refused SMB1
        (closed the connection or accepted no SMB1 dialect); null when SMB1 was not asked (a
        server that answered SMB2 without O(check_smb1)) or the SMB1 check got no clear answer.
      type: bool
      sample: false
    smb1_signing_required:
      description: Over SMB1, SecurityMode bit 0x08; null unless C(smb1_enabled) is true.
      type: bool
      sample: null
    error:
      description:
        - Null on success, else C(refused) (no TCP connection to any address),
          C(unresolved) (the name did not resolve), C(timeout) (deadline passed), C(closed)
          (connection closed or reset before a whole answer), C(garbage) (not an SMB
          negotiate answer), C(status) (an SMB error status) or C(local) (this host ran out
          of file descriptors, socket buffers, memory or threads; says nothing about the
          endpoint, and fails the task).
        - When the SMB1 check of O(check_smb1) fails after an SMB2 answer, C(error) names that
          failure and the SMB2 fields stay filled in.
      type: str
      sample: null
    detail:
      description: A human-readable account of the result or the failure; for a name with
        several addresses it says which one answered and what happened to the others.
      type: str
      sample: SMB 3.1.1, signing not required (SecurityMode 0x01)
    elapsed:
      description: Seconds spent on this endpoint.
      type: float
      sample: 0.012
summary:
  description: Counts of endpoints by outcome.
  returned: always
  type: dict
  contains:
    total:
      description: Endpoints probed.
      type: int
    signing_required:
      description: Endpoints that answered and require signing.
      type: int
    signing_not_required:
      description: Endpoints that answered and do not require signing (the relay list).
      type: int
    smb1_only:
      description: Endpoints that answered only SMB1 (counted in the two above as well).
      type: int
    smb1_enabled:
      description: Endpoints that answered an SMB1 NEGOTIATE (SMB1-only servers, and with
        O(check_smb1) servers that speak both).
      type: int
    unverified:
      description: Endpoints listed in C(unverified).
      type: int
    refused:
      description: Endpoints with C(error=refused).
      type: int
    unresolved:
      description: Endpoints with C(error=unresolved).
      type: int
    timeout:
      description: Endpoints with C(error=timeout).
      type: int
    closed:
      description: Endpoints with C(error=closed).
      type: int
    garbage:
      description: Endpoints with C(error=garbage).
      type: int
    status:
      description: Endpoints with C(error=status).
      type: int
    local:
      description: Endpoints with C(error=local); the task fails when this is not 0.
      type: int
  sample:
    total: 3
    signing_required: 1
    signing_not_required: 1
    smb1_only: 0
    smb1_enabled: 0
    unverified: 0
    refused: 1
    unresolved: 0
    timeout: 0
    closed: 0
    garbage: 0
    status: 0
    local: 0
relay_list:
  description: The endpoints that answered a negotiate and do not require signing, as
    C(address:port) (IPv6 in brackets); with O(check_smb1), also those that accept SMB1
    without requiring signing. Endpoints without an answer are never here; see C(unverified).
  returned: always
  type: list
  elements: str
  sample: ["10.0.10.7:445", "[2001:db8::25]:445"]
unverified:
  description:
    - The endpoints the probe could not classify, as C(address:port) (IPv6 in brackets).
      An empty C(relay_list) proves nothing about them.
    - Those with C(error) C(unresolved), C(timeout), C(closed), C(garbage), C(status) or
      C(local); those refused on a later connection after an SMB server had answered; and,
      with O(check_smb1), those whose SMB1 check got no clear answer. C(refused) on the first
      connection (nothing listens) is a verdict, not listed here.
  returned: always
  type: list
  elements: str
  sample: ["10.0.10.9:445"]
concurrency:
  description: How many endpoints were probed at the same time, after the open-file limit.
  returned: always
  type: int
  sample: 256
"""

from typing import Any, Dict, List

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.winhardening.smb.plugins.module_utils.smb_negotiate import (
    ERROR_KINDS,
    ProbeResult,
    accepts_unsigned,
    effective_concurrency,
    format_endpoint,
    needs_verdict,
    open_file_limit,
    probe_many,
)
from ansible_collections.winhardening.smb.plugins.module_utils.smb_targets import (
    TargetError,
    expand_targets,
)

MAX_DEADLINE = 300.0
MAX_CONCURRENCY = 1024


def summarize(results: List[ProbeResult], check_smb1: bool = False) -> Dict[str, int]:
    """Counts by outcome; every key is always present."""
    summary = {"total": len(results), "signing_required": 0, "signing_not_required": 0}
    summary["smb1_only"] = 0
    summary["smb1_enabled"] = sum(1 for r in results if r.smb1_enabled)
    summary["unverified"] = len(unverified(results, check_smb1))
    for kind in ERROR_KINDS:
        summary[kind] = 0
    for r in results:
        if r.error is not None:
            summary[r.error] += 1
            continue
        summary["signing_required" if r.signing_required else "signing_not_required"] += 1
        if r.dialect == "SMB1":
            summary["smb1_only"] += 1
    return summary


def relay_list(results: List[ProbeResult]) -> List[str]:
    """Endpoints that answered and do not require signing (over SMB2/3, or over SMB1)."""
    return [format_endpoint(r.address, r.port) for r in results if accepts_unsigned(r)]


def unverified(results: List[ProbeResult], check_smb1: bool = False) -> List[str]:
    """Endpoints without a verdict: an empty relay list says nothing about them."""
    return [format_endpoint(r.address, r.port) for r in results if needs_verdict(r, check_smb1)]


def validate(params: Dict[str, Any]) -> str:
    """An error message naming the parameter and the bad value, or an empty string."""
    if not 1 <= params["port"] <= 65535:
        return f"port: {params['port']} is not a TCP port (1-65535)"
    if params["concurrency"] is not None and not 1 <= params["concurrency"] <= MAX_CONCURRENCY:
        return f"concurrency: {params['concurrency']} is outside 1-{MAX_CONCURRENCY}"
    deadline = params["deadline"]
    if not 0 < deadline <= MAX_DEADLINE:
        return f"deadline: {deadline} is outside (0, {MAX_DEADLINE:g}] seconds"
    if params["max_endpoints"] < 1:
        return f"max_endpoints: {params['max_endpoints']} must be at least 1"
    if not params["targets"]:
        return "targets: the list is empty"
    return ""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "targets": {"type": "list", "elements": "str", "required": True},
            "port": {"type": "int", "default": 445},
            "concurrency": {"type": "int"},
            "deadline": {"type": "float", "default": 3.0},
            "check_smb1": {"type": "bool", "default": False},
            "max_endpoints": {"type": "int", "default": 4096},
        },
        supports_check_mode=True,
    )
    p = module.params
    problem = validate(p)
    if problem:
        module.fail_json(msg=problem)
    try:
        endpoints = expand_targets(p["targets"], p["port"], p["max_endpoints"])
    except TargetError as exc:
        module.fail_json(msg=str(exc))
    concurrency = effective_concurrency(p["concurrency"])
    if p["concurrency"] is not None and concurrency < p["concurrency"]:
        module.warn(
            f"concurrency {p['concurrency']} lowered to {concurrency}: the open-file limit of "
            f"this host is {open_file_limit()} and each endpoint in flight needs a descriptor"
        )
    check_smb1 = p["check_smb1"]
    results = probe_many(
        endpoints, concurrency=concurrency, deadline=p["deadline"], check_smb1=check_smb1
    )
    outcome: Dict[str, Any] = {
        "changed": False,
        "endpoints": [r.to_dict() for r in results],
        "summary": summarize(results, check_smb1),
        "relay_list": relay_list(results),
        "unverified": unverified(results, check_smb1),
        "concurrency": concurrency,
    }
    local = [r for r in results if r.error == "local"]
    if local:
        module.fail_json(
            msg=(
                f"{len(local)} of {len(results)} endpoints could not be probed because this "
                f"host ran out of resources ({local[0].detail}); the relay list is incomplete. "
                "Raise the open-file limit (ulimit -n) or lower concurrency."
            ),
            **outcome,
        )
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
