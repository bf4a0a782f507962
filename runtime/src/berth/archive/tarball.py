"""Reading archives by member name (safely), and writing them without temp copies."""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from berth.archive.streams import copy_plain
from berth.errors import ArchiveError
from berth.ioutil import read_full
from berth.layers.stream import MAGIC_LEN, compression_of
from berth.reference import Digest
from berth.store import Store

_MAX_LINK_HOPS = 16
_BLOCK = 512


def clean_member_name(name: str, what: str) -> str:
    """``./a//b`` -> ``a/b``; absolute names and ``..`` components are refused."""
    if name.startswith("/"):
        raise ArchiveError(f"{what}: unsafe member name {name!r} (absolute path)", member=name)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"{what}: unsafe member name {name!r} (path traversal)", member=name)
    return "/".join(parts)


class ArchiveReader:
    """Members of an archive opened for random access, by cleaned name."""

    def __init__(self, tar: tarfile.TarFile, what: str) -> None:
        self.tar = tar
        self.what = what
        self.members: dict[str, tarfile.TarInfo] = {}
        try:
            infos = tar.getmembers()
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ArchiveError(f"{what} is not a valid tar archive: {exc}", what=what) from None
        for info in infos:
            name = clean_member_name(info.name, what)
            if name:
                self.members[name] = info  # a later member replaces an earlier one, as on extraction

    def _link_target(self, name: str, info: tarfile.TarInfo) -> str:
        target = info.linkname
        if info.issym():
            if target.startswith("/"):
                raise ArchiveError(f"{self.what}: symlink {name!r} points outside the archive", member=name)
            target = posixpath.join(posixpath.dirname(name), target)
        normal = posixpath.normpath(target) if target else ""
        if normal.startswith("/") or normal == ".." or normal.startswith("../"):
            raise ArchiveError(f"{self.what}: link {name!r} points outside the archive ({info.linkname!r})",
                               member=name)
        return "" if normal == "." else normal

    def __contains__(self, path: str) -> bool:
        try:
            self.lookup(path)
        except ArchiveError:
            return False
        return True

    def lookup(self, path: str) -> tarfile.TarInfo:
        """The regular file ``path`` names, following links inside the archive."""
        name = clean_member_name(path, self.what)
        for _ in range(_MAX_LINK_HOPS):
            info = self.members.get(name)
            if info is None:
                raise ArchiveError(f"{self.what}: {path} is missing from the archive", member=path)
            if info.isfile():
                return info
            if not (info.issym() or info.islnk()):
                raise ArchiveError(f"{self.what}: {path} is not a regular file in the archive", member=path)
            name = self._link_target(name, info)
        raise ArchiveError(f"{self.what}: {path}: too many levels of links", member=path)

    def open(self, path: str) -> BinaryIO:
        stream = self.tar.extractfile(self.lookup(path))
        assert stream is not None  # lookup() returns regular files only
        return stream  # type: ignore[return-value]

    def read(self, path: str, *, limit: int = 64 << 20) -> bytes:
        info = self.lookup(path)
        if info.size > limit:
            raise ArchiveError(f"{self.what}: {path} is too large ({info.size} bytes)", member=path)
        with self.open(path) as f:
            return f.read()


@contextmanager
def open_archive(store: Store, source: Path) -> Iterator[ArchiveReader]:
    """Open a (possibly gzip/xz/bzip2/zstd-compressed) tar for random access.

    A compressed archive is decompressed into an anonymous temp file in the
    store's tmp dir (same filesystem), which vanishes when closed or on a crash.
    """
    what = str(source)
    try:
        f: BinaryIO = open(source, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ArchiveError(f"cannot open {what}: {exc.strerror or exc}", what=what) from None
    try:
        kind = compression_of(read_full(f, MAGIC_LEN))
        f.seek(0)
        if kind != "tar":
            store.paths.tmp.mkdir(parents=True, exist_ok=True)
            plain = tempfile.TemporaryFile(dir=store.paths.tmp, prefix="archive-")  # noqa: SIM115
            try:
                copy_plain(f, plain, what)  # type: ignore[arg-type]
                plain.seek(0)
            except BaseException:
                plain.close()
                raise
            f.close()
            f = plain  # type: ignore[assignment]
        try:
            tar = tarfile.open(fileobj=f, mode="r:")  # noqa: SIM115 - closed by the with below
        except (tarfile.TarError, EOFError) as exc:
            raise ArchiveError(f"{what} is not a tar archive", what=what, detail=str(exc)) from None
        with tar:
            yield ArchiveReader(tar, what)
    finally:
        f.close()


class TarWriter:
    """Write a tar member by member; a streamed member's size is patched in afterwards.

    Headers are GNU-format (fixed 512 bytes for names under 100 characters,
    base-256 sizes beyond 8 GiB), with mtime 0, root-owned, so the output
    depends only on content.
    """

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.names: set[str] = set()

    @staticmethod
    def _header(name: str, size: int, *, directory: bool = False) -> bytes:
        info = tarfile.TarInfo(name)
        info.size = 0 if directory else size
        info.mode = 0o755 if directory else 0o644
        info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
        info.mtime = 0
        info.uname = info.gname = ""
        buf = info.tobuf(tarfile.GNU_FORMAT, "utf-8", "strict")
        if len(buf) != _BLOCK:
            raise ValueError(f"tar member name too long for a fixed header: {name!r}")
        return buf

    def _pad(self, size: int) -> None:
        rest = size % _BLOCK
        if rest:
            self.out.write(b"\0" * (_BLOCK - rest))

    def add_dir(self, name: str) -> None:
        self.names.add(name)
        self.out.write(self._header(name, 0, directory=True))

    def add_bytes(self, name: str, data: bytes) -> None:
        self.names.add(name)
        self.out.write(self._header(name, len(data)))
        self.out.write(data)
        self._pad(len(data))

    def add_stream(self, name: str, chunks: Iterable[bytes]) -> tuple[Digest, int]:
        """Write a member of unknown size; returns the sha256 and size of its content."""
        self.names.add(name)
        start = self.out.tell()
        self.out.write(self._header(name, 0))
        h = hashlib.sha256()
        size = 0
        for chunk in chunks:
            self.out.write(chunk)
            h.update(chunk)
            size += len(chunk)
        self._pad(size)
        end = self.out.tell()
        self.out.seek(start)
        self.out.write(self._header(name, size))
        self.out.seek(end)
        return Digest.from_hasher(h), size

    def close(self) -> None:
        self.out.write(b"\0" * (2 * _BLOCK))
