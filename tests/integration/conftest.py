"""Fixtures of the integration tests (the harness is ``playkit``)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playkit import BUSYBOX_SCRIPT, TIMINGS, Host


@pytest.fixture
def host(tmp_path: Path, collections_root: Path) -> Iterator[Host]:
    h = Host(tmp_path, collections_root)
    yield h
    for row in h.engine.containers(all=True):
        h.engine.remove_container(row["Id"], force=True)
    h.engine.networks.shutdown()  # bridges, firewall table, resolver of this root


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("images") / "busybox-rootfs.tar"
    subprocess.run(["bash", str(BUSYBOX_SCRIPT), str(out)], check=True, capture_output=True)
    return out




@pytest.fixture(scope="session", autouse=True)
def _print_timings() -> Iterator[None]:
    yield
    if TIMINGS:
        print("\nansible-playbook runs:\n" + "\n".join(f"{s:6.2f}s  {what}" for what, s in TIMINGS))
