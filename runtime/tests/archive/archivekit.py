"""Helpers of the archive tests: a busybox rootfs tarball, store assertions."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
from pathlib import Path

import pytest

from berth.store import Store

BUSYBOX = Path("/usr/bin/busybox")


def make_rootfs_tar(path: Path, *, extra: dict[str, bytes] | None = None) -> Path:
    """A tiny rootfs: bin/busybox (static) with bin/sh and bin/ls symlinks, etc/motd."""
    if not BUSYBOX.is_file():
        pytest.skip("busybox-static is not installed")
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("bin", "etc", "tmp"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            info.mtime = 1_700_000_000
            tar.addfile(info)
        info = tar.gettarinfo(str(BUSYBOX), arcname="bin/busybox")
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = 1_700_000_000
        with open(BUSYBOX, "rb") as f:
            tar.addfile(info, f)
        for name in ("sh", "ls", "echo"):
            link = tarfile.TarInfo(f"bin/{name}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            link.mtime = 1_700_000_000
            tar.addfile(link)
        files = {"etc/motd": b"hello from berth\n", **(extra or {})}
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def assert_store_empty(store: Store, *, after_gc: bool = False) -> None:
    """No image, no name, no blob, no layer and no temp file.

    ``after_gc``: tolerate unreferenced leftovers that ``store.gc()`` removes.
    """
    assert list(store.images.records()) == []
    names = store.images.names()
    assert names.tags == {} and names.digests == {}
    if after_gc:
        store.gc()
    assert list(store.blobs) == []
    assert list(store.layers) == []
    tmp = store.paths.tmp
    assert not tmp.exists() or list(tmp.iterdir()) == []
    leases = store.paths.leases
    assert not leases.exists() or list(leases.iterdir()) == []


def need_skopeo() -> str:
    exe = shutil.which("skopeo")
    if exe is None:
        pytest.skip("skopeo is not installed")
    return exe
