"""Read a file of a container rootfs as the container would see it, never leaving the rootfs.

The path is resolved by ``berth.rootpath`` with the rootfs as ``/`` (absolute symlink targets
restart at the rootfs, ``..`` stops at it), like ``openat2(RESOLVE_IN_ROOT)`` or Docker's
``FollowSymlinkInScope``. A link to ``/etc/shadow`` of the host therefore names the rootfs's own
``etc/shadow``, and no swap of a component for a symlink during the walk can escape.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from berth.rootpath import resolve

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
    root = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        entry = resolve(root, path, follow_last=True)
    finally:
        os.close(root)
    with entry:
        if entry.name == ".":
            raise OSError(errno.EISDIR, "is a directory", path)
        st = entry.lstat()
        if st is None:
            raise FileNotFoundError(errno.ENOENT, "no such file", path)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        return _reopen(entry.name, entry.dir_fd)


def _reopen(name: str, parent: int) -> int:
    fd = os.open(name, _READ, dir_fd=parent)  # O_NOFOLLOW: a swap to a symlink since fails with ELOOP
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", name)
    return fd
