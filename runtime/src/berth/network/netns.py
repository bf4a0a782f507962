"""Network namespaces pinned by a bind mount on a file, as ``ip netns`` does, but under the
engine's run dir (``run/netns/<container id>``) so several engines on one host stay apart.

Python 3.11 has neither ``os.unshare`` nor ``os.setns``: they are called through libc. A network
namespace belongs to a thread, so both are done in a short-lived thread, never in the caller's.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from berth.libc import libc as _c
from berth.network.errors import NetworkSetupError

CLONE_NEWNET = 0x40000000
MS_BIND = 0x1000
MNT_DETACH = 0x2
T = TypeVar("T")

def _in_thread(fn: Callable[[], T]) -> T:
    box: dict[str, object] = {}

    def body() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=body, name="berth-netns")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def create(path: Path) -> None:
    """A new, empty network namespace (only ``lo``, down) pinned at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444)
    os.close(fd)

    def make() -> None:
        libc = _c()
        if libc.unshare(CLONE_NEWNET) != 0:
            raise NetworkSetupError(f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}")
        source = f"/proc/self/task/{threading.get_native_id()}/ns/net".encode()
        if libc.mount(source, str(path).encode(), b"none", MS_BIND, None) != 0:
            raise NetworkSetupError(f"pinning network namespace at {path}: {os.strerror(ctypes.get_errno())}")

    try:
        _in_thread(make)
    except BaseException:
        remove(path)
        raise


def remove(path: Path) -> None:
    """Unpin and delete; idempotent. The namespace dies with its last process and pin."""
    if _c().umount2(str(path).encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOENT):  # EINVAL: not a mount point (never pinned, or done)
            raise NetworkSetupError(f"unpinning network namespace {path}: {os.strerror(err)}")
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def is_pinned(path: Path) -> bool:
    """Is ``path`` a namespace pin (and not a plain file left by a crash)? A bind-mounted namespace
    reports nsfs's device, as every namespace file does."""
    try:
        return os.stat(path).st_dev == os.stat("/proc/self/ns/net").st_dev
    except OSError:
        return False


def run_in(path: Path, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a thread that has entered the namespace at ``path`` (sockets it opens live there)."""

    def body() -> T:
        fd = os.open(path, os.O_RDONLY)
        try:
            if _c().setns(fd, CLONE_NEWNET) != 0:
                raise NetworkSetupError(f"entering network namespace {path}: {os.strerror(ctypes.get_errno())}")
        finally:
            os.close(fd)
        return fn()

    return _in_thread(body)
