"""Per-volume locks: re-entrant in a thread, exclusive across threads, released whatever the body does."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from berth.volumes.lock import VolumeLocks


def _held_elsewhere(locks: VolumeLocks, name: str) -> bool:
    """What another thread (like another process: the lock is per thread) sees of ``name``."""
    seen: list[bool] = []

    def probe() -> None:
        with locks.try_hold(name) as got:
            seen.append(not got)

    t = threading.Thread(target=probe)
    t.start()
    t.join(10)
    return seen == [True]


def test_try_hold_and_reentry(tmp_path: Path) -> None:
    locks = VolumeLocks(tmp_path / "locks")
    with locks.hold("v") as value:
        assert value is True
        assert _held_elsewhere(locks, "v")
        with locks.hold("v"), locks.try_hold("v") as again:  # the same thread nests without blocking
            assert again is True
        assert _held_elsewhere(locks, "v")  # leaving the inner holds keeps the outer one
    assert not _held_elsewhere(locks, "v")


def test_try_hold_reports_a_busy_lock_and_takes_nothing(tmp_path: Path) -> None:
    locks = VolumeLocks(tmp_path / "locks")
    taken, release, done = threading.Event(), threading.Event(), threading.Event()

    def holder() -> None:
        with locks.hold("v"):
            taken.set()
            release.wait(10)
        done.set()

    t = threading.Thread(target=holder)
    t.start()
    assert taken.wait(10)
    with locks.try_hold("v") as got:
        assert got is False
    release.set()
    assert done.wait(10)
    t.join(10)
    with locks.try_hold("v") as got:
        assert got is True


@pytest.mark.parametrize("method", ["hold", "try_hold"])
def test_an_error_in_the_body_releases_the_lock(tmp_path: Path, method: str) -> None:
    locks = VolumeLocks(tmp_path / "locks")
    with pytest.raises(KeyError), getattr(locks, method)("v"):
        assert _held_elsewhere(locks, "v")
        raise KeyError("boom")
    assert not _held_elsewhere(locks, "v")
    assert locks._held == {}
