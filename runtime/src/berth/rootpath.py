"""Paths inside a root directory, resolved and written by fd as if the root were ``/`` (a chroot).

One walk serves every place that must not leave a root: reading a container's /etc files
(``containers.rootfs``), ``docker cp`` (``runtime.cp``) and the build's COPY/ADD (``build.context``).

Every component is opened relative to its parent with ``O_NOFOLLOW``; a symlink is resolved by
hand with the root as ``/`` (absolute targets restart at the root, ``..`` stops at it), like
``openat2(RESOLVE_IN_ROOT)`` or Docker's ``FollowSymlinkInScope``. A link to ``/etc/shadow``
therefore names the root's own ``etc/shadow``, and a component swapped for a symlink during the
walk fails instead of escaping. Below the resolved point, reads and writes are relative to dir
fds with ``O_NOFOLLOW``: an existing symlink in the way is replaced, never written through.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable
from enum import Enum

from berth.structs import dataclass

MAX_SYMLINKS = 40  # as the kernel (ELOOP)
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_BUF = 1 << 20


@dataclass
class Entry:
    """A name in an open directory, found inside a root (the directory fd is owned by the Entry)."""

    dir_fd: int
    name: str  # "." for the root itself
    shown: str  # the path as the caller wrote it, for messages
    parts: tuple[str, ...] = ()  # where it is from the root, symlinks on the way resolved

    def lstat(self) -> os.stat_result | None:
        return lstat_at(self.dir_fd, self.name)

    def close(self) -> None:
        os.close(self.dir_fd)

    def __enter__(self) -> Entry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: called for each existing component met on the way: its parts from the root and its lstat
Visit = Callable[[tuple[str, ...], os.stat_result], None]
#: creates the missing directory ``name`` in the dir fd (the walk then enters it)
Mkdir = Callable[[int, str], None]


def components(path: str) -> list[str]:
    """Components of ``path`` in reverse order (a stack), without empty and "." parts."""
    return [p for p in reversed(path.split("/")) if p not in ("", ".")]


def resolve(root_fd: int, path: str, *, follow_last: bool, mkdir: Mkdir | None = None,
            visit: Visit | None = None) -> Entry:
    """``path`` inside the root ``root_fd`` as (parent dir fd, last name); the last component may be missing.

    Symlinks on the way are followed inside the root, the last one only with ``follow_last``.
    A missing directory on the way is made by ``mkdir`` or raises ``FileNotFoundError``; a
    non-directory on the way raises ``NotADirectoryError``; a loop ``OSError(ELOOP)``.
    """
    stack = [os.dup(root_fd)]  # fds from the root down
    names: list[str] = []  # names[i] is the name of stack[i + 1]
    todo = components(path)
    links = 0
    try:
        while todo:
            name = todo.pop()
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                    names.pop()
                continue
            st = lstat_at(stack[-1], name)
            if st is None:
                if not todo:
                    return Entry(stack.pop(), name, path, (*names, name))
                if mkdir is None:
                    raise FileNotFoundError(errno.ENOENT, "no such directory", path)
                mkdir(stack[-1], name)
                st = os.stat(name, dir_fd=stack[-1], follow_symlinks=False)
            if visit is not None:
                visit((*names, name), st)
            if stat.S_ISLNK(st.st_mode) and (todo or follow_last):
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
                target = os.readlink(name, dir_fd=stack[-1])
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop())
                    names.clear()
                todo.extend(components(target))
                continue
            if not todo:
                return Entry(stack.pop(), name, path, (*names, name))
            if not stat.S_ISDIR(st.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
            stack.append(os.open(name, _PATH | os.O_DIRECTORY, dir_fd=stack[-1]))
            names.append(name)
        # the root itself, or a directory reached through ".." or a symlink: named "." in itself
        return Entry(stack.pop(), ".", path, tuple(names))
    finally:
        for fd in stack:
            os.close(fd)


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def remove_at(dir_fd: int, name: str, st: os.stat_result) -> None:
    if stat.S_ISDIR(st.st_mode):
        import shutil

        shutil.rmtree(name, dir_fd=dir_fd)  # fd-based: does not follow symlinks inside
    else:
        os.unlink(name, dir_fd=dir_fd)


def copy_bytes(src: int, dst: int) -> None:
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


# -- copying trees by fd ----------------------------------------------------------------------
@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int


class Pick(Enum):
    """What a filter makes of an entry of a copied directory."""

    INCLUDE = "include"
    EXCLUDE = "exclude"
    #: the directory itself is left out but some of its content is not (``.dockerignore``'s
    #: ``dir`` + ``!dir/keep``): it exists only if something lands in it, 0755 as an implied parent
    DESCEND = "descend"


#: the entry's parts below the copied directory, and whether it is a directory
Filter = Callable[[tuple[str, ...], bool], Pick]


@dataclass(frozen=True)
class CopyOptions:
    owner: Owner | None = None  # chown everything copied; None keeps the source's owner
    mode: int | None = None  # chmod copied files and directories (COPY --chmod); None keeps theirs
    pick: Filter | None = None  # which content of a directory is copied; None: all


def set_meta(fd: int, st: os.stat_result, opts: CopyOptions) -> None:
    """Owner, mode and times of a copied file or directory, from ``st`` and the options."""
    if opts.owner is not None:
        os.fchown(fd, opts.owner.uid, opts.owner.gid)
    # after chown, which clears setuid bits
    os.fchmod(fd, opts.mode if opts.mode is not None else stat.S_IMODE(st.st_mode))
    os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))


def copy_contents(src_dir: int, dst_dir: int, opts: CopyOptions, rel: tuple[str, ...] = ()) -> bool:
    """Copy what is in the open directory ``src_dir`` into the open directory ``dst_dir``.

    Returns whether anything was copied."""
    copied = False
    for name in sorted(os.listdir(src_dir)):
        copied |= copy_entry(src_dir, name, dst_dir, name, opts, (*rel, name))
    return copied


def copy_entry(src_dir: int, src_name: str, dst_dir: int, dst_name: str, opts: CopyOptions,
               rel: tuple[str, ...] = ()) -> bool:
    """Copy one entry (recursively) from ``src_dir/src_name`` to ``dst_dir/dst_name``, all by fd.

    ``rel`` names the entry for ``opts.pick`` (the top entry of a copy is not filtered).
    Returns whether anything was copied (False: filtered out, or a socket).
    """
    st = os.stat(src_name or ".", dir_fd=src_dir, follow_symlinks=False)
    mode = st.st_mode
    pick = opts.pick(rel, stat.S_ISDIR(mode)) if opts.pick is not None and rel else Pick.INCLUDE
    if pick is Pick.EXCLUDE or stat.S_ISSOCK(mode):
        return False  # sockets are not copied (Docker's tar skips them)
    existing = lstat_at(dst_dir, dst_name)
    if existing is not None and not (stat.S_ISDIR(mode) and stat.S_ISDIR(existing.st_mode)):
        remove_at(dst_dir, dst_name, existing)  # as Docker's untar: replace, unless dir over dir
        existing = None
    if stat.S_ISDIR(mode):
        return _copy_dir(src_dir, src_name or ".", dst_dir, dst_name, st, opts, rel,
                         created=existing is None, implied=pick is Pick.DESCEND)
    if stat.S_ISREG(mode):
        sfd = os.open(src_name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src_dir)
        try:
            dfd = os.open(dst_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                          dir_fd=dst_dir)
            try:
                copy_bytes(sfd, dfd)
                set_meta(dfd, st, opts)
            finally:
                os.close(dfd)
        finally:
            os.close(sfd)
        return True
    if stat.S_ISLNK(mode):
        os.symlink(os.readlink(src_name, dir_fd=src_dir), dst_name, dir_fd=dst_dir)
    elif stat.S_ISFIFO(mode):
        os.mkfifo(dst_name, 0o600, dir_fd=dst_dir)
    else:  # character or block device
        os.mknod(dst_name, stat.S_IFMT(mode) | 0o600, st.st_rdev, dir_fd=dst_dir)
    if opts.owner is not None:
        os.chown(dst_name, opts.owner.uid, opts.owner.gid, dir_fd=dst_dir, follow_symlinks=False)
    if not stat.S_ISLNK(mode):  # just made by us, not a symlink: chmod by name is safe
        os.chmod(dst_name, opts.mode if opts.mode is not None else stat.S_IMODE(mode), dir_fd=dst_dir)
    with contextlib.suppress(OSError):
        os.utime(dst_name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dst_dir, follow_symlinks=False)
    return True


def _copy_dir(src_dir: int, src_name: str, dst_dir: int, dst_name: str, st: os.stat_result, opts: CopyOptions,
              rel: tuple[str, ...], *, created: bool, implied: bool) -> bool:
    if created:
        os.mkdir(dst_name, 0o700, dir_fd=dst_dir)
    sfd = os.open(src_name, DIR_FLAGS, dir_fd=src_dir)
    try:
        dfd = os.open(dst_name, DIR_FLAGS, dir_fd=dst_dir)
        try:
            copied = copy_contents(sfd, dfd, opts, rel)
            if not implied:
                set_meta(dfd, st, opts)
            elif created and copied:  # an implied parent, as Docker's untar makes them
                if opts.owner is not None:
                    os.fchown(dfd, opts.owner.uid, opts.owner.gid)
                os.fchmod(dfd, 0o755)
        finally:
            os.close(dfd)
    finally:
        os.close(sfd)
    if implied and created and not copied:
        os.rmdir(dst_name, dir_fd=dst_dir)
        return False
    return True
