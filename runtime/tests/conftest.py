"""Shared fixtures of the engine tests.

The tests directory is put on sys.path so helpers (imagekit, registry_fixture)
import by name.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

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


# Real registries (Debian's docker-registry) for every test that needs one.
from registry_fixture import *  # noqa: E402, F403
