# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a client and a server end up signing, given their settings.

SMB2/3: the client x server table of the "Microsoft network server: Digitally sign communications
(always)" policy page (learn.microsoft.com/windows/security/threat-protection/
security-policy-settings/microsoft-network-server-digitally-sign-communications-always): signed
when either side requires it. EnableSecuritySignature is ignored by SMB 2.02 and later ("Overview
of Server Message Block signing", learn.microsoft.com/troubleshoot/windows-server/networking/
overview-server-message-block-signing), so only the two "require" values take part.

SMB1 uses enable and require on both sides. The SMBv1 policy pages
(.../smbv1-microsoft-network-server-digitally-sign-communications-if-client-agrees and
.../smbv1-microsoft-network-client-digitally-sign-communications-if-server-agrees) say:
- "If server-side SMB signing is required, a client device will not be able to establish a
  session with that server, unless it has client-side SMB signing enabled."
- "if client-side SMB signing is required, that client device will not be able to establish a
  session with servers that do not have packet signing enabled."
- "If server-side SMB signing is enabled, SMB packet signing will be negotiated with client
  computers that have SMB signing enabled."
A side that requires signing also signs, so "require" implies "enable" here. Hence: refused when
one side requires and the other has signing disabled; signed when both sides have signing
enabled (or required); unsigned otherwise.

Eight booleans do not warrant a library; this is the whole rule.
"""

from __future__ import annotations

from dataclasses import dataclass

SIGNED = "signed"
UNSIGNED = "unsigned"
REFUSED = "refused"


def effective_signing(client_require: bool, server_require: bool) -> bool:
    """SMB2/3: True when the session is signed, which happens when either side requires it."""
    return bool(client_require) or bool(server_require)


def effective_signing_smb1(
    client_enable: bool, client_require: bool, server_enable: bool, server_require: bool
) -> str:
    """SMB1: "signed", "unsigned", or "refused" (one side requires, the other cannot sign)."""
    client_can_sign = bool(client_enable) or bool(client_require)
    server_can_sign = bool(server_enable) or bool(server_require)
    if (client_require and not server_can_sign) or (server_require and not client_can_sign):
        return REFUSED
    if client_can_sign and server_can_sign:
        return SIGNED
    return UNSIGNED


@dataclass(frozen=True)
class TableRow:
    """One cell of the seed's SMB2/3 table, with the labels the Microsoft page uses."""

    client: str
    server: str
    client_require: bool
    server_require: bool
    signed: bool
    result: str
    note: str | None


# The footnotes of the Microsoft table, keyed by (client_require, server_require).
_NOTES = {
    (False, True): "Default for domain controller SMB traffic",
    (False, False): "Default for all other SMB traffic",
}


def _label(required: bool) -> str:
    return "Required" if required else "Not Required"


def smb2_signing_table() -> tuple[TableRow, ...]:
    """The SMB2/3 table as rows (client Required first, then server Required first)."""
    rows = []
    for client_require in (True, False):
        for server_require in (True, False):
            signed = effective_signing(client_require, server_require)
            rows.append(
                TableRow(
                    client=_label(client_require),
                    server=_label(server_require),
                    client_require=client_require,
                    server_require=server_require,
                    signed=signed,
                    result="Signed" if signed else "Not Signed",
                    note=_NOTES.get((client_require, server_require)),
                )
            )
    return tuple(rows)
