"""mount(2)/umount2(2) through libc: no mount(8) process on the start/stop path."""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path

from berth.libc import libc as _libc

MNT_DETACH = 2


def mount(source: str, target: Path, fstype: str, flags: int = 0, data: str = "") -> None:
    rc = _libc().mount(source.encode(), os.fsencode(target), fstype.encode(), ctypes.c_ulong(flags),
                       data.encode() if data else None)
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(target))


def umount(target: Path) -> bool:
    """Unmount if mounted; True if something was unmounted. A busy mount is detached lazily."""
    path = os.fsencode(target)
    if _libc().umount2(path, 0) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOENT):  # not a mount point / gone: already unmounted
        return False
    if err == errno.EBUSY and _libc().umount2(path, MNT_DETACH) == 0:
        return True
    raise OSError(err, os.strerror(err), str(target))


def is_mountpoint(path: Path) -> bool:
    """Cheap: a mount point's device differs from its parent's (true for overlay)."""
    try:
        return os.stat(path).st_dev != os.stat(path.parent).st_dev
    except OSError:
        return False
