"""Fixtures of the runtime tests: a busybox image in a fresh engine root, real runc + conmon.

Every test's engine is torn down by force-removing its containers, then checked:
no mount under its root, no runc state left.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from berth.engine import Engine
from berth.engine import container_ops as co

REPO = Path(__file__).resolve().parents[3]
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


def mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(str(path))]


@pytest.fixture
def rt(tmp_path: Path, busybox_tar: Path) -> Iterator[Engine]:
    """An engine root holding the image ``busybox``."""
    engine = Engine(root=tmp_path / "root")
    engine.import_image(busybox_tar, "busybox")
    yield engine
    for row in co.ps(engine, all=True):
        co.rm(engine, row["Id"], force=True)
    assert mounts_under(engine.paths.root) == []
    runc_root = engine.paths.run_dir / "runc"
    assert not runc_root.exists() or list(runc_root.iterdir()) == []


def run(engine: Engine, *cmd: str, **spec_args) -> tuple[str, int]:
    """``berth run`` in miniature: create, start, wait; returns (cid, exit code)."""
    from berth.containers import ContainerSpec

    cid = co.create(engine, ContainerSpec(image="busybox", command=cmd or None, **spec_args))
    co.start(engine, cid)
    return cid, co.wait(engine, cid, timeout=30)


def output(engine: Engine, cid: str) -> str:
    return "".join(rec.line for rec in co.logs(engine, cid))
