"""Safe extraction of a layer tar into an overlayfs upper dir.

The result is what Docker's overlay2 driver stores for a layer diff: Docker
tar whiteouts (``.wh.name``) become 0/0 character devices, and opaque
markers (``.wh..wh..opq``) become ``trusted.overlay.opaque=y`` on their dir.

Hostile input is expected: member names are cleaned like Docker cleans them
(leading ``/`` dropped, ``..`` may not climb out), parents are walked with
O_NOFOLLOW (see ``tree``) so nothing is written through a symlink, and
hardlinks may only point at entries already extracted into this layer.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from tarfile import HeaderError, InvalidHeaderError, TarError, TarFile, TarInfo, TruncatedHeaderError
from typing import BinaryIO, TypeVar

from berth.errors import ArchiveError, BerthError, UnsafeLayer
from berth.layers.names import (
    OPAQUE_MARKER,
    OPAQUE_XATTR,
    WHITEOUT_META_PREFIX,
    WHITEOUT_PREFIX,
    clean_name,
)
from berth.layers.stream import HashingReader, open_decompressed
from berth.layers.tree import LayerTree
from berth.reference.digest import Digest
from berth.structs import dataclass

#: tarfile's own read buffer. Kept small on purpose: tarfile slices its
#: leftover buffer on every read, so a big one makes small members costly;
#: large file bodies are still read in COPY_BUFSIZE requests.
_STREAM_BUFSIZE = 64 * 1024
COPY_BUFSIZE = 1 << 20
#: longer names cannot be used on Linux anyway (PATH_MAX); refusing them
#: early also bounds the work a hostile name can cause
_MAX_NAME = 4096
#: real images nest a few dozen levels; a hostile 2000-level tree would make
#: recursive cleanup (shutil.rmtree) of the layer dir hit Python's recursion limit
MAX_DEPTH = 512
_XATTR_PAX = "SCHILY.xattr."
#: overlayfs metadata (redirects, metacopy, opaque...) must never come from
#: tar xattrs: it would let a layer redirect lookups into other layers
_OVERLAY_XATTRS = ("trusted.overlay.", "user.overlay.")
_IGNORED_XATTR_ERRNOS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_T = TypeVar("_T")


@dataclass(frozen=True)
class ExtractResult:
    #: sha256 of the uncompressed tar stream, padding included
    diff_id: Digest
    #: bytes of regular file content written (hardlinks not counted again)
    size: int
    #: tar members read, whiteouts included
    entries: int


def extract_layer(stream: BinaryIO, dest: Path) -> ExtractResult:
    """Extract a (gzip/zstd/xz/bzip2/plain) layer tar from ``stream`` into empty dir ``dest``.

    Raises UnsafeLayer for content that tries to leave ``dest`` and
    ArchiveError for corrupt or truncated input. On error ``dest`` holds a
    partial extraction: the caller extracts into a temp dir and removes it.
    """
    kind, plain = open_decompressed(stream)
    reader = HashingReader(plain, kind)
    tree = LayerTree(dest)
    try:
        extractor = _Extractor(tree)
        extractor.run(reader, kind)
        # Hash the rest too (tar padding, trailing zero records) and let the
        # decompressor verify its trailer: the diff_id covers the whole stream.
        reader.drain(COPY_BUFSIZE)
    finally:
        tree.close()
    return ExtractResult(Digest.from_hasher(reader.hasher), extractor.size, extractor.entries)


class _TarInfo(TarInfo):
    """Remembers why tarfile stopped reading headers.

    In the middle of an archive tarfile treats a bad or truncated header as
    the end of the archive; we want to know, so that garbage is an error
    rather than a silently shortened layer.
    """

    @classmethod
    def fromtarfile(cls, tarfile: TarFile) -> TarInfo:  # the parameter keeps the name of the one it overrides
        try:
            return super().fromtarfile(tarfile)
        except HeaderError as e:
            tarfile.berth_stop = e  # type: ignore[attr-defined]
            raise


def _open_tar(reader: HashingReader, kind: str) -> TarFile | None:
    try:
        return TarFile.open(
            fileobj=reader,  # type: ignore[arg-type]
            mode="r|",
            bufsize=_STREAM_BUFSIZE,
            tarinfo=_TarInfo,
            encoding="utf-8",
            errors="surrogateescape",
        )
    except TarError as e:
        if reader.total == 0:
            return None
        raise ArchiveError(f"{kind} layer stream is not a tar archive: {e}", kind=kind) from None


def _ns(member: TarInfo) -> int | None:
    try:
        return int(member.mtime * 1_000_000_000)
    except (OverflowError, ValueError, TypeError):
        return None


class _Extractor:
    def __init__(self, tree: LayerTree) -> None:
        self.tree = tree
        self.size = 0
        self.entries = 0
        # (dir, mtime ns): applied at the end, after the dir's content is written
        self._dir_times: list[tuple[tuple[str, ...], int | None]] = []

    def run(self, reader: HashingReader, kind: str) -> None:
        tf = _open_tar(reader, kind)
        if tf is None:
            return  # an empty stream is an empty layer
        with tf:
            last = self._members(tf)
        stop = getattr(tf, "berth_stop", None)
        if isinstance(stop, (InvalidHeaderError, TruncatedHeaderError)):
            raise ArchiveError(f"corrupt or truncated layer tar after member {last!r}: {stop}", member=last)
        try:
            self._apply_dir_times()
        except OSError as e:
            raise ArchiveError(f"cannot set directory times: {e.strerror or e}", errno=e.errno) from None

    def _members(self, tf: TarFile) -> str:
        last = "<start of archive>"
        while True:
            try:
                member = tf.next()
            except TarError as e:
                raise ArchiveError(f"corrupt layer tar after member {last!r}: {e}", member=last) from None
            if member is None:
                return last
            tf.members.clear()  # stream mode would otherwise keep every header in memory
            self.entries += 1
            self._guarded(tf, member)
            self.tree.trim()
            last = member.name

    def _guarded(self, tf: TarFile, member: TarInfo) -> None:
        name = member.name
        try:
            self._member(tf, member)
        except BerthError:
            raise
        except TarError as e:
            raise ArchiveError(f"layer member {name!r}: truncated or corrupt data: {e}", member=name) from None
        except ValueError as e:  # embedded NUL byte in a name or link target
            raise UnsafeLayer(f"layer member {name!r}: invalid name: {e}", member=name) from None
        except OverflowError as e:  # uid, gid or device number out of range
            raise ArchiveError(f"layer member {name!r}: {e}", member=name) from None
        except OSError as e:
            raise ArchiveError(
                f"layer member {name!r}: cannot extract: {e.strerror or e}", member=name, errno=e.errno
            ) from None

    def _member(self, tf: TarFile, m: TarInfo) -> None:
        if len(m.name) > _MAX_NAME:
            raise ArchiveError(f"layer member {m.name[:64]!r}...: name longer than {_MAX_NAME}", member=m.name)
        parts = clean_name(m.name)
        if parts is None:
            raise UnsafeLayer(f"layer member {m.name!r} escapes the layer directory", member=m.name)
        if len(parts) > MAX_DEPTH:
            raise UnsafeLayer(f"layer member {m.name[:64]!r}...: nested deeper than {MAX_DEPTH} levels", member=m.name)
        if not parts:
            if not m.isdir():
                raise UnsafeLayer(f"layer member {m.name!r} would replace the layer root", member=m.name)
            self._dir_meta(self.tree.root_fd, m)
            self._dir_times.append(((), _ns(m)))
            return
        base = parts[-1]
        if any(p.startswith(WHITEOUT_META_PREFIX) for p in parts[:-1]):
            return  # inside AUFS metadata dirs (.wh..wh.plnk/...): never materialised
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(m, parts)
            return
        parent = self.tree.dir_fd(parts[:-1], m.name, create=True)
        if m.isdir():
            self._dir(parent, parts, m)
        elif m.isreg():
            self._file(tf, parent, parts, m)
        elif m.issym():
            self._symlink(parent, parts, m)
        elif m.islnk():
            self._hardlink(parts, m)
        elif m.ischr() or m.isblk() or m.isfifo():
            self._node(parent, parts, m)
        else:
            raise ArchiveError(f"layer member {m.name!r}: unsupported tar entry type {m.type!r}", member=m.name)

    # -- whiteouts -----------------------------------------------------------

    def _whiteout(self, m: TarInfo, parts: tuple[str, ...]) -> None:
        base = parts[-1]
        if base.startswith(WHITEOUT_META_PREFIX):
            # Only the opaque marker means something to overlay; AUFS
            # bookkeeping (.wh..wh.plnk, .wh..wh.aufs) is dropped, as Docker does.
            if base == OPAQUE_MARKER:
                parent = self.tree.dir_fd(parts[:-1], m.name, create=True)
                os.setxattr(parent, OPAQUE_XATTR, b"y")
            return
        hidden = base[len(WHITEOUT_PREFIX):]
        if hidden in ("", ".", ".."):
            raise UnsafeLayer(f"layer member {m.name!r}: invalid whiteout name", member=m.name)
        target = (*parts[:-1], hidden)
        parent = self.tree.dir_fd(target[:-1], m.name, create=True)
        self._create(parent, target, lambda: os.mknod(hidden, stat.S_IFCHR, os.makedev(0, 0), dir_fd=parent))
        os.chown(hidden, m.uid, m.gid, dir_fd=parent, follow_symlinks=False)
        self._utime(parent, hidden, m)

    # -- entry types ---------------------------------------------------------

    def _create(self, parent: int, parts: tuple[str, ...], make: Callable[[], _T]) -> _T:
        """Run ``make`` (which creates ``parts[-1]`` in ``parent``), replacing what is there.

        Trying first and removing only on EEXIST saves an lstat per member:
        names rarely repeat within a layer.
        """
        try:
            return make()
        except FileExistsError:
            self.tree.remove(parent, parts, keep_dir=False)
            return make()

    def _dir(self, parent: int, parts: tuple[str, ...], m: TarInfo) -> None:
        name = parts[-1]
        try:
            os.mkdir(name, 0o700, dir_fd=parent)
        except FileExistsError:
            if not self.tree.remove(parent, parts, keep_dir=True):
                os.mkdir(name, 0o700, dir_fd=parent)
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        try:
            self._dir_meta(fd, m)
        finally:
            os.close(fd)
        self._dir_times.append((parts, _ns(m)))

    def _dir_meta(self, fd: int, m: TarInfo) -> None:
        os.fchown(fd, m.uid, m.gid)
        os.fchmod(fd, m.mode & 0o7777)
        self._xattrs(fd, m)

    def _file(self, tf: TarFile, parent: int, parts: tuple[str, ...], m: TarInfo) -> None:
        name = parts[-1]
        fd = self._create(parent, parts, lambda: os.open(name, _NEW_FILE, 0o600, dir_fd=parent))
        try:
            if m.size:
                src = tf.extractfile(m)
                assert src is not None  # regular member
                # Raw os.write: no Python-level buffering for the many small files.
                while chunk := src.read(COPY_BUFSIZE):
                    _write_all(fd, chunk)
            # chown clears setuid/setgid and security.capability, and a write
            # would too: so content, then owner, then mode, then xattrs.
            os.fchown(fd, m.uid, m.gid)
            os.fchmod(fd, m.mode & 0o7777)
            self._xattrs(fd, m)
            _set_times(fd, _ns(m))
        finally:
            os.close(fd)
        self.size += m.size

    def _symlink(self, parent: int, parts: tuple[str, ...], m: TarInfo) -> None:
        # The target is stored as is: it is resolved at run time, inside the
        # container's rootfs, never by us.
        name = parts[-1]
        self._create(parent, parts, lambda: os.symlink(m.linkname, name, dir_fd=parent))
        os.chown(name, m.uid, m.gid, dir_fd=parent, follow_symlinks=False)
        self._xattrs(self.tree.path(parts), m)
        self._utime(parent, name, m)

    def _hardlink(self, parts: tuple[str, ...], m: TarInfo) -> None:
        target = clean_name(m.linkname)
        if not target:
            raise UnsafeLayer(
                f"layer member {m.name!r}: hardlink target {m.linkname!r} is outside the layer", member=m.name
            )
        if target == parts:
            return  # a link to itself: the entry is already there
        parent = self.tree.dir_fd(parts[:-1], m.name, create=True)
        # Remove first: it may drop cached fds under the replaced entry.
        self.tree.remove(parent, parts, keep_dir=False)
        try:
            target_parent = self.tree.dir_fd(target[:-1], m.name, create=False)
            st = os.lstat(target[-1], dir_fd=target_parent)
        except FileNotFoundError:
            raise UnsafeLayer(
                f"layer member {m.name!r}: hardlink target {m.linkname!r} is not in the layer", member=m.name
            ) from None
        if stat.S_ISDIR(st.st_mode):
            raise UnsafeLayer(f"layer member {m.name!r}: hardlink to directory {m.linkname!r}", member=m.name)
        # follow_symlinks=False: linkat without AT_SYMLINK_FOLLOW links a
        # symlink itself, never what it points to. The inode already carries
        # its metadata; touching it again (chown) could clear setuid bits.
        os.link(target[-1], parts[-1], src_dir_fd=target_parent, dst_dir_fd=parent, follow_symlinks=False)

    def _node(self, parent: int, parts: tuple[str, ...], m: TarInfo) -> None:
        name = parts[-1]
        if m.isfifo():
            kind, dev = stat.S_IFIFO, 0
        else:
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            dev = os.makedev(m.devmajor, m.devminor)
        self._create(parent, parts, lambda: os.mknod(name, kind | 0o600, dev, dir_fd=parent))
        os.chown(name, m.uid, m.gid, dir_fd=parent, follow_symlinks=False)
        # Not a symlink (we just made it), so chmod by name is safe.
        os.chmod(name, m.mode & 0o7777, dir_fd=parent)
        self._xattrs(self.tree.path(parts), m)
        self._utime(parent, name, m)

    # -- metadata ------------------------------------------------------------

    def _xattrs(self, target: int | str, m: TarInfo) -> None:
        for key, value in m.pax_headers.items():
            if not key.startswith(_XATTR_PAX):
                continue
            attr = key[len(_XATTR_PAX):]
            if not attr or attr.startswith(_OVERLAY_XATTRS):
                continue
            # tarfile decoded the raw value with surrogateescape: undo it.
            data = value.encode("utf-8", "surrogateescape")
            try:
                if isinstance(target, int):
                    os.setxattr(target, attr, data)
                else:
                    os.setxattr(target, attr, data, follow_symlinks=False)
            except OSError as e:
                # Namespaces the filesystem or our privileges do not allow
                # (user.* on symlinks, security.* under LSMs) are skipped.
                if e.errno not in _IGNORED_XATTR_ERRNOS:
                    raise

    def _utime(self, parent: int, name: str, m: TarInfo) -> None:
        _set_times(name, _ns(m), dir_fd=parent, follow_symlinks=False)

    def _apply_dir_times(self) -> None:
        # Last: creating entries in a dir bumps its mtime.
        for parts, ns in self._dir_times:
            if not parts:
                _set_times(self.tree.root_fd, ns)
                continue
            try:
                fd = self.tree.dir_fd(parts, "/".join(parts), create=False)
            except (FileNotFoundError, UnsafeLayer):
                continue  # removed or replaced by a non-directory later on
            _set_times(fd, ns)
            self.tree.trim()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _set_times(target: int | str, ns: int | None, **kw: object) -> None:
    if ns is None:
        return
    # A timestamp the filesystem cannot hold: keep the current one.
    with contextlib.suppress(OverflowError):
        os.utime(target, ns=(ns, ns), **kw)  # type: ignore[arg-type]
