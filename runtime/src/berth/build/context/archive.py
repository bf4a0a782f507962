"""ADD of a local tar: recognise it by content and unpack it into the destination, safely.

Docker (``archive.IsArchivePath``) calls a file an archive when, once decompressed (gzip, bzip2,
xz, zstd or none, told by magic bytes, never by name), its first tar header reads; anything else
is copied like COPY. Unpacking is Docker's ``chrootarchive.Untar`` into the destination: names are
cleaned (a leading ``/`` dropped, ``..`` may not climb out), and every path is resolved with the
destination as ``/`` (``berth.rootpath``): a symlink the tar made (``l -> /etc``) and a member
written through it (``l/passwd``) land in the destination's own ``etc``; a hardlink may only name
something already inside the destination. Unlike a layer, a plain tar has no whiteouts: ``.wh.*``
members are ordinary files. Owners come from the tar unless ``--chown`` is given, modes unless
``--chmod`` is.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tarfile
from collections.abc import Iterator

from berth.build.context.errors import CopyFailed, UnsafeArchive
from berth.errors import ArchiveError
from berth.ioutil import read_full
from berth.layers.names import clean_name
from berth.layers.stream import HashingReader, open_decompressed
from berth.rootpath import DIR_FLAGS, CopyOptions, lstat_at, remove_at, resolve

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_BUF = 1 << 20


@contextlib.contextmanager
def _plain_stream(src_fd: int) -> Iterator[HashingReader]:
    """The decompressed bytes of the open file ``src_fd``, from its start; a decompressor's
    failure is an ``ArchiveError`` (the layers' reader: the digest it also makes goes unused)."""
    os.lseek(src_fd, 0, os.SEEK_SET)
    with os.fdopen(os.dup(src_fd), "rb") as raw:
        kind, plain = open_decompressed(raw)
        yield HashingReader(plain, kind)


def is_archive(src_fd: int) -> bool:
    """Whether the open regular file ``src_fd`` is a (possibly compressed) tar."""
    try:
        with _plain_stream(src_fd) as plain:
            block = read_full(plain, tarfile.BLOCKSIZE)
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")  # checks the header checksum
        return True
    except Exception:  # any failure to read a first header means "not a tar", as Docker
        return False


def extract_into(src_fd: int, dest_fd: int, opts: CopyOptions, shown: str) -> None:
    """Unpack the tar in ``src_fd`` into the directory ``dest_fd`` (its scope: nothing lands outside)."""
    try:
        with _plain_stream(src_fd) as plain, tarfile.open(
                fileobj=plain, mode="r|", encoding="utf-8", errors="surrogateescape") as tf:  # type: ignore[call-overload]
            _Unpacker(dest_fd, opts).run(tf)
    except (tarfile.TarError, ArchiveError) as exc:
        raise CopyFailed(f"ADD {shown}: corrupt or truncated archive: {exc}", source=shown) from None


class _Unpacker:
    def __init__(self, dest_fd: int, opts: CopyOptions) -> None:
        self.dest = dest_fd
        self.opts = opts
        self.dir_times: list[tuple[str, int]] = []

    def run(self, tf: tarfile.TarFile) -> None:
        while (m := tf.next()) is not None:
            tf.members.clear()  # stream mode would otherwise keep every header
            parts = clean_name(m.name)
            if parts is None:
                raise UnsafeArchive(f"archive member {m.name!r} would be written outside the destination",
                                    member=m.name)
            if not parts:
                continue  # the archive's root: the destination exists and keeps its metadata
            self._member(tf, m, "/".join(parts))
        for path, mtime in self.dir_times:  # last: writing into a directory changes its mtime
            # gone or replaced by a later member: nothing to date
            with contextlib.suppress(OSError, CopyFailed), self._where(path, create=False) as (parent, name):
                fd = os.open(name, DIR_FLAGS, dir_fd=parent)
                try:
                    os.utime(fd, ns=(mtime, mtime))
                finally:
                    os.close(fd)

    @contextlib.contextmanager
    def _where(self, path: str, *, create: bool) -> Iterator[tuple[int, str]]:
        """(parent dir fd, name) of ``path`` inside the destination; parents made when ``create``."""
        try:
            entry = resolve(self.dest, path, follow_last=False, mkdir=self._mkdir if create else None)
        except NotADirectoryError:
            raise CopyFailed(f"archive member {path!r}: a parent is not a directory", member=path) from None
        with entry:
            yield entry.dir_fd, entry.name

    def _mkdir(self, parent: int, name: str) -> None:
        os.mkdir(name, 0o755, dir_fd=parent)  # an implied parent, as Docker's untar: 0755, root
        owner = self.opts.owner
        os.chown(name, owner.uid if owner else 0, owner.gid if owner else 0, dir_fd=parent, follow_symlinks=False)
        os.chmod(name, 0o755, dir_fd=parent)  # the umask may have taken bits

    def _member(self, tf: tarfile.TarFile, m: tarfile.TarInfo, path: str) -> None:
        if m.islnk():
            self._hardlink(m, path)
            return
        with self._where(path, create=True) as (parent, name):
            existing = lstat_at(parent, name)
            if existing is not None and not (m.isdir() and stat.S_ISDIR(existing.st_mode)):
                remove_at(parent, name, existing)  # replaced, never written through
                existing = None
            if m.isdir():
                if existing is None:
                    os.mkdir(name, 0o700, dir_fd=parent)
                fd = os.open(name, DIR_FLAGS, dir_fd=parent)
                try:
                    self._meta(fd, m)
                finally:
                    os.close(fd)
                self.dir_times.append((path, _ns(m)))
            elif m.isreg():
                fd = os.open(name, _NEW_FILE, 0o600, dir_fd=parent)
                try:
                    src = tf.extractfile(m)
                    assert src is not None  # a regular member
                    while chunk := src.read(_BUF):
                        _write_all(fd, chunk)
                    self._meta(fd, m)
                    os.utime(fd, ns=(_ns(m), _ns(m)))
                finally:
                    os.close(fd)
            elif m.issym():
                # stored as is: resolved later inside the container's rootfs, never by us
                os.symlink(m.linkname, name, dir_fd=parent)
                self._chown(parent, name, m)
                with contextlib.suppress(OSError):
                    os.utime(name, ns=(_ns(m), _ns(m)), dir_fd=parent, follow_symlinks=False)
            elif m.ischr() or m.isblk() or m.isfifo():
                kind = stat.S_IFIFO if m.isfifo() else stat.S_IFCHR if m.ischr() else stat.S_IFBLK
                dev = 0 if m.isfifo() else os.makedev(m.devmajor, m.devminor)
                os.mknod(name, kind | 0o600, dev, dir_fd=parent)
                self._chown(parent, name, m)
                os.chmod(name, self._mode(m), dir_fd=parent)  # just made, not a symlink
                os.utime(name, ns=(_ns(m), _ns(m)), dir_fd=parent, follow_symlinks=False)
            else:
                raise CopyFailed(f"archive member {m.name!r}: unsupported tar entry type {m.type!r}", member=m.name)

    def _hardlink(self, m: tarfile.TarInfo, path: str) -> None:
        target = clean_name(m.linkname)
        if not target:
            raise UnsafeArchive(f"archive member {m.name!r}: hardlink target {m.linkname!r} is outside the "
                                f"destination", member=m.name)
        # the target is found inside the destination only: "/etc/shadow" names its own etc/shadow
        missing = UnsafeArchive(f"archive member {m.name!r}: hardlink target {m.linkname!r} is not in the "
                                f"destination", member=m.name)
        try:
            found = resolve(self.dest, "/".join(target), follow_last=False)
        except (FileNotFoundError, NotADirectoryError):
            raise missing from None
        with found:
            st = found.lstat()
            if st is None:
                raise missing
            if stat.S_ISDIR(st.st_mode):
                raise UnsafeArchive(f"archive member {m.name!r}: hardlink to a directory", member=m.name)
            with self._where(path, create=True) as (parent, name):
                existing = lstat_at(parent, name)
                if existing is not None:
                    if existing.st_ino == st.st_ino and existing.st_dev == st.st_dev:
                        return  # a link to itself
                    remove_at(parent, name, existing)
                # no AT_SYMLINK_FOLLOW: a symlink target is linked itself, never what it points to
                os.link(found.name, name, src_dir_fd=found.dir_fd, dst_dir_fd=parent, follow_symlinks=False)

    def _owner(self, m: tarfile.TarInfo) -> tuple[int, int]:
        owner = self.opts.owner
        return (owner.uid, owner.gid) if owner is not None else (m.uid, m.gid)

    def _mode(self, m: tarfile.TarInfo) -> int:
        return self.opts.mode if self.opts.mode is not None else m.mode & 0o7777

    def _meta(self, fd: int, m: tarfile.TarInfo) -> None:
        os.fchown(fd, *self._owner(m))
        os.fchmod(fd, self._mode(m))  # after chown, which clears setuid bits

    def _chown(self, parent: int, name: str, m: tarfile.TarInfo) -> None:
        os.chown(name, *self._owner(m), dir_fd=parent, follow_symlinks=False)


def _ns(m: tarfile.TarInfo) -> int:
    try:
        return int(m.mtime * 1_000_000_000)
    except (OverflowError, ValueError, TypeError):
        return 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
