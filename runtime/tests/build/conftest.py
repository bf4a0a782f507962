"""Fixtures of the build tests: engines that hold ``busybox`` (fast steps) and, for the seed
Dockerfiles, ``local/debian:bookworm`` made by tests/images/debian-base.sh (cached; debootstrap on
first use, so the first run needs the Debian mirror)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from rtkit import isolated_engine, teardown_engine

from berth.engine import Engine

REPO = Path(__file__).resolve().parents[3]
DEBIAN_SCRIPT = REPO / "tests" / "images" / "debian-base.sh"
DEBIAN = "local/debian:bookworm"
#: what Docker's debian image declares (its PATH, bash as the command)
DEBIAN_CHANGES = ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 'CMD ["bash"]']


@pytest.fixture(scope="session")
def debian_tar(tmp_path_factory: pytest.TempPathFactory, busybox_tar: Path) -> Path:
    out = tmp_path_factory.mktemp("images") / "debian-bookworm.tar"
    proc = subprocess.run(["bash", str(DEBIAN_SCRIPT), str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture
def builder(tmp_path: Path, busybox_tar: Path) -> Iterator[Engine]:
    """A fresh engine with busybox and networking of its own."""
    engine = isolated_engine(tmp_path / "root")
    engine.import_image(busybox_tar, "busybox", changes=['CMD ["sh"]'])
    yield engine
    teardown_engine(engine)


@pytest.fixture(scope="module")
def debian_builder(tmp_path_factory: pytest.TempPathFactory, debian_tar: Path) -> Iterator[Engine]:
    """One engine per module holding local/debian:bookworm: the module's builds share its cache."""
    engine = isolated_engine(tmp_path_factory.mktemp("debian") / "root")
    engine.import_image(debian_tar, DEBIAN, changes=DEBIAN_CHANGES)
    yield engine
    teardown_engine(engine)
