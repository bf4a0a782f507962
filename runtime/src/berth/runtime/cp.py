"""``cp``: copy files between a container and the host, with Docker's path rules.

The container side is its root as the container sees it: for a running
container ``/proc/<pid>/root`` (its mount namespace: volumes and binds
included), for a stopped one its overlay mounted for the copy under the
container's op lock (so no start races it) and unmounted after; volumes are
not mounted for a stopped container.

Safety: container paths are resolved by hand, one ``O_NOFOLLOW`` component
at a time from a dir fd, with the container's root as ``/`` (an absolute
symlink restarts at it, ``..`` stops at it; as ``FollowSymlinkInScope``).
Every read and write below the resolved point is relative to a dir fd with
``O_NOFOLLOW``: an existing symlink in the way is replaced, never written
through, and a component swapped for a symlink meanwhile fails instead of
escaping.

Docker's rules: the last component of the source is not followed (a
symlink is copied as a symlink); ``SRC/.`` copies a directory's contents; a
directory copied to an existing directory is nested under its name, to a
missing path is created there; a file to an existing directory lands in it
under its name; ``DEST/`` must be an existing directory; the destination's
parent must exist. Modes and mtimes are kept; what is copied into a
container is owned by root (``docker cp`` without ``-a``), what is copied
out by the caller.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from berth.errors import BerthError, InvalidArgument, NotFound
from berth.runtime.context import RuntimeContext

MAX_SYMLINKS = 40
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_BUF = 1 << 20


class CopyError(BerthError):
    """The copy cannot be done as asked (Docker's path rules), or the filesystem refused it."""


class MissingParent(CopyError):
    """A directory on the way to the path does not exist."""


# -- where ------------------------------------------------------------------------
@dataclass
class Entry:
    """A name in an open directory (the directory fd is owned by the Entry)."""

    dir_fd: int
    name: str  # "." for the root itself
    shown: str  # the path as the user wrote it, for messages

    def lstat(self) -> os.stat_result | None:
        try:
            return os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def close(self) -> None:
        os.close(self.dir_fd)


def resolve_in_root(root_fd: int, path: str, *, follow_last: bool) -> Entry:
    """``path`` inside the root ``root_fd`` as (parent dir fd, last name); the last component may be missing.

    Raises ``CopyError`` when a parent is missing or not a directory, ``OSError`` on loops.
    """
    stack = [os.dup(root_fd)]
    todo = [p for p in reversed(path.split("/")) if p not in ("", ".")]
    links = 0
    try:
        while todo:
            name = todo.pop()
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            try:
                st = os.stat(name, dir_fd=stack[-1], follow_symlinks=False)
            except FileNotFoundError:
                if todo:
                    raise MissingParent(f"no such directory in the container: {path} "
                                    f"(a parent of the destination must exist)", path=path) from None
                return Entry(stack.pop(), name, path)
            if stat.S_ISLNK(st.st_mode) and (todo or follow_last):
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
                target = os.readlink(name, dir_fd=stack[-1])
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop())
                todo.extend(p for p in reversed(target.split("/")) if p not in ("", "."))
                continue
            if not todo:
                return Entry(stack.pop(), name, path)
            if not stat.S_ISDIR(st.st_mode):
                raise CopyError(f"not a directory: {path}", path=path)
            stack.append(os.open(name, _PATH | os.O_DIRECTORY, dir_fd=stack[-1]))
        # the root itself
        return Entry(stack.pop(), ".", path)
    finally:
        for fd in stack:
            os.close(fd)


def resolve_on_host(path: str, *, follow_last: bool) -> Entry:
    """A host path as an Entry: the parent is opened normally (the caller's own filesystem)."""
    p = Path(path).absolute()
    if str(p) == "/":
        return Entry(os.open("/", _PATH | os.O_DIRECTORY), ".", path)
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
@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int


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
                into = os.open(dst.name, _DIR, dir_fd=dst.dir_fd)
                try:
                    if src_is_dir and (contents_only or src.name == "."):
                        _copy_contents(src, into, owner)
                    else:
                        _copy_entry(src.dir_fd, src.name if src.name != "." else "", into,
                                    _basename(src, src_path), owner)
                finally:
                    os.close(into)
            elif dst_st is not None and src_is_dir:
                raise CopyError(f"cannot copy a directory to a file: {dst_path}", path=dst_path)
            else:
                _copy_entry(src.dir_fd, src.name, dst.dir_fd, dst.name, owner)
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
    fd = os.open(src.name, _DIR, dir_fd=src.dir_fd)
    try:
        for name in sorted(os.listdir(fd)):
            _copy_entry(fd, name, into, name, owner)
    finally:
        os.close(fd)


def _set_meta(fd: int, owner: Owner | None, st: os.stat_result) -> None:
    """Owner (if given), mode and times of a copied file or directory, from ``st``."""
    if owner is not None:
        os.fchown(fd, owner.uid, owner.gid)
    os.fchmod(fd, stat.S_IMODE(st.st_mode))  # after chown, which clears setuid bits
    os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))


def _copy_entry(src_dir: int, src_name: str, dst_dir: int, dst_name: str, owner: Owner | None) -> None:
    """Copy one entry (recursively) from ``src_dir/src_name`` to ``dst_dir/dst_name``, all by fd."""
    if src_name == "":
        src_name = "."
    st = os.stat(src_name, dir_fd=src_dir, follow_symlinks=False)
    mode = st.st_mode
    existing = _lstat(dst_dir, dst_name)
    if existing is not None and not (stat.S_ISDIR(mode) and stat.S_ISDIR(existing.st_mode)):
        _remove(dst_dir, dst_name, existing)  # as Docker's untar: replace, unless dir over dir
    if stat.S_ISDIR(mode):
        if existing is None or not stat.S_ISDIR(existing.st_mode):
            os.mkdir(dst_name, 0o700, dir_fd=dst_dir)
        sfd = os.open(src_name, _DIR, dir_fd=src_dir)
        try:
            dfd = os.open(dst_name, _DIR, dir_fd=dst_dir)
            try:
                for name in sorted(os.listdir(sfd)):
                    _copy_entry(sfd, name, dfd, name, owner)
                _set_meta(dfd, owner, st)
            finally:
                os.close(dfd)
        finally:
            os.close(sfd)
        return
    if stat.S_ISREG(mode):
        sfd = os.open(src_name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src_dir)
        try:
            dfd = os.open(dst_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                          dir_fd=dst_dir)
            try:
                _copy_bytes(sfd, dfd, st.st_size)
                _set_meta(dfd, owner, st)
            finally:
                os.close(dfd)
        finally:
            os.close(sfd)
        return
    if stat.S_ISLNK(mode):
        os.symlink(os.readlink(src_name, dir_fd=src_dir), dst_name, dir_fd=dst_dir)
    elif stat.S_ISFIFO(mode):
        os.mkfifo(dst_name, stat.S_IMODE(mode), dir_fd=dst_dir)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        os.mknod(dst_name, mode, st.st_rdev, dir_fd=dst_dir)
    else:
        return  # sockets are not copied (Docker's tar skips them)
    if owner is not None:
        os.chown(dst_name, owner.uid, owner.gid, dir_fd=dst_dir, follow_symlinks=False)
    if not stat.S_ISLNK(mode):
        os.chmod(dst_name, stat.S_IMODE(mode), dir_fd=dst_dir, follow_symlinks=False)
    with contextlib.suppress(OSError):
        os.utime(dst_name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dst_dir, follow_symlinks=False)


def _lstat(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _remove(dir_fd: int, name: str, st: os.stat_result) -> None:
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd)  # fd-based: does not follow symlinks inside
    else:
        os.unlink(name, dir_fd=dir_fd)


def _copy_bytes(src: int, dst: int, size: int) -> None:
    try:
        while os.copy_file_range(src, dst, _BUF):
            pass
        return
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
    os.lseek(src, 0, os.SEEK_SET)
    os.lseek(dst, 0, os.SEEK_SET)
    os.ftruncate(dst, 0)
    while chunk := os.read(src, _BUF):
        os.write(dst, chunk)
