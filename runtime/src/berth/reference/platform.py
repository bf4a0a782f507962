"""OCI platforms (``os/arch[/variant]``)."""

from __future__ import annotations

import os

from berth.errors import InvalidReference
from berth.structs import dataclass

# uname -m -> GOARCH names used in OCI indexes
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
         "armv7l": "arm", "i386": "386", "i686": "386", "ppc64le": "ppc64le", "s390x": "s390x"}
_DEFAULT_VARIANT = {"arm64": "v8"}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().lower().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise InvalidReference(f"invalid platform {text!r}: expected os/arch[/variant]", value=text)
        arch = _ARCH.get(parts[1], parts[1])
        return cls(parts[0], arch, parts[2] if len(parts) == 3 else "")

    @classmethod
    def host(cls) -> Platform:
        machine = os.uname().machine  # what platform.machine() returns, without importing platform
        arch = _ARCH.get(machine, machine)
        return cls("linux", arch, "")

    @classmethod
    def from_oci(cls, data: dict) -> Platform:
        return cls(str(data.get("os", "")), str(data.get("architecture", "")), str(data.get("variant", "") or ""))

    def matches(self, other: Platform) -> bool:
        """True if ``other`` (an index entry) satisfies this wanted platform.

        An empty variant on either side matches, except that arm64's implied
        variant is v8 (as containerd's platform matcher normalises it).
        """
        if (self.os, self.architecture) != (other.os, other.architecture):
            return False
        want = self.variant or _DEFAULT_VARIANT.get(self.architecture, "")
        have = other.variant or _DEFAULT_VARIANT.get(other.architecture, "")
        return not want or not have or want == have

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)
