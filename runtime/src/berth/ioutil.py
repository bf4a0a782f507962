"""Small byte-stream helpers shared by layers, archives and the registry client."""

from __future__ import annotations

from typing import Protocol


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_full(src: Readable, n: int) -> bytes:
    """Read up to ``n`` bytes across short reads (sockets, decompressors); fewer only at EOF."""
    parts: list[bytes] = []
    got = 0
    while got < n:
        chunk = src.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


class PrefixedReader:
    """``raw`` with bytes already consumed (to sniff a magic number) put back in front."""

    def __init__(self, prefix: bytes, raw: Readable) -> None:
        self._prefix = prefix
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            head = self._prefix if size is None or size < 0 else self._prefix[:size]
            self._prefix = self._prefix[len(head) :]
            return head
        return self._raw.read(size)

    def readable(self) -> bool:
        return True
