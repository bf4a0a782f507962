"""Byte-stream plumbing for layers: compression sniffing and hashing wrappers.

A layer blob is read exactly once (it may come straight from a registry
socket), so decompression and the diff_id hash are computed on the fly by
file-like wrappers that tarfile reads through.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import BinaryIO

from berth.errors import ArchiveError
from berth.ioutil import PrefixedReader, Readable, read_full

_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_BZIP2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"
#: a tar header carries "ustar" at offset 257 (POSIX, GNU and PAX tars): it
#: wins over compression magics, which a member name could start with ("BZh1...")
_USTAR_AT = 257
MAGIC_LEN = _USTAR_AT + 5


def compression_of(magic: bytes) -> str:
    """"tar", "gzip", "zstd", "xz" or "bzip2", from the first ``MAGIC_LEN`` bytes of a stream."""
    if magic[_USTAR_AT:MAGIC_LEN] == b"ustar":
        return "tar"
    if magic.startswith(_GZIP):
        return "gzip"
    if magic.startswith(_ZSTD):
        return "zstd"
    if magic.startswith(_XZ):
        return "xz"
    if magic.startswith(_BZIP2) and magic[3:4].isdigit():
        return "bzip2"
    return "tar"


def open_decompressed(raw: BinaryIO) -> tuple[str, Readable]:
    """Sniff the compression of ``raw`` by its magic bytes; return (kind, plain-tar reader)."""
    magic = read_full(raw, MAGIC_LEN)
    src = PrefixedReader(magic, raw)
    kind = compression_of(magic)
    if kind == "gzip":
        import gzip

        return kind, gzip.GzipFile(fileobj=src, mode="rb")  # type: ignore[arg-type]
    if kind == "zstd":
        from berth.layers.zstdio import open_zstd

        return kind, open_zstd(src)  # type: ignore[arg-type]
    if kind == "xz":
        import lzma

        return kind, lzma.LZMAFile(src)  # type: ignore[arg-type]
    if kind == "bzip2":
        import bz2

        return kind, bz2.BZ2File(src)  # type: ignore[arg-type]
    return kind, src


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
