"""Directory-fd access to a layer dir that never follows a symlink.

Every parent of a member is reached from the layer root with
``openat(O_DIRECTORY|O_NOFOLLOW)``, one component at a time, and entries are
then created relative to the parent's fd. A symlink planted by an earlier
member (``link -> /``) therefore cannot redirect a later write: opening it as
a parent fails, and we refuse the member. Symlinks themselves may point
anywhere; they are only resolved later, inside the container's rootfs.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path

from berth.errors import UnsafeLayer

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: parent fds kept open; tar members come grouped by directory, so a few suffice
_CACHE_SIZE = 64


class LayerTree:
    def __init__(self, root: Path) -> None:
        # absolute: path() strings must not depend on the current directory
        self.root = os.path.abspath(root)
        self.root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._cache: dict[tuple[str, ...], int] = {}

    def close(self) -> None:
        for fd in self._cache.values():
            os.close(fd)
        self._cache.clear()
        os.close(self.root_fd)

    def trim(self) -> None:
        # Called between members only, so no fd handed out is still in use.
        while len(self._cache) > _CACHE_SIZE:
            os.close(self._cache.pop(next(iter(self._cache))))

    def path(self, parts: tuple[str, ...]) -> str:
        """Absolute path string, for the few calls without a dir_fd form (lsetxattr)."""
        return os.path.join(self.root, *parts)

    def dir_fd(self, parts: tuple[str, ...], member: str, *, create: bool) -> int:
        """fd of directory ``parts``, made of real directories only.

        Missing components are created (0755, root-owned, like Docker) when
        ``create``; otherwise FileNotFoundError. A symlink or non-directory
        component raises UnsafeLayer. The fd belongs to the cache. The
        walk starts at the longest cached ancestor and closes intermediate
        fds, so deep names cannot exhaust descriptors.
        """
        if not parts:
            return self.root_fd
        fd = self._cache.get(parts)
        if fd is not None:
            return fd
        start, base = 0, self.root_fd
        for i in range(len(parts) - 1, 0, -1):
            cached = self._cache.get(parts[:i])
            if cached is not None:
                start, base = i, cached
                break
        fd = base
        try:
            for i in range(start, len(parts)):
                child = self._open_dir(fd, parts[: i + 1], member, create)
                if fd != base:
                    os.close(fd)
                fd = child
        except BaseException:
            if fd != base:
                os.close(fd)
            raise
        self._cache[parts] = fd
        return fd

    def _open_dir(self, parent: int, parts: tuple[str, ...], member: str, create: bool) -> int:
        name = parts[-1]
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise
        except OSError as e:
            if e.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            kind = "a symlink" if self.is_symlink(parent, name) else "not a directory"
            raise UnsafeLayer(
                f"layer member {member!r}: path component {'/'.join(parts)} is {kind}", member=member
            ) from None
        os.mkdir(name, 0o755, dir_fd=parent)
        return os.open(name, _DIR_FLAGS, dir_fd=parent)

    @staticmethod
    def is_symlink(parent: int, name: str) -> bool:
        try:
            return stat.S_ISLNK(os.lstat(name, dir_fd=parent).st_mode)
        except OSError:
            return False

    def remove(self, parent: int, parts: tuple[str, ...], *, keep_dir: bool) -> bool:
        """Remove entry ``parts`` (inside dir fd ``parent``) so a later member can replace it.

        Returns True when an existing directory was kept (a dir replaced by a
        dir keeps its content, as in Docker).
        """
        name = parts[-1]
        try:
            st = os.lstat(name, dir_fd=parent)
        except FileNotFoundError:
            return False
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(name, dir_fd=parent)
            return False
        if keep_dir:
            return True
        # rmtree with dir_fd works on fds and never follows symlinks inside.
        shutil.rmtree(name, dir_fd=parent)
        self._forget_under(parts)
        return False

    def _forget_under(self, parts: tuple[str, ...]) -> None:
        # Cached fds of the removed subtree would point at deleted dirs.
        n = len(parts)
        for key in [k for k in self._cache if k[:n] == parts]:
            os.close(self._cache.pop(key))
