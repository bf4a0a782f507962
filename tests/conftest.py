"""Shared by the collection's unit and integration tests (helpers: ``collkit``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from collkit import COLLECTIONS_ROOT


@pytest.fixture(scope="session")
def collections_root() -> Path:
    """A directory holding ``ansible_collections/berth/core`` (-> the repository)."""
    return COLLECTIONS_ROOT
