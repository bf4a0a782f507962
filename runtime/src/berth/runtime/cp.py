"""``cp``: copy files between a container and the host, with Docker's path rules.

The container side is its root as the container sees it: for a running
container ``/proc/<pid>/root`` (its mount namespace: volumes and binds
included), for a stopped one its overlay mounted for the copy under the
container's op lock (so no start races it) and unmounted after; volumes are
not mounted for a stopped container.

Safety: container paths are resolved by ``berth.rootpath`` (one ``O_NOFOLLOW``
component at a time from a dir fd, with the container's root as ``/``), and
the copy itself is made by fd below the resolved point: an existing symlink
in the way is replaced, never written through.

Docker's rules: the last component of the source is not followed (a
symlink is copied as a symlink); ``SRC/.`` copies a directory's contents; a
directory copied to an existing directory is nested under its name, to a
missing path is created there; a file to an existing directory lands in it
under its name; ``DEST/`` must be an existing directory; the destination's
parent must exist. Modes and mtimes are kept; what is copied into a
container is owned by root (``docker cp`` without ``-a``), what is copied
out by the caller.

One file by content (``read_file`` / ``write_file``, what the collection's copy module uses):
read with its sha256, mode and owner; replaced by a temp file renamed over it, so the
container never sees half a file, with the mode and owner asked for.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from berth.errors import BerthError, InvalidArgument, NotFound
from berth.rootpath import (
    DIR_FLAGS,
    CopyOptions,
    Entry,
    Owner,
    copy_bytes,
    copy_contents,
    copy_entry,
    remove_at,
    resolve,
)
from berth.runtime.context import RuntimeContext
from berth.structs import dataclass, field

if TYPE_CHECKING:
    import tarfile

__all__ = ["CopyError", "FileState", "MissingParent", "Owner", "UnsafeArchive", "container_root", "copy",
           "extract_archive", "read_file", "split_container_arg", "spool", "write_archive", "write_file"]


class CopyError(BerthError):
    """The copy cannot be done as asked (Docker's path rules), or the filesystem refused it."""


class MissingParent(CopyError):
    """A directory on the way to the path does not exist."""


# -- where ------------------------------------------------------------------------
def resolve_in_root(root_fd: int, path: str, *, follow_last: bool) -> Entry:
    """``path`` inside the root ``root_fd`` as (parent dir fd, last name); the last component may be missing.

    Raises ``CopyError`` when a parent is missing or not a directory, ``OSError`` on loops.
    """
    try:
        return resolve(root_fd, path, follow_last=follow_last)
    except FileNotFoundError:
        raise MissingParent(f"no such directory in the container: {path} "
                            f"(a parent of the destination must exist)", path=path) from None
    except NotADirectoryError:
        raise CopyError(f"not a directory: {path}", path=path) from None


def resolve_on_host(path: str, *, follow_last: bool) -> Entry:
    """A host path as an Entry: the parent is opened normally (the caller's own filesystem)."""
    p = Path(path).absolute()
    if str(p) == "/":
        return Entry(os.open("/", os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_DIRECTORY), ".", path)
    if follow_last and os.path.lexists(p):
        p = p.resolve()
    try:
        fd = os.open(p.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise MissingParent(f"no such directory: {p.parent} (a parent of the destination must exist)",
                        path=path) from None
    except NotADirectoryError:
        raise CopyError(f"not a directory: {p.parent}", path=path) from None
    return Entry(fd, p.name, path)


# -- the container side ---------------------------------------------------------------
@contextmanager
def container_root(ctx: RuntimeContext, cid: str, layer_dirs: list[Path]) -> Iterator[int]:
    """An O_PATH fd on the container's root for the duration of the copy."""
    from berth.locks import file_lock
    from berth.runtime.liveness import is_alive
    from berth.runtime.mountutil import is_mountpoint
    from berth.runtime.rootfs import mount_rootfs, unmount_rootfs

    st = ctx.containers.state(cid)
    if is_alive(st.Pid, st.PidStartTime):
        fd = os.open(f"/proc/{st.Pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            yield fd
        finally:
            os.close(fd)
        return
    with file_lock(ctx.op_lock(cid)):
        st = ctx.containers.state(cid)
        if is_alive(st.Pid, st.PidStartTime):  # started meanwhile: its process's view
            with container_root(ctx, cid, layer_dirs) as fd:
                yield fd
            return
        target = ctx.rootfs(cid)
        mounted = not is_mountpoint(target)
        mount_rootfs(layer_dirs, ctx.containers.dir(cid), target)
        try:
            fd = os.open(target, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                yield fd
            finally:
                os.close(fd)
        finally:
            if mounted:
                unmount_rootfs(target)


def split_container_arg(arg: str) -> tuple[str, str] | None:
    """``CONTAINER:PATH`` -> (container, path); a host path (absolute, ``./x``, no colon) -> None."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return None
    ref, _, path = arg.partition(":")
    return (ref, path) if ref else None


# -- copying ------------------------------------------------------------------------------
def copy(src_root: int | None, src_path: str, dst_root: int | None, dst_path: str, *,
         owner: Owner | None) -> None:
    """Copy ``src_path`` to ``dst_path`` by Docker's rules; a root fd of None means the host filesystem.

    ``owner``: chown everything created (into a container: root); None keeps the caller's ownership.
    """
    if not dst_path:
        raise InvalidArgument("cp: the destination path must not be empty", value=dst_path)
    contents_only = src_path.endswith(("/.", "/./")) or src_path in (".", "./")
    src_slash = src_path.endswith("/")
    dst_slash = dst_path.endswith(("/", "/."))
    missing = NotFound(f"Could not find the file {src_path}" + (" in container" if src_root is not None else ""),
                       path=src_path)
    try:
        src = (resolve_in_root(src_root, src_path, follow_last=False) if src_root is not None
               else resolve_on_host(src_path, follow_last=False))
    except MissingParent:
        raise missing from None
    try:
        sst = src.lstat()
        if sst is None:
            raise missing
        src_is_dir = stat.S_ISDIR(sst.st_mode)
        if not src_is_dir and (contents_only or src_slash):
            raise CopyError(f"not a directory: {src_path}", path=src_path)
        dst = (resolve_in_root(dst_root, dst_path, follow_last=True) if dst_root is not None
               else resolve_on_host(dst_path, follow_last=True))
        try:
            dst_st = dst.lstat()
            if dst_st is None and dst_slash:
                raise CopyError(f"destination directory {dst_path} must exist", path=dst_path)
            if dst_st is not None and stat.S_ISDIR(dst_st.st_mode):
                into = os.open(dst.name, DIR_FLAGS, dir_fd=dst.dir_fd)
                try:
                    if src_is_dir and (contents_only or src.name == "."):
                        _copy_contents(src, into, owner)
                    else:
                        copy_entry(src.dir_fd, src.name if src.name != "." else "", into,
                                   _basename(src, src_path), CopyOptions(owner=owner))
                finally:
                    os.close(into)
            elif dst_st is not None and src_is_dir:
                raise CopyError(f"cannot copy a directory to a file: {dst_path}", path=dst_path)
            else:
                copy_entry(src.dir_fd, src.name, dst.dir_fd, dst.name, CopyOptions(owner=owner))
        finally:
            dst.close()
    finally:
        src.close()


def _basename(src: Entry, shown: str) -> str:
    name = src.name
    if name in (".", ""):
        raise CopyError(f"cannot copy the root {shown} into a directory; use {shown.rstrip('/')}/. "
                        f"to copy its contents", path=shown)
    return name


def _copy_contents(src: Entry, into: int, owner: Owner | None) -> None:
    fd = os.open(src.name, DIR_FLAGS, dir_fd=src.dir_fd)
    try:
        copy_contents(fd, into, CopyOptions(owner=owner))
    finally:
        os.close(fd)


# -- one file, by content (the Ansible copy module) --------------------------------------------
@dataclass(frozen=True)
class FileState:
    """What is at a path in a container: ``kind`` file / directory / symlink / other, its
    metadata, and for a file its sha256 and (up to the read limit) its bytes."""

    kind: str
    mode: int
    uid: int
    gid: int
    size: int
    sha256: str | None = None
    content: bytes | None = field(default=None, repr=False)
    target: str | None = None  # a symlink's


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    return "symlink" if stat.S_ISLNK(mode) else "other"


def read_file(root_fd: int, path: str, *, follow: bool, read_limit: int) -> FileState | None:
    """The file at ``path`` inside the root (None: nothing there); its bytes when at most
    ``read_limit``. Raises ``MissingParent`` / ``CopyError`` when its directory cannot exist."""
    entry = resolve_in_root(root_fd, path, follow_last=follow)
    try:
        st = entry.lstat()
        if st is None:
            return None
        kind = _kind(st.st_mode)
        base = {"kind": kind, "mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid,
                "size": st.st_size}
        if kind == "symlink":
            return FileState(**base, target=os.readlink(entry.name, dir_fd=entry.dir_fd))
        if kind != "file":
            return FileState(**base)
        fd = os.open(entry.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=entry.dir_fd)
        with os.fdopen(fd, "rb") as f:
            digest, content = _hash(f, read_limit)
        return FileState(**base, sha256=digest, content=content)
    finally:
        entry.close()


def _hash(f, read_limit: int) -> tuple[str, bytes | None]:
    h = hashlib.sha256()
    kept = bytearray()
    size = 0
    while chunk := f.read(1 << 20):
        h.update(chunk)
        size += len(chunk)
        if size <= read_limit:
            kept += chunk
    return h.hexdigest(), (bytes(kept) if size <= read_limit else None)


def write_file(root_fd: int, path: str, *, data: bytes | None = None, source: str | None = None, mode: int,
               uid: int, gid: int, follow: bool) -> None:
    """Replace the file at ``path`` inside the root with ``data`` (or the host file ``source``),
    owned by ``uid:gid`` with ``mode``: written to a temp file beside it, then renamed over it,
    so the container never sees half a file. Without ``follow`` a symlink there is replaced
    itself; with it, its target (inside the root) is."""
    entry = resolve_in_root(root_fd, path, follow_last=follow)
    try:
        st = entry.lstat()
        if entry.name == "." or (st is not None and stat.S_ISDIR(st.st_mode)):
            raise CopyError(f"{path} is a directory in the container", path=path)
        tmp = f".berth-copy-{secrets.token_hex(6)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=entry.dir_fd)
        try:
            try:
                if source is not None:
                    src = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
                    try:
                        copy_bytes(src, fd)
                    finally:
                        os.close(src)
                else:
                    _write_all(fd, data or b"")
                os.fchown(fd, uid, gid)
                os.fchmod(fd, mode)  # after chown, which clears setuid bits
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, entry.name, src_dir_fd=entry.dir_fd, dst_dir_fd=entry.dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=entry.dir_fd)
            raise
    finally:
        entry.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# -- tar streams (``cp - CONTAINER:DIR``, ``cp CONTAINER:PATH -``) -------------------------------------
class UnsafeArchive(CopyError):
    """A member of a tar given to ``cp -`` would land outside its destination, or cannot be made."""


#: tar entry types ``cp -`` makes: regular (and contiguous) files, dirs, symlinks, hardlinks, devices, fifos
_TAR_TYPES = (b"0", b"\0", b"5", b"2", b"1", b"3", b"4", b"6", b"7")
_SPOOL_BUF = 1 << 20


def spool(stream: BinaryIO, directory: Path) -> BinaryIO:
    """Copy ``stream`` (stdin) into an unnamed temp file in ``directory`` (gone with its last fd, even
    after a crash), so the archive can be checked whole before anything is written."""
    import tempfile

    directory.mkdir(parents=True, exist_ok=True)
    f = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - handed to the caller
    try:
        while chunk := stream.read(_SPOOL_BUF):
            f.write(chunk)
        f.seek(0)
    except BaseException:
        f.close()
        raise
    return f


def _open_archive(f: BinaryIO) -> tarfile.TarFile:
    import tarfile

    from berth.layers.stream import open_decompressed

    f.seek(0)
    kind, plain = open_decompressed(f)
    try:
        return tarfile.open(fileobj=plain, mode="r|", encoding="utf-8", errors="surrogateescape")  # type: ignore[arg-type]
    except Exception as exc:
        what = "a tar archive" if kind == "tar" else f"a {kind}-compressed tar archive"
        raise CopyError(f"cp: the input is not {what}: {exc}") from None


def _members(f: BinaryIO) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    tf = _open_archive(f)
    with tf:
        last = "<start of archive>"
        while True:
            try:
                m = tf.next()
            except Exception as exc:
                raise CopyError(f"cp: corrupt or truncated tar archive after member {last!r}: {exc}") from None
            if m is None:
                return
            tf.members.clear()  # stream mode would keep every header
            yield tf, m
            last = m.name


@dataclass
class _Plan:
    """What the first pass learnt: the archive's entries by their place under the destination."""

    entries: int = 0
    kinds: dict[tuple[str, ...], bool] = field(default_factory=dict)  # parts -> is a directory


def check_archive(root_fd: int, dest: tuple[str, ...], f: BinaryIO) -> _Plan:
    """The first pass: every member's name stays under the destination, its type is one we make, a
    hardlink names an entry of the archive or a file already there, and no directory replaces a
    non-directory or the reverse (Docker's ``noOverwriteDirNonDir``). Nothing is written."""
    from berth.layers.names import clean_name

    plan = _Plan()
    for _tf, m in _members(f):
        plan.entries += 1
        if len(m.name) > 4096 or "\0" in m.name:
            raise UnsafeArchive(f"cp: tar member {m.name[:64]!r}...: invalid name (too long, or a NUL byte)",
                                member=m.name[:64])
        parts = clean_name(m.name)
        if parts is None:
            raise UnsafeArchive(f"cp: tar member {m.name!r} would be written outside the destination", member=m.name)
        if m.type not in _TAR_TYPES:
            raise UnsafeArchive(f"cp: tar member {m.name!r}: unsupported entry type {m.type!r}", member=m.name)
        if not parts and not m.isdir():
            raise UnsafeArchive(f"cp: tar member {m.name!r} would replace the destination directory", member=m.name)
        if m.islnk():
            target = clean_name(m.linkname)
            if not target:
                raise UnsafeArchive(f"cp: tar member {m.name!r}: hardlink target {m.linkname!r} is outside the "
                                    f"destination", member=m.name)
            known = plan.kinds.get(target)
            if known is None:
                st = _lstat_in(root_fd, (*dest, *target), follow_last=False)
                known = None if st is None else stat.S_ISDIR(st.st_mode)
            if known is None:
                raise UnsafeArchive(f"cp: tar member {m.name!r}: hardlink target {m.linkname!r} is neither in the "
                                    f"archive nor in the container", member=m.name)
            if known:
                raise UnsafeArchive(f"cp: tar member {m.name!r}: hardlink to a directory ({m.linkname!r})",
                                    member=m.name)
        is_dir = m.isdir()
        if parts:
            was = plan.kinds.get(parts)
            if was is None:
                st = _lstat_in(root_fd, (*dest, *parts), follow_last=False)
                was = None if st is None else stat.S_ISDIR(st.st_mode)
            if was is not None and was != is_dir:
                what = "directory" if was else "non-directory"
                raise CopyError(f"cp: cannot overwrite {what} {'/' + '/'.join((*dest, *parts))} with "
                                f"{'directory' if is_dir else 'non-directory'} {m.name!r}", member=m.name)
            plan.kinds[parts] = is_dir
    return plan


def _lstat_in(root_fd: int, parts: tuple[str, ...], *, follow_last: bool) -> os.stat_result | None:
    """What is at ``parts`` inside the root now (symlinks on the way followed inside it); None: nothing,
    or a parent is missing (the archive makes it)."""
    try:
        entry = resolve(root_fd, "/".join(parts), follow_last=follow_last)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        return entry.lstat()
    finally:
        entry.close()


def extract_archive(root_fd: int, dest_path: str, f: BinaryIO) -> int:
    """``cp - CONTAINER:DIR``: unpack the tar in ``f`` (plain, gzip, bzip2, xz or zstd) into the existing
    directory ``dest_path`` of the root ``root_fd``, as ``docker cp -`` does: names are relative to the
    directory (a leading ``/`` is dropped; a ``..`` climbing above it refuses the archive), owners, modes
    and times come from the headers, a directory over a directory keeps its content, other entries are
    replaced. Every path is resolved inside the root (its symlinks, the archive's own included, are
    followed with the root as ``/``, as in Docker's chrooted untar), so nothing is written outside it.
    The whole archive is checked first (``check_archive``); returns the number of members."""
    from berth.layers.names import clean_name

    dest = _dest_dir(root_fd, dest_path)
    plan = check_archive(root_fd, dest, f)
    dir_times: list[tuple[tuple[str, ...], int]] = []
    for tf, m in _members(f):
        parts = clean_name(m.name)
        assert parts is not None  # checked
        if not parts:
            continue  # the destination itself ("./"): left as it is, as Docker's untar skips "."
        try:
            _extract_member(root_fd, dest, parts, tf, m, dir_times)
        except OSError as exc:
            raise CopyError(f"cp: tar member {m.name!r}: {exc.strerror or exc}", member=m.name,
                            errno=exc.errno) from None
    for parts, ns in reversed(dir_times):  # last: creating entries in a directory changes its mtime
        with contextlib.suppress(OSError):
            entry = resolve(root_fd, "/".join((*dest, *parts)), follow_last=False)
            try:
                fd = os.open(entry.name, DIR_FLAGS, dir_fd=entry.dir_fd)
                try:
                    os.utime(fd, ns=(ns, ns))
                finally:
                    os.close(fd)
            finally:
                entry.close()
    return plan.entries


def _dest_dir(root_fd: int, dest_path: str) -> tuple[str, ...]:
    """The destination directory's place from the root (symlinks resolved inside it)."""
    with _existing(root_fd, dest_path, follow_last=True) as (entry, st):
        if not stat.S_ISDIR(st.st_mode):
            raise CopyError(f"cp: destination {dest_path} must be a directory when copying from a tar stream",
                            path=dest_path)
        return entry.parts


@contextmanager
def _existing(root_fd: int, path: str, *, follow_last: bool) -> Iterator[tuple[Entry, os.stat_result]]:
    """``path`` in the container (symlinks resolved inside its root) and its lstat, closed after;
    NotFound worded as ``docker cp`` words it."""
    missing = NotFound(f"Could not find the file {path} in container", path=path)
    try:
        entry = resolve(root_fd, path, follow_last=follow_last)
    except (FileNotFoundError, NotADirectoryError):
        raise missing from None
    try:
        st = entry.lstat()
        if st is None:
            raise missing
        yield entry, st
    finally:
        entry.close()


def _mkdir_implied(dir_fd: int, name: str) -> None:
    os.mkdir(name, 0o755, dir_fd=dir_fd)  # a parent the archive does not list: 0755, as Docker's untar


def _extract_member(root_fd: int, dest: tuple[str, ...], parts: tuple[str, ...], tf: tarfile.TarFile,
                    m: tarfile.TarInfo, dir_times: list) -> None:
    from berth.layers.names import clean_name

    ns = _mtime_ns(m)
    entry = resolve(root_fd, "/".join((*dest, *parts)), follow_last=False, mkdir=_mkdir_implied)
    try:
        d, name = entry.dir_fd, entry.name
        if name == ".":  # resolved (through the archive's own symlinks) to a directory's self: nothing to make
            raise UnsafeArchive(f"cp: tar member {m.name!r} resolves to an existing directory itself", member=m.name)
        existing = entry.lstat()
        if existing is not None and not (m.isdir() and stat.S_ISDIR(existing.st_mode)):
            remove_at(d, name, existing)
            existing = None
        if m.isdir():
            if existing is None:
                os.mkdir(name, 0o700, dir_fd=d)
            fd = os.open(name, DIR_FLAGS, dir_fd=d)
            try:
                _meta_fd(fd, m)
            finally:
                os.close(fd)
            if ns is not None:
                dir_times.append((parts, ns))
        elif m.isreg():
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=d)
            try:
                src = tf.extractfile(m)
                if src is not None:
                    while chunk := src.read(_SPOOL_BUF):
                        _write_all(fd, chunk)
                _meta_fd(fd, m)
                if ns is not None:
                    os.utime(fd, ns=(ns, ns))
            finally:
                os.close(fd)
        elif m.islnk():
            target = clean_name(m.linkname)
            assert target  # checked
            src = resolve(root_fd, "/".join((*dest, *target)), follow_last=False)
            try:
                os.link(src.name, name, src_dir_fd=src.dir_fd, dst_dir_fd=d, follow_symlinks=False)
            finally:
                src.close()
        else:
            if m.issym():
                os.symlink(m.linkname, name, dir_fd=d)  # stored as is: resolved inside the container later
            elif m.isfifo():
                os.mkfifo(name, 0o600, dir_fd=d)
            else:
                kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
                os.mknod(name, kind | 0o600, os.makedev(m.devmajor, m.devminor), dir_fd=d)
            os.chown(name, m.uid, m.gid, dir_fd=d, follow_symlinks=False)
            if not m.issym():  # just made by us, not a symlink: chmod by name is safe
                os.chmod(name, m.mode & 0o7777, dir_fd=d)
            if ns is not None:
                with contextlib.suppress(OSError):
                    os.utime(name, ns=(ns, ns), dir_fd=d, follow_symlinks=False)
    finally:
        entry.close()


def _meta_fd(fd: int, m: tarfile.TarInfo) -> None:
    os.fchown(fd, m.uid, m.gid)
    os.fchmod(fd, m.mode & 0o7777)  # after chown, which clears setuid bits


def _mtime_ns(m: tarfile.TarInfo) -> int | None:
    try:
        return int(m.mtime * 1_000_000_000)
    except (OverflowError, ValueError, TypeError):
        return None


def write_archive(root_fd: int, src_path: str, out: BinaryIO) -> None:
    """``cp CONTAINER:PATH -``: a tar of ``src_path`` on ``out``, as ``docker cp ... -`` streams it: the
    top entry is named after the path's last component (a symlink there is archived as a symlink), or
    ``.`` for ``DIR/.`` (the directory's content); hardlinked files are archived once and linked. Read by
    fd from the container's root, never through a path the container could redirect."""
    contents_only = src_path.endswith(("/.", "/./")) or src_path in (".", "./")
    with _existing(root_fd, src_path, follow_last=src_path.endswith("/") or contents_only) as (entry, st):
        if (contents_only or src_path.endswith("/")) and not stat.S_ISDIR(st.st_mode):
            raise CopyError(f"not a directory: {src_path}", path=src_path)
        top = "." if contents_only or entry.name == "." else entry.name
        import tarfile

        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, encoding="utf-8",
                          errors="surrogateescape") as tf:
            _TarWriter(tf).add(entry.dir_fd, entry.name, top)


class _TarWriter:
    def __init__(self, tf: tarfile.TarFile) -> None:
        self.tf = tf
        self.links: dict[tuple[int, int], str] = {}  # (dev, ino) of a file with several names -> its first

    def add(self, dir_fd: int, name: str, arcname: str) -> None:
        import tarfile

        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        mode = st.st_mode
        if stat.S_ISSOCK(mode):
            return  # as Docker's tar: sockets are skipped
        info = tarfile.TarInfo(arcname)
        info.mode, info.uid, info.gid = stat.S_IMODE(mode), st.st_uid, st.st_gid
        info.mtime = int(st.st_mtime)  # whole seconds, as Docker writes them (no PAX record per entry)
        if stat.S_ISDIR(mode):
            info.type = tarfile.DIRTYPE
            self.tf.addfile(info)
            fd = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
            try:
                for child in sorted(os.listdir(fd)):
                    self.add(fd, child, f"{arcname}/{child}")
            finally:
                os.close(fd)
            return
        if stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in self.links:
                info.type, info.linkname = tarfile.LNKTYPE, self.links[key]
                self.tf.addfile(info)
                return
            if st.st_nlink > 1:
                self.links[key] = arcname
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
            with os.fdopen(fd, "rb") as f:
                info.size = os.fstat(f.fileno()).st_size
                self.tf.addfile(info, f)
            return
        if stat.S_ISLNK(mode):
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(name, dir_fd=dir_fd)
        elif stat.S_ISFIFO(mode):
            info.type = tarfile.FIFOTYPE
        else:
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        self.tf.addfile(info)
