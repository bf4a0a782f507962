"""Shared fixtures of the engine tests.

The tests directory is put on sys.path so helpers (imagekit, registry_fixture)
import by name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from nethost import ClientHost, client_host_ns
from rtkit import isolated_engine, teardown_engine

from berth.engine import Engine
from berth.paths import Paths
from berth.store import Store


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    return r


@pytest.fixture
def store(root: Path) -> Store:
    return Store(Paths.for_root(root))


@pytest.fixture
def engine(root: Path) -> Engine:
    return Engine(root=root)


# -- containers: a busybox image in a fresh engine root, real runc + conmon ----------
# Every test's engine is torn down by force-removing its containers, then checked:
# no mount under its root, no runc state left.
REPO = Path(__file__).resolve().parents[2]
BUSYBOX_SCRIPT = REPO / "tests" / "images" / "busybox-rootfs.sh"


def _need_runtime() -> None:
    if os.geteuid() != 0:
        pytest.skip("container tests need root")
    for tool in ("runc", "conmon", "busybox"):
        if shutil.which(tool) is None and not os.access(f"/usr/sbin/{tool}", os.X_OK):
            pytest.skip(f"{tool} is not installed")


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _need_runtime()
    out = tmp_path_factory.mktemp("images") / "busybox-rootfs.tar"
    subprocess.run(["bash", str(BUSYBOX_SCRIPT), str(out)], check=True, capture_output=True)
    return out


@pytest.fixture
def client_host() -> Iterator[ClientHost]:
    """Another machine: a network namespace linked to this host by a veth (``nethost``)."""
    with client_host_ns() as host:
        yield host


@pytest.fixture
def firewall_backend() -> str:
    """The ``rt`` engine's firewall backend; parametrize this name to run a test on each."""
    return "auto"


@pytest.fixture
def rt(tmp_path: Path, busybox_tar: Path, firewall_backend: str) -> Iterator[Engine]:
    """An engine root holding the image ``busybox``, with networking of its own (``rtkit``)."""
    engine = isolated_engine(tmp_path / "root", **({"firewall-backend": firewall_backend}
                                                   if firewall_backend != "auto" else {}))
    engine.import_image(busybox_tar, "busybox")
    yield engine
    teardown_engine(engine)



# Real registries (Debian's docker-registry) for every test that needs one.
from registry_fixture import *  # noqa: E402, F403
