"""Fixtures of the volume tests: a store on a fresh root, and fake container records."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from berth.paths import Paths
from berth.volumes import VolumeStore


@pytest.fixture
def vols(root: Path) -> VolumeStore:
    return VolumeStore(Paths.for_root(root))


@pytest.fixture
def fake_container(root: Path) -> Callable[..., str]:
    """Write ``<root>/containers/<id>/config.json`` as the runtime does; return the id."""

    def make(*, mounts: list[dict[str, Any]] | None = None, binds: list[str] | None = None) -> str:
        cid = secrets.token_hex(32)
        d = root / "containers" / cid
        d.mkdir(parents=True)
        config = {"Id": cid, "HostConfig": {"Mounts": mounts, "Binds": binds}}
        (d / "config.json").write_text(json.dumps(config))
        return cid

    return make
