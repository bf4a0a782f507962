"""Overlay rootfs: layer order, empty images, the page-size limit on mount options (needs root)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from berth.runtime.mountutil import is_mountpoint
from berth.runtime.rootfs import mount_rootfs, unmount_rootfs

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")


def _layers(base: Path, n: int, name_len: int) -> list[Path]:
    out = []
    for i in range(n):
        d = base / f"{i:04d}{'x' * name_len}" / "diff"
        d.mkdir(parents=True)
        (d / "f").write_text(f"layer {i}\n")
        (d / f"only{i}").write_text("")
        out.append(d)
    return out


@pytest.mark.parametrize(("count", "name_len"), [(3, 10), (60, 90)])  # the second needs short links
def test_top_layer_wins_and_unmount_is_idempotent(tmp_path: Path, count: int, name_len: int) -> None:
    layers = _layers(tmp_path / "layers", count, name_len)
    target = tmp_path / "run" / "rootfs"
    top_first = list(reversed(layers))
    mount_rootfs(top_first, tmp_path / "rec", target)
    try:
        assert is_mountpoint(target)
        assert (target / "f").read_text() == f"layer {count - 1}\n"
        assert all((target / f"only{i}").exists() for i in range(count))
        mount_rootfs(top_first, tmp_path / "rec", target)  # idempotent
    finally:
        unmount_rootfs(target)
    unmount_rootfs(target)
    assert not is_mountpoint(target)


def test_an_image_without_layers_mounts_an_empty_rootfs(tmp_path: Path) -> None:
    target = tmp_path / "rootfs"
    mount_rootfs([], tmp_path / "rec", target)
    try:
        assert is_mountpoint(target) and list(target.iterdir()) == []
    finally:
        unmount_rootfs(target)


def _is_volatile(target: Path) -> bool:
    """From mountinfo's super options: "volatile" (5.10+) or "fsync=volatile" (6.x)."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        if line.split()[4] == str(target):
            return bool({"volatile", "fsync=volatile"} & set(line.split(" - ", 1)[1].split()[2].split(",")))
    raise AssertionError(f"{target} is not mounted")


@pytest.mark.parametrize(("count", "name_len"), [(2, 10), (60, 90)])
def test_a_volatile_rootfs_mounts_again_after_a_clean_unmount(tmp_path: Path, count: int, name_len: int) -> None:
    """--rm containers: no sync at unmount; the kernel's 'volatile was used' marker must not stop
    the next start (``berth restart`` of an --rm container) from mounting the same writable layer."""
    layers = list(reversed(_layers(tmp_path / "layers", count, name_len)))
    target = tmp_path / "run" / "rootfs"
    for round_ in range(2):
        mount_rootfs(layers, tmp_path / "rec", target, volatile=True)
        try:
            assert _is_volatile(target)
            if round_ == 0:
                (target / "written").write_text("kept across a clean remount\n")
            else:
                assert (target / "written").read_text() == "kept across a clean remount\n"
        finally:
            unmount_rootfs(target)
        assert (tmp_path / "rec" / "overlay" / "work" / "work" / "incompat" / "volatile").is_dir()
    mount_rootfs(layers, tmp_path / "rec2", target)
    try:
        assert not _is_volatile(target)
    finally:
        unmount_rootfs(target)
