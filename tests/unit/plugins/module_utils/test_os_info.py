"""OS classification by product type and build."""

from __future__ import annotations

import pytest

from ansible_collections.winhardening.smb.plugins.module_utils.os_info import FAMILIES, OsInfo


def _os(build: int, product_type: int, edition: str = "") -> OsInfo:
    return OsInfo("caption", f"10.0.{build}", build, product_type, edition, "")


@pytest.mark.parametrize(
    ("build", "product_type", "family"),
    [
        (14393, 3, "windows_server_2016"),
        (14393, 2, "windows_server_2016"),
        (17763, 3, "windows_server_2019"),
        (17763, 2, "windows_server_2019"),
        (20348, 3, "windows_server_2022"),
        (20348, 2, "windows_server_2022"),
        (26100, 3, "windows_server_2025"),
        (26100, 2, "windows_server_2025"),
        (10240, 1, "windows_10"),
        (19045, 1, "windows_10"),
        (14393, 1, "windows_10"),  # Windows 10 1607 shares the build with WS2016
        (22000, 1, "windows_11"),
        (22621, 1, "windows_11"),
        (22631, 1, "windows_11_23h2"),
        (26100, 1, "windows_11_24h2"),
        (26200, 1, "windows_11_24h2"),  # later builds keep 24H2's defaults
    ],
)
def test_family(build: int, product_type: int, family: str) -> None:
    assert _os(build, product_type).family == family


@pytest.mark.parametrize(
    ("build", "product_type"),
    [
        (19041, 3),  # a semi-annual channel server build
        (25398, 3),  # Windows Server 23H2 / Azure Local
        (9600, 3),  # Windows Server 2012 R2
        (9600, 1),  # Windows 8.1
        (25381, 1),  # Insider build between 23H2 and 24H2
        (0, 1),
        (20348, 0),
        (20348, 4),
    ],
)
def test_unknown_builds_and_product_types(build: int, product_type: int) -> None:
    assert _os(build, product_type).family == "unknown"


def test_families_list_covers_every_result() -> None:
    seen = {_os(b, p).family for b in (0, 14393, 17763, 20348, 22000, 22631, 26100) for p in (1, 3)}
    assert seen <= set(FAMILIES)


def test_is_server() -> None:
    assert _os(20348, 2).is_server
    assert _os(20348, 3).is_server
    assert not _os(22631, 1).is_server
    assert _os(22631, 1).is_workstation


@pytest.mark.parametrize(
    ("edition", "group"),
    [
        ("Core", "home"),
        ("CoreSingleLanguage", "home"),
        ("Professional", "pro"),
        ("ProfessionalWorkstation", "pro"),
        ("Enterprise", "enterprise"),
        ("EnterpriseS", "enterprise"),
        ("Education", "education"),
        ("", "other"),
        ("SE", "other"),
    ],
)
def test_edition_group(edition: str, group: str) -> None:
    assert _os(26100, 1, edition).edition_group == group


def test_server_edition_group() -> None:
    assert _os(26100, 3, "ServerDatacenter").edition_group == "server"


def test_from_mapping_read_state_shape() -> None:
    info = OsInfo.from_mapping(
        {
            "caption": "Microsoft Windows Server 2022 Datacenter",
            "version": "10.0.20348",
            "build": 20348,
            "product_type": 2,
            "edition_id": "ServerDatacenter",
            "display_version": "21H2",
        }
    )
    assert info == OsInfo(
        "Microsoft Windows Server 2022 Datacenter",
        "10.0.20348",
        20348,
        2,
        "ServerDatacenter",
        "21H2",
    )
    assert info.family == "windows_server_2022"


def test_from_mapping_tolerates_missing_text_and_string_build() -> None:
    info = OsInfo.from_mapping({"build": "26100", "product_type": "1", "edition_id": None})
    assert (info.build, info.product_type, info.edition_id, info.caption) == (26100, 1, "", "")
    assert info.family == "windows_11_24h2"


def test_from_mapping_takes_build_from_version() -> None:
    assert OsInfo.from_mapping({"version": "10.0.17763", "product_type": 3}).build == 17763


def test_from_mapping_unparseable_build_is_unknown_not_a_crash() -> None:
    info = OsInfo.from_mapping({"version": "garbage", "product_type": 3})
    assert info.build == 0
    assert info.family == "unknown"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"build": 20348}, "product_type is missing"),
        ({"build": 20348, "product_type": "server"}, "product_type must be an integer"),
        ({"build": 20348, "product_type": True}, "product_type must be an integer"),
        ({"build": "20348.1", "product_type": 3}, "build must be an integer"),
    ],
)
def test_from_mapping_errors_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OsInfo.from_mapping(data)


def test_from_mapping_rejects_non_mapping() -> None:
    with pytest.raises(ValueError, match="os must be a mapping"):
        OsInfo.from_mapping(["x"])  # type: ignore[arg-type]
