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
from dataclasses import dataclass, field
from pathlib import Path

from berth.errors import BerthError, InvalidArgument, NotFound
from berth.rootpath import DIR_FLAGS, CopyOptions, Entry, Owner, copy_bytes, copy_contents, copy_entry, resolve
from berth.runtime.context import RuntimeContext

__all__ = ["CopyError", "FileState", "MissingParent", "Owner", "container_root", "copy", "read_file",
           "split_container_arg", "write_file"]


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
