"""Fixtures of the archive tests (helpers live in archivekit)."""

from __future__ import annotations

from pathlib import Path

import pytest
from archivekit import make_rootfs_tar

from berth.paths import Paths
from berth.store import Store


@pytest.fixture
def rootfs_tar(tmp_path: Path) -> Path:
    return make_rootfs_tar(tmp_path / "rootfs.tar")


@pytest.fixture
def fresh_store(tmp_path: Path) -> Store:
    """A second, empty store (another engine root)."""
    root = tmp_path / "root2"
    root.mkdir()
    return Store(Paths.for_root(root))
