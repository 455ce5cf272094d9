# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Windows release a host runs, from Win32_OperatingSystem, for version-aware defaults.

ProductType (Win32_OperatingSystem, learn.microsoft.com/windows/win32/cimwin32prov/
win32-operatingsystem): 1 workstation, 2 domain controller, 3 server. Builds: Windows Server 2016
14393, 2019 17763, 2022 20348, 2025 26100; Windows 11 21H2 22000, 22H2 22621, 23H2 22631, 24H2
26100; Windows 10 is every client build below 22000 (Windows release information pages,
learn.microsoft.com/windows/release-health/windows-server-release-info and
windows11-release-information).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PRODUCT_TYPE_WORKSTATION = 1
PRODUCT_TYPE_DOMAIN_CONTROLLER = 2
PRODUCT_TYPE_SERVER = 3

# Server releases are matched on the exact build: an unknown server build (a semi-annual channel
# release, Azure Local, an Insider build) has unknown defaults and maps to "unknown".
SERVER_FAMILIES: Mapping[int, str] = {
    14393: "windows_server_2016",
    17763: "windows_server_2019",
    20348: "windows_server_2022",
    26100: "windows_server_2025",
}

WINDOWS_10_FIRST_BUILD = 10240
WINDOWS_11_FIRST_BUILD = 22000
WINDOWS_11_23H2_BUILD = 22631
WINDOWS_11_24H2_BUILD = 26100

FAMILIES = (
    "windows_server_2016",
    "windows_server_2019",
    "windows_server_2022",
    "windows_server_2025",
    "windows_10",
    "windows_11",
    "windows_11_23h2",
    "windows_11_24h2",
    "unknown",
)

# EditionID prefixes of Windows Home ("Core", "CoreN", "CoreSingleLanguage",
# "CoreCountrySpecific"). 24H2 requires signing on Pro, Enterprise and Education but not Home
# (smb-signing.md, "Control SMB signing behavior").
HOME_EDITION_PREFIX = "Core"
_PRO_PREFIXES = ("Professional",)
_ENTERPRISE_PREFIXES = ("Enterprise", "IoTEnterprise", "ServerRdsh")
_EDUCATION_PREFIXES = ("Education",)


def _as_int(value: object, key: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"os.{key} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValueError(f"os.{key} must be an integer, got {value!r}")


def _as_text(value: object) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class OsInfo:
    """The OS fields read_state returns under "os"."""

    caption: str
    version: str
    build: int
    product_type: int
    edition_id: str = ""
    display_version: str = ""

    @property
    def is_server(self) -> bool:
        """True on Windows Server (ProductType 2 or 3)."""
        return self.product_type in (PRODUCT_TYPE_DOMAIN_CONTROLLER, PRODUCT_TYPE_SERVER)

    @property
    def is_workstation(self) -> bool:
        return self.product_type == PRODUCT_TYPE_WORKSTATION

    @property
    def family(self) -> str:
        """The release family, or "unknown" for a build or product type we have no data for."""
        if self.is_server:
            return SERVER_FAMILIES.get(self.build, "unknown")
        if not self.is_workstation:
            return "unknown"
        if self.build >= WINDOWS_11_24H2_BUILD:
            # 24H2 and later client builds (25H2 shares 24H2's servicing branch) keep 24H2's
            # signing defaults.
            return "windows_11_24h2"
        if self.build == WINDOWS_11_23H2_BUILD:
            return "windows_11_23h2"
        if WINDOWS_11_FIRST_BUILD <= self.build < WINDOWS_11_23H2_BUILD:
            return "windows_11"
        if WINDOWS_10_FIRST_BUILD <= self.build < WINDOWS_11_FIRST_BUILD:
            return "windows_10"
        # Insider builds between 23H2 and 24H2 (for example 25381) and pre-Windows 10 builds.
        return "unknown"

    @property
    def edition_group(self) -> str:
        """ "home", "pro", "enterprise", "education", "server" or "other", from EditionID."""
        edition = self.edition_id
        if self.is_server or edition.startswith("Server"):
            return "server"
        if edition.startswith(HOME_EDITION_PREFIX):
            return "home"
        if edition.startswith(_PRO_PREFIXES):
            return "pro"
        if edition.startswith(_ENTERPRISE_PREFIXES):
            return "enterprise"
        if edition.startswith(_EDUCATION_PREFIXES):
            return "education"
        return "other"

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> OsInfo:
        """Build from read_state's "os" object; a missing or non-integer product_type is an error.

        A missing build is taken from the third part of version ("10.0.20348"); when neither
        gives one the build is 0, which classifies as "unknown" rather than failing.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"os must be a mapping, got {type(data).__name__}")
        if data.get("product_type") is None:
            raise ValueError("os.product_type is missing")
        product_type = _as_int(data["product_type"], "product_type")
        version = _as_text(data.get("version"))
        raw_build = data.get("build")
        if raw_build is None:
            parts = version.split(".")
            raw_build = parts[2] if len(parts) >= 3 and parts[2].isdigit() else 0
        build = _as_int(raw_build, "build")
        return cls(
            caption=_as_text(data.get("caption")),
            version=version,
            build=build,
            product_type=product_type,
            edition_id=_as_text(data.get("edition_id")),
            display_version=_as_text(data.get("display_version")),
        )
