"""Fixtures of the fleet tests (the harness is ``fleetkit``)."""

from __future__ import annotations

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
    fleet = fleetkit.Fleet(collections_root, hosts=3, groups={"front": ["h1"], "back": ["h2", "h3"]})
    try:
        for host in fleet.hosts:
            host.berth("import", str(tar), "busybox")
        yield fleet
    finally:
        problems = fleet.close()
    assert not problems, f"the fleet left things behind: {problems}"


@pytest.fixture(scope="session", autouse=True)
def _print_timings() -> Iterator[None]:
    yield
    if fleetkit.TIMINGS:
        print("\nfleet ansible-playbook runs:\n" + "\n".join(f"{s:6.2f}s  {what}" for what, s in fleetkit.TIMINGS))
