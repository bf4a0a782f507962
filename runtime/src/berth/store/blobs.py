"""Content-addressed blob storage: ``<root>/blobs/sha256/<hex>``.

Ingest needs no lock: content is streamed to a private temp file on the same
filesystem, hashed on the way, verified, fsynced and renamed into place.
Two writers of the same blob both succeed and leave one copy; a killed writer
leaves only a temp file named after its pid, which ``system check`` removes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from berth.errors import DigestMismatch, SizeMismatch, StoreError
from berth.fsutil import fsync_dir
from berth.paths import Paths
from berth.reference import Digest


def temp_name(kind: str) -> str:
    """Temp names carry the writer's pid so fsck can tell abandoned ones."""
    return f"{kind}-{os.getpid()}-{os.urandom(6).hex()}"  # secrets.token_hex, without importing secrets


class BlobWriter:
    """Stream bytes into the store; ``commit()`` verifies and publishes them."""

    def __init__(self, store: BlobStore, expected: Digest | None, expected_size: int | None) -> None:
        self._store = store
        self.expected = expected
        self.expected_size = expected_size
        store.paths.tmp.mkdir(parents=True, exist_ok=True)
        self.tmp_path = store.paths.tmp / temp_name("blob")
        self._file: BinaryIO = open(self.tmp_path, "wb")  # noqa: SIM115 - closed in commit/abort
        self._hash = (expected.hasher() if expected else Digest("sha256", "").hasher())
        self.size = 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._hash.update(data)
        self.size += len(data)
        if self.expected_size is not None and self.size > self.expected_size:
            self.abort()
            raise SizeMismatch(str(self.expected), self.expected_size, self.size)

    def reset(self) -> None:
        """Start over (a retry after a broken transfer)."""
        self._file.seek(0)
        self._file.truncate()
        self._hash = self.expected.hasher() if self.expected else Digest("sha256", "").hasher()
        self.size = 0

    def commit(self) -> Digest:
        actual = Digest.from_hasher(self._hash)
        if self.expected_size is not None and self.size != self.expected_size:
            self.abort()
            raise SizeMismatch(str(self.expected or actual), self.expected_size, self.size)
        if self.expected is not None and actual != self.expected:
            self.abort()
            raise DigestMismatch(str(self.expected), str(actual))
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        dest = self._store.path(actual)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.tmp_path, dest)
        fsync_dir(dest.parent)
        return actual

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.tmp_path.unlink(missing_ok=True)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None or not self._file.closed:
            self.abort()


class BlobStore:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    def path(self, digest: Digest) -> Path:
        return self.paths.blobs / digest.algorithm / digest.hex

    def has(self, digest: Digest) -> bool:
        return self.path(digest).is_file()

    def size(self, digest: Digest) -> int:
        return self.path(digest).stat().st_size

    def open(self, digest: Digest) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError as exc:
            raise StoreError(f"blob {digest} is missing from the store", digest=str(digest)) from exc

    def read(self, digest: Digest) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def writer(self, expected: Digest | None = None, expected_size: int | None = None) -> BlobWriter:
        return BlobWriter(self, expected, expected_size)

    def put_bytes(self, data: bytes, expected: Digest | None = None) -> Digest:
        digest = Digest.of_bytes(data)
        if expected is not None and digest != expected:
            raise DigestMismatch(str(expected), str(digest))
        if self.has(digest):
            return digest
        with self.writer(digest, len(data)) as w:
            w.write(data)
            return w.commit()

    def ingest(
        self, chunks: Iterable[bytes], expected: Digest | None = None, expected_size: int | None = None
    ) -> Digest:
        with self.writer(expected, expected_size) as w:
            for chunk in chunks:
                w.write(chunk)
            return w.commit()

    def verify(self, digest: Digest) -> bool:
        h = digest.hasher()
        with self.open(digest) as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        return h.hexdigest() == digest.hex

    def delete(self, digest: Digest) -> None:
        self.path(digest).unlink(missing_ok=True)

    def __iter__(self) -> Iterator[Digest]:
        base = self.paths.blobs
        if not base.is_dir():
            return
        for algo_dir in base.iterdir():
            for entry in algo_dir.iterdir():
                try:
                    yield Digest.parse(f"{algo_dir.name}:{entry.name}")
                except ValueError:
                    continue
