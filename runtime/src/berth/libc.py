"""The C library, for the calls Python 3.11's ``os`` lacks (mount, umount2, unshare, setns, prctl)."""

from __future__ import annotations

import ctypes
from functools import cache


@cache
def libc() -> ctypes.CDLL:
    """Loaded by its soname: ``ctypes.util.find_library("c")`` finds the same file by running
    ``ldconfig -p``, a process (2-4 ms) on every ``run`` and exit hook."""
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:  # not glibc
        from ctypes.util import find_library

        return ctypes.CDLL(find_library("c"), use_errno=True)
