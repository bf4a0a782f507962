"""Byte-stream plumbing for layers: compression sniffing and hashing wrappers.

A layer blob is read exactly once (it may come straight from a registry
socket), so decompression and the diff_id hash are computed on the fly by
file-like wrappers that tarfile reads through.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import BinaryIO, Protocol

from berth.errors import ArchiveError

_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_BZIP2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"
#: a tar header carries "ustar" at offset 257 (POSIX, GNU and PAX tars): it
#: wins over compression magics, which a member name could start with ("BZh1...")
_USTAR_AT = 257
_MAGIC_LEN = _USTAR_AT + 5


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Prefixed:
    """A raw stream with the bytes already consumed to sniff its magic put back."""

    def __init__(self, prefix: bytes, raw: BinaryIO) -> None:
        self._prefix = prefix
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            head = self._prefix if size < 0 else self._prefix[:size]
            self._prefix = self._prefix[len(head):]
            return head
        return self._raw.read(size)

    def readable(self) -> bool:
        return True


def _read_upto(raw: BinaryIO, n: int) -> bytes:
    # A socket-backed stream may return short reads before EOF.
    chunks: list[bytes] = []
    got = 0
    while got < n:
        chunk = raw.read(n - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def open_decompressed(raw: BinaryIO) -> tuple[str, Readable]:
    """Sniff the compression of ``raw`` by its magic bytes; return (kind, plain-tar reader)."""
    magic = _read_upto(raw, _MAGIC_LEN)
    src = _Prefixed(magic, raw)
    if magic[_USTAR_AT:] == b"ustar":
        return "tar", src
    if magic.startswith(_GZIP):
        import gzip

        return "gzip", gzip.GzipFile(fileobj=src, mode="rb")  # type: ignore[arg-type]
    if magic.startswith(_ZSTD):
        from berth.layers.zstdio import open_zstd

        return "zstd", open_zstd(src)  # type: ignore[arg-type]
    if magic.startswith(_XZ):
        import lzma

        return "xz", lzma.LZMAFile(src)  # type: ignore[arg-type]
    if magic.startswith(_BZIP2) and magic[3:4].isdigit():
        import bz2

        return "bzip2", bz2.BZ2File(src)  # type: ignore[arg-type]
    return "tar", src


def _decompression_errors(kind: str) -> tuple[type[BaseException], ...]:
    # gzip and bz2 raise OSError/EOFError/zlib.error; the others have their own.
    errors: list[type[BaseException]] = [OSError, EOFError, zlib.error]
    if kind == "xz":
        import lzma

        errors.append(lzma.LZMAError)
    elif kind == "zstd":
        import zstandard

        errors.append(zstandard.ZstdError)
    return tuple(errors)


class HashingReader:
    """Reads the uncompressed tar, hashing every byte handed out (the diff_id).

    Decompressor failures become ArchiveError here, at the source, so that
    they cannot be mistaken for filesystem errors further up.
    """

    def __init__(self, plain: Readable, kind: str) -> None:
        self._plain = plain
        self._kind = kind
        self._errors = _decompression_errors(kind)
        self.hasher = hashlib.sha256()
        self.total = 0

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._plain.read(size)
        except self._errors as e:
            raise ArchiveError(
                f"corrupt or truncated {self._kind} layer stream after {self.total} bytes: {e}",
                kind=self._kind,
                offset=self.total,
            ) from None
        self.hasher.update(data)
        self.total += len(data)
        return data

    def drain(self, chunk: int = 1 << 20) -> None:
        """Consume (and hash) the rest: tar padding, and the compressor's trailer check."""
        while self.read(chunk):
            pass


class HashingWriter:
    """Write-through wrapper that hashes and counts; ``tell()`` lets tarfile write to pipes."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.hasher = hashlib.sha256()
        self.total = 0

    def write(self, data: bytes) -> int:
        self._out.write(data)
        self.hasher.update(data)
        self.total += len(data)
        return len(data)

    def tell(self) -> int:
        return self.total

    def flush(self) -> None:
        self._out.flush()
