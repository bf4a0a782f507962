"""Leases: a live operation's claim on blobs and layers it is about to use.

A pull downloads blobs before any image record refers to them; garbage
collection must not delete them meanwhile. Each operation owns a directory
``leases/<pid>-<rand>/`` holding a flocked ``owner`` file and one empty file
per claimed object. The flock dies with the process, so GC can tell a live
lease from the debris of a killed one (which it removes).

Ordering rule (see ``Store.claim``): claim under the GC lock *shared*, GC
sweeps under it *exclusive*; so once a claim returns, GC either already ran
or will see the claim.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from pathlib import Path

from berth.fsutil import rmtree
from berth.paths import Paths
from berth.reference import Digest
from berth.store.blobs import temp_name


class Lease:
    def __init__(self, paths: Paths) -> None:
        paths.leases.mkdir(parents=True, exist_ok=True)
        self.dir = paths.leases / temp_name("lease")
        self.dir.mkdir()
        self._fd = os.open(self.dir / "owner", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def add(self, kind: str, digests: Iterable[Digest]) -> None:
        for d in digests:
            (self.dir / f"{kind}-{d.algorithm}-{d.hex}").touch()

    def release(self) -> None:
        if self._fd >= 0:
            rmtree(self.dir)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def live_claims(paths: Paths, *, reap: bool = True) -> dict[str, set[Digest]]:
    """Objects claimed by live leases, by kind ("blob", "layer"). Dead leases are removed."""
    claims: dict[str, set[Digest]] = {}
    if not paths.leases.is_dir():
        return claims
    for lease_dir in paths.leases.iterdir():
        if not _is_live(lease_dir):
            if reap:
                rmtree(lease_dir)
            continue
        for entry in lease_dir.iterdir():
            kind, _, rest = entry.name.partition("-")
            algo, _, hexd = rest.partition("-")
            if kind in ("blob", "layer") and hexd:
                try:
                    claims.setdefault(kind, set()).add(Digest.parse(f"{algo}:{hexd}"))
                except ValueError:
                    continue
    return claims


def _is_live(lease_dir: Path) -> bool:
    try:
        fd = os.open(lease_dir / "owner", os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False  # created but never locked: its creator died before flock
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
