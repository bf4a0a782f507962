"""Fixtures of the fleet tests (the harness is ``fleetkit``)."""

from __future__ import annotations

import contextlib
import functools
import subprocess
from collections.abc import Iterator
from pathlib import Path

import fleetkit
import pytest

BUSYBOX_SCRIPT = Path(__file__).resolve().parents[1] / "images" / "busybox-rootfs.sh"


@pytest.fixture(scope="module")
def fleet(collections_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[fleetkit.Fleet]:
    """Three hosts, h1 in group ``front`` and h2, h3 in ``back``, each with a busybox image;
    one fleet per test module (a fleet takes ~1 s to make, its first play a few more)."""
    reason = fleetkit.unavailable()
    if reason:
        pytest.skip(reason)
    tar = tmp_path_factory.mktemp("fleet-images") / "busybox-rootfs.tar"
    subprocess.run(["bash", str(BUSYBOX_SCRIPT), str(tar)], check=True, capture_output=True)
    with clean_fleet(collections_root, hosts=3, groups={"front": ["h1"], "back": ["h2", "h3"]}) as fleet:
        for host in fleet.hosts:
            host.berth("import", str(tar), "busybox")
        yield fleet


@contextlib.contextmanager
def clean_fleet(collections_root: Path, **shape) -> Iterator[fleetkit.Fleet]:
    """A ``Fleet(collections_root, **shape)`` (skips the test where none can be made); on leaving,
    everything it made is removed, and whatever was left behind fails the test."""
    reason = fleetkit.unavailable()
    if reason:
        pytest.skip(reason)
    fleet = fleetkit.Fleet(collections_root, **shape)
    try:
        yield fleet
    finally:
        problems = fleet.close()
    assert not problems, f"the fleet left things behind: {problems}"


@pytest.fixture(scope="session")
def make_fleet(collections_root: Path):
    """``with make_fleet(hosts=3, groups=..., group_vars=...) as fleet:`` a fleet of another shape
    than ``fleet``'s, with the same clean-up and leak check (for a module-scoped fixture)."""
    return functools.partial(clean_fleet, collections_root)


@pytest.fixture(scope="session", autouse=True)
def _print_timings() -> Iterator[None]:
    yield
    if fleetkit.TIMINGS:
        print("\nfleet ansible-playbook runs:\n" + "\n".join(f"{s:6.2f}s  {what}" for what, s in fleetkit.TIMINGS))
