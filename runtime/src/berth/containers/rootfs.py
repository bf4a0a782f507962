"""Read a file of a container rootfs as the container would see it, never leaving the rootfs.

Every component is opened relative to its parent with ``O_NOFOLLOW``; a symlink
is resolved by hand with the rootfs as ``/`` (absolute targets restart at the
rootfs, ``..`` stops at it), like ``openat2(RESOLVE_IN_ROOT)`` or Docker's
``FollowSymlinkInScope``. A link to ``/etc/shadow`` of the host therefore names
the rootfs's own ``etc/shadow``, and no swap of a component for a symlink during
the walk can escape.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MAX_SYMLINKS = 40  # as the kernel (ELOOP)
_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def read_in_root(rootfs: Path, path: str, limit: int = 16 << 20) -> bytes | None:
    """The contents of regular file ``path`` inside ``rootfs``, or None if it is missing, not a
    regular file, or its resolution fails (loops, a directory expected)."""
    try:
        fd = open_in_root(rootfs, path)
    except OSError:
        return None
    try:
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)[:limit]
    except OSError:
        return None
    finally:
        os.close(fd)


def open_in_root(rootfs: Path, path: str) -> int:
    """A read-only fd on the regular file ``path`` resolved inside ``rootfs``; raises ``OSError``."""
    stack = [os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)]  # fds from the root down
    todo = _components(path)
    links = 0
    try:
        while todo:
            name = todo.pop()
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            fd = os.open(name, _PATH, dir_fd=stack[-1])
            mode = os.fstat(fd).st_mode
            if stat.S_ISLNK(mode):
                os.close(fd)
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, "too many levels of symbolic links", path)
                target = os.readlink(name, dir_fd=stack[-1])
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop())
                todo.extend(_components(target))
            elif not todo:
                os.close(fd)
                if not stat.S_ISREG(mode):
                    raise OSError(errno.EINVAL, "not a regular file", path)
                return _reopen(name, stack[-1], mode)
            elif stat.S_ISDIR(mode):
                stack.append(fd)
            else:
                os.close(fd)
                raise OSError(errno.ENOTDIR, "not a directory", path)
        raise OSError(errno.EISDIR, "is a directory", path)
    finally:
        for fd in stack:
            os.close(fd)


def _components(path: str) -> list[str]:
    """Components of ``path`` in reverse order (a stack), without empty and "." parts."""
    return [p for p in reversed(path.split("/")) if p not in ("", ".")]


def _reopen(name: str, parent: int, mode: int) -> int:
    fd = os.open(name, _READ, dir_fd=parent)  # O_NOFOLLOW: a swap to a symlink since fails with ELOOP
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", name)
    return fd
