"""Byte plumbing of archives: compression sniffing, deterministic gzip blobs.

Every layer blob archives create is gzipped by ``berth.layers.gzip_stream``
(level 6, mtime 0, no file name), so the same tar always gives
the same blob digest: loading an archive twice, or importing the same rootfs
twice, yields identical blobs and manifests.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import BinaryIO

from berth.errors import ArchiveError
from berth.ioutil import PrefixedReader, Readable
from berth.reference import Digest
from berth.store import Store
from berth.store.blobs import BlobWriter
from berth.structs import dataclass

CHUNK = 1 << 20



class _Checked:
    """Turns a decompressor's failures into ArchiveError naming what was read."""

    def __init__(self, plain: Readable, kind: str, what: str) -> None:
        self._plain = plain
        self.kind = kind
        self._what = what
        self._errors: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)
        if kind == "xz":
            import lzma

            self._errors += (lzma.LZMAError,)
        elif kind == "zstd":
            import zstandard

            self._errors += (zstandard.ZstdError,)

    def read(self, size: int = -1) -> bytes:
        try:
            return self._plain.read(size)
        except self._errors as exc:
            raise ArchiveError(f"{self._what}: corrupt or truncated {self.kind} data: {exc}", what=self._what) from None

    def readable(self) -> bool:
        return True


def open_plain(raw: Readable, what: str) -> tuple[str, Readable]:
    """Sniff ``raw``'s compression by its magic bytes; return (kind, reader of the plain bytes).

    The sniffing and decompressors are the layer extractor's (one place knows
    compression); this only names ``what`` in the errors.
    """
    from berth.layers.stream import open_decompressed

    try:
        kind, plain = open_decompressed(raw)  # type: ignore[arg-type]
    except ImportError:
        raise ArchiveError(
            f"{what} is zstd-compressed, and the 'zstandard' Python module is not installed", what=what
        ) from None
    return kind, plain if kind == "tar" else _Checked(plain, kind, what)


def copy_plain(raw: Readable, out: BinaryIO, what: str) -> int:
    """Decompress ``raw`` (whatever its compression) into ``out``; returns the plain size."""
    _, plain = open_plain(raw, what)
    total = 0
    while chunk := plain.read(CHUNK):
        out.write(chunk)
        total += len(chunk)
    return total


class _HashingSink:
    """What gzip writes to: hashes the compressed bytes, then hands them to the blob writer.

    Hashing here lets us learn the blob's digest *before* ``commit()``, so the
    digest can be claimed in a lease before the blob becomes visible to GC.
    """

    def __init__(self, writer: BlobWriter) -> None:
        self._writer = writer
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._writer.write(data)
        self.hasher.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass


@dataclass
class PendingLayer:
    """A layer compressed into an uncommitted blob: publish with ``commit()`` or drop with ``abort()``."""

    writer: BlobWriter
    diff_id: Digest
    plain_size: int
    blob: Digest
    size: int

    def commit(self) -> Digest:
        return self.writer.commit()

    def abort(self) -> None:
        self.writer.abort()


class _PlainCounter:
    """Feeds gzip the plain tar (``head`` first), hashing it into the diff_id on the way."""

    def __init__(self, head: bytes, plain: Readable) -> None:
        self._src = PrefixedReader(head, plain)
        self.hasher = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._src.read(size)
        self.hasher.update(data)
        self.size += len(data)
        return data


def compress_layer(store: Store, plain: Readable, *, head: bytes = b"") -> PendingLayer:
    """Gzip a plain tar stream into a new (uncommitted) blob, computing its diff_id on the way.

    ``head``: bytes already read from ``plain`` (to validate a header) that come first.
    The gzip parameters are those of ``berth.layers.gzip_stream``, shared with
    build and commit, so a given tar always becomes the same blob.
    """
    from berth.layers import gzip_stream

    writer = store.blobs.writer()
    try:
        sink = _HashingSink(writer)
        src = _PlainCounter(head, plain)
        gzip_stream(src, sink)  # type: ignore[arg-type]
    except BaseException:
        writer.abort()
        raise
    return PendingLayer(
        writer=writer,
        diff_id=Digest.from_hasher(src.hasher),
        plain_size=src.size,
        blob=Digest.from_hasher(sink.hasher),
        size=sink.size,
    )
