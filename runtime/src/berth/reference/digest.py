"""Content digests (``sha256:<64 hex>``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from berth.errors import InvalidReference
from berth.structs import dataclass

if TYPE_CHECKING:
    import hashlib

_HEX = {"sha256": re.compile(r"^[a-f0-9]{64}$"), "sha512": re.compile(r"^[a-f0-9]{128}$")}


@dataclass(frozen=True, order=True)
class Digest:
    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        algo, sep, value = text.partition(":")
        if not sep or algo not in _HEX or not _HEX[algo].match(value):
            raise InvalidReference(f"invalid digest {text!r}: expected sha256:<64 hex digits>", value=text)
        return cls(algo, value)

    @classmethod
    def of_bytes(cls, data: bytes) -> Digest:
        import hashlib  # here: OpenSSL's set-up is ~2 ms that a lookup by name never needs

        return cls("sha256", hashlib.sha256(data).hexdigest())

    @classmethod
    def from_hasher(cls, hasher: hashlib._Hash) -> Digest:  # type: ignore[name-defined]
        return cls(hasher.name, hasher.hexdigest())

    def hasher(self) -> hashlib._Hash:  # type: ignore[name-defined]
        import hashlib

        return hashlib.new(self.algorithm)

    @property
    def short(self) -> str:
        """Docker's 12-hex short ID."""
        return self.hex[:12]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"
