"""The seed's SMB2/3 client x server table, cell by cell, and the SMB1 rule."""

from __future__ import annotations

import itertools

import pytest

from ansible_collections.winhardening.smb.plugins.module_utils.effective import (
    REFUSED,
    SIGNED,
    UNSIGNED,
    effective_signing,
    effective_signing_smb1,
    smb2_signing_table,
)

# Transcribed from the "Microsoft network server: Digitally sign communications (always)" page:
# (client, server, result, footnote).
SEED_TABLE = [
    ("Required", "Required", "Signed", None),
    ("Required", "Not Required", "Signed", None),
    ("Not Required", "Required", "Signed", "Default for domain controller SMB traffic"),
    ("Not Required", "Not Required", "Not Signed", "Default for all other SMB traffic"),
]


@pytest.mark.parametrize(("client", "server", "result", "note"), SEED_TABLE)
def test_effective_signing_matches_seed_cell(
    client: str, server: str, result: str, note: str | None
) -> None:
    signed = effective_signing(client == "Required", server == "Required")
    assert signed is (result == "Signed")


@pytest.mark.parametrize(("client", "server", "result", "note"), SEED_TABLE)
def test_table_rows_match_seed_cell(
    client: str, server: str, result: str, note: str | None
) -> None:
    rows = {(r.client, r.server): r for r in smb2_signing_table()}
    row = rows[(client, server)]
    assert row.result == result
    assert row.note == note
    assert row.signed is (result == "Signed")
    assert row.client_require is (client == "Required")
    assert row.server_require is (server == "Required")


def test_table_has_exactly_the_seed_cells_in_order() -> None:
    assert [(r.client, r.server) for r in smb2_signing_table()] == [
        (c, s) for c, s, _, _ in SEED_TABLE
    ]


# SMB1, from the SMBv1 policy pages: require on one side with signing disabled on the other is
# refused; both sides able to sign (enabled or required) sign; anything else is unsigned.
# Columns: client_enable, client_require, server_enable, server_require, expected.
SMB1_CASES = [
    (False, False, False, False, UNSIGNED),
    (True, False, False, False, UNSIGNED),  # client willing, server not: nothing negotiated
    (False, False, True, False, UNSIGNED),
    (True, False, True, False, SIGNED),  # both enabled: "negotiated with clients that ... enabled"
    (False, False, False, True, REFUSED),  # server requires, client cannot sign
    (False, False, True, True, REFUSED),
    (True, False, False, True, SIGNED),
    (False, True, False, False, REFUSED),  # client requires, server has signing disabled
    (True, True, False, False, REFUSED),
    (False, True, True, False, SIGNED),  # a side that requires also signs
    (True, True, True, True, SIGNED),
    (False, True, False, True, SIGNED),
]


@pytest.mark.parametrize(("ce", "cr", "se", "sr", "expected"), SMB1_CASES)
def test_smb1(ce: bool, cr: bool, se: bool, sr: bool, expected: str) -> None:
    assert effective_signing_smb1(ce, cr, se, sr) == expected


@pytest.mark.parametrize(("ce", "cr", "se", "sr"), list(itertools.product([False, True], repeat=4)))
def test_smb1_never_weaker_than_smb2_when_it_connects(
    ce: bool, cr: bool, se: bool, sr: bool
) -> None:
    # Whenever SMB2 would sign because of a requirement, SMB1 either signs or refuses.
    result = effective_signing_smb1(ce, cr, se, sr)
    assert result in (SIGNED, UNSIGNED, REFUSED)
    if effective_signing(cr, sr):
        assert result != UNSIGNED
