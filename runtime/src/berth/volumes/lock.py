"""Per-volume flock locks, re-entrant within one thread.

The store's operations nest (the runtime holds a volume while it writes a container
record and may call ``copy_up`` inside), and a second flock on a new descriptor of the
same file would block on our own lock; so each thread counts what it already holds.
Other threads and processes open their own descriptor and wait, as they should.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path


class VolumeLocks:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._held: dict[tuple[int, str], list[int]] = {}  # (thread, name) -> [fd, depth]

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.lock"

    def hold(self, name: str) -> AbstractContextManager[bool]:
        """Hold ``name``, waiting for other holders (the context's value is always True)."""
        return self._acquire(name, blocking=True)

    def try_hold(self, name: str) -> AbstractContextManager[bool]:
        """Hold ``name`` if nobody else does; the context's value is False at once, without
        waiting, when another holder has it."""
        return self._acquire(name, blocking=False)

    @contextmanager
    def _acquire(self, name: str, *, blocking: bool) -> Iterator[bool]:
        key = (threading.get_ident(), name)
        entry = self._held.get(key)
        if entry is not None:
            entry[1] += 1
            try:
                yield True
            finally:
                entry[1] -= 1
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path(name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
                got = True
            except BlockingIOError:
                got = False
            if not got:  # yielded outside the handler: the caller's errors are not "during" it
                yield False
                return
            self._held[key] = [fd, 1]
            try:
                yield True
            finally:
                del self._held[key]
        finally:
            os.close(fd)  # closing releases the lock
