"""Target expansion: host, IP, CIDR, optional port, IPv6 in brackets, the max_endpoints guard."""

from __future__ import annotations

import re

import pytest

from ansible_collections.winhardening.smb.plugins.module_utils.smb_targets import (
    TargetError,
    expand_targets,
)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("127.0.0.1", [("127.0.0.1", 445)]),
        ("127.0.0.1:10445", [("127.0.0.1", 10445)]),
        ("files.corp.example", [("files.corp.example", 445)]),
        ("files.corp.example:139", [("files.corp.example", 139)]),
        ("::1", [("::1", 445)]),
        ("[::1]", [("::1", 445)]),
        ("[::1]:10445", [("::1", 10445)]),
        ("[0:0::1]:10445", [("::1", 10445)]),
        ("127.0.0.4/30", [("127.0.0.5", 445), ("127.0.0.6", 445)]),
        ("127.0.0.5/30:99", [("127.0.0.5", 99), ("127.0.0.6", 99)]),  # host bits allowed
        ("127.0.0.7/32", [("127.0.0.7", 445)]),
        ("127.0.0.8/31", [("127.0.0.8", 445), ("127.0.0.9", 445)]),
        ("[::/127]:1", [("::", 1), ("::1", 1)]),
        ("[fd00::/126]", [("fd00::1", 445), ("fd00::2", 445), ("fd00::3", 445)]),
        (" 127.0.0.1 ", [("127.0.0.1", 445)]),
    ],
)
def test_forms(target: str, expected: list[tuple[str, int]]) -> None:
    assert expand_targets([target]) == expected


def test_order_kept_and_duplicates_dropped() -> None:
    got = expand_targets(["127.0.0.2", "127.0.0.0/30", "127.0.0.2:445", "127.0.0.2:446"])
    assert got == [("127.0.0.2", 445), ("127.0.0.1", 445), ("127.0.0.2", 446)]


def test_default_port_applies_only_without_a_port() -> None:
    assert expand_targets(["127.0.0.1", "127.0.0.2:1"], default_port=10445) == [
        ("127.0.0.1", 10445),
        ("127.0.0.2", 1),
    ]


def test_guard_checks_size_before_expanding() -> None:
    # An IPv6 /64 would never finish expanding; the guard must refuse it from the prefix alone.
    with pytest.raises(TargetError, match=r"'\[fd00::/64\]' expands to 18446744073709551615"):
        expand_targets(["[fd00::/64]"])


def test_guard_counts_across_targets_and_names_the_one_that_overflows() -> None:
    expand_targets(["127.0.1.0/24"], max_endpoints=254)
    with pytest.raises(
        TargetError, match=re.escape("'127.0.2.0/24' expands to 254 endpoints, which with the 10")
    ):
        expand_targets([f"127.0.0.{i}" for i in range(1, 11)] + ["127.0.2.0/24"], max_endpoints=256)
    with pytest.raises(
        TargetError, match=re.escape("'127.0.0.3' brings the total past max_endpoints=2")
    ):
        expand_targets(["127.0.0.1", "127.0.0.2", "127.0.0.3"], max_endpoints=2)


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("127.0.0.1:0", "invalid port '0'"),
        ("127.0.0.1:65536", "invalid port '65536'"),
        ("127.0.0.1:x", "invalid port 'x'"),
        ("[::1", "unclosed"),
        ("[::1]x", "not ':port'"),
        ("::zz", "not a valid IPv6"),
        ("127.0.0.0/33", "not a valid CIDR"),
        ("999.1.1.1", "not a valid host name or IP"),
        ("bad host", "not a valid host name"),
        ("-leading.example", "not a valid host name"),
        ("http://x", "looks like a URL"),
        ("smb://fileserver01", "looks like a URL"),
        ("smb://fileserver01:445/share", "looks like a URL"),
        ("\\\\fileserver01\\share", "looks like a UNC path"),
        ("//fileserver01/share", "looks like a UNC path"),
        # Digits of other scripts pass str.isdigit() and int(): a port is ASCII digits only.
        ("127.0.0.1:\u0664\u0664\u0665", "invalid port"),  # Arabic-Indic 445
        ("127.0.0.1:\uff14\uff14\uff15", "invalid port"),  # fullwidth 445
        ("[::1]:\u0966\u0967", "invalid port"),  # Devanagari 01
        ("127.0.0.1:\u00b2", "invalid port"),  # superscript two: isdigit() but not int()
    ],
)
def test_bad_targets_name_the_parameter_and_value(target: str, fragment: str) -> None:
    with pytest.raises(TargetError) as info:
        expand_targets([target])
    assert str(info.value).startswith("targets: ")
    assert fragment in str(info.value)
