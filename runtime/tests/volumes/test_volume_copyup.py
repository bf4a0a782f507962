"""Copy-up of an image directory into an empty volume, and its crash recovery."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from berth.errors import InvalidArgument
from berth.volumes import VolumeNotFound, VolumeStore, copyup

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown/mknod need root")


@pytest.fixture
def image_dir(tmp_path: Path) -> Path:
    """An image directory with every kind of entry copy-up must preserve."""
    src = tmp_path / "rootfs" / "var" / "lib" / "app"
    src.mkdir(parents=True)
    os.chown(src, 1000, 1000)
    src.chmod(0o750)
    (tmp_path / "rootfs" / "secret").write_text("host secret")
    (src / "conf").mkdir()
    (src / "conf" / "app.ini").write_text("[app]\n")
    os.chown(src / "conf" / "app.ini", 1000, 1001)
    (src / "conf" / "app.ini").chmod(0o640)
    tool = src / "tool"
    tool.write_bytes(b"\x7fELF")
    os.chown(tool, 0, 0)
    tool.chmod(0o4755)  # setuid
    os.setxattr(tool, "user.origin", b"image")
    os.setxattr(tool, "trusted.mark", b"t")
    os.link(tool, src / "tool-hardlink")
    (src / "escape").symlink_to("../../../secret")  # must stay a link, never be read through
    (src / "abs").symlink_to("/etc/shadow")
    os.lchown(src / "abs", 1000, 1000)
    os.mkfifo(src / "fifo")
    ro = src / "ro"
    ro.mkdir()
    (ro / "inside").write_text("x")
    ro.chmod(0o555)
    os.utime(src / "conf" / "app.ini", ns=(1_000_000_000, 1_500_000_000_123))
    os.utime(src / "conf", ns=(2_000_000_000, 2_000_000_000))
    return src


@needs_root
def test_copy_up_preserves_everything_and_follows_nothing(vols: VolumeStore, image_dir: Path) -> None:
    vols.create("app")
    assert vols.copy_up("app", image_dir) is True
    data = vols.data_dir("app")
    st = data.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 1000, 0o750)  # _data takes src's owner/mode

    ini = (data / "conf" / "app.ini").stat()
    assert (ini.st_uid, ini.st_gid, stat.S_IMODE(ini.st_mode)) == (1000, 1001, 0o640)
    assert ini.st_mtime_ns == 1_500_000_000_123
    assert (data / "conf").stat().st_mtime_ns == 2_000_000_000  # dir times set after its children
    assert (data / "conf" / "app.ini").read_text() == "[app]\n"

    tool = (data / "tool").stat()
    assert stat.S_IMODE(tool.st_mode) == 0o4755  # setuid survives (chmod after chown)
    assert os.getxattr(data / "tool", "user.origin") == b"image"
    assert os.getxattr(data / "tool", "trusted.mark") == b"t"
    assert tool.st_ino == (data / "tool-hardlink").stat().st_ino and tool.st_nlink == 2

    assert (data / "escape").is_symlink() and os.readlink(data / "escape") == "../../../secret"
    assert os.readlink(data / "abs") == "/etc/shadow"
    assert os.lstat(data / "abs").st_uid == 1000
    assert stat.S_ISFIFO((data / "fifo").lstat().st_mode)
    assert stat.S_IMODE((data / "ro").stat().st_mode) == 0o555
    assert (data / "ro" / "inside").read_text() == "x"
    assert not (vols.dir("app") / copyup.STAGING).exists() and not (vols.dir("app") / copyup.READY).exists()
    vols.remove("app")  # read-only dirs inside do not stop removal


def test_copy_up_happens_once_and_never_into_a_non_empty_volume(vols: VolumeStore, tmp_path: Path) -> None:
    src = tmp_path / "img"
    src.mkdir()
    (src / "a").write_text("from image")
    vols.create("v1")
    assert vols.copy_up("v1", src)
    (vols.data_dir("v1") / "a").write_text("changed by container")
    (src / "b").write_text("new in image")
    assert vols.copy_up("v1", src) is False
    assert sorted(os.listdir(vols.data_dir("v1"))) == ["a"]
    assert (vols.data_dir("v1") / "a").read_text() == "changed by container"

    vols.create("v2")
    (vols.data_dir("v2") / "mine").write_text("x")
    assert vols.copy_up("v2", src) is False
    assert os.listdir(vols.data_dir("v2")) == ["mine"]


def test_copy_up_edge_cases(vols: VolumeStore, tmp_path: Path) -> None:
    vols.create("v1")
    assert vols.copy_up("v1", tmp_path / "missing") is False  # nothing in the image there
    (tmp_path / "link").symlink_to("/etc")
    with pytest.raises(InvalidArgument, match="symlink"):
        vols.copy_up("v1", tmp_path / "link")
    with pytest.raises(VolumeNotFound):
        vols.copy_up("nope", tmp_path)


@pytest.mark.parametrize("where", ["same-fs", "dev-shm"])
def test_copy_up_fills_an_empty_bind_device_as_docker_does(vols: VolumeStore, tmp_path: Path, where: str) -> None:
    if where == "dev-shm":
        if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
            pytest.skip("no second filesystem to copy across")
        dev = Path(tempfile.mkdtemp(dir="/dev/shm"))
    else:
        dev = tmp_path / "dev"
        dev.mkdir()
    try:
        src = tmp_path / "img"
        (src / "sub").mkdir(parents=True)
        (src / "sub" / "f").write_text("F")
        os.link(src / "sub" / "f", src / "g")
        os.link(src / "sub" / "f", src / "h")
        vols.create("b1", options={"type": "none", "o": "bind", "device": str(dev)})
        assert vols.copy_up("b1", src) is True
        assert (dev / "sub" / "f").read_text() == "F" and (dev / "g").read_text() == "F"
        assert (dev / "g").stat().st_ino == (dev / "h").stat().st_ino == (dev / "sub" / "f").stat().st_ino
        assert sorted(os.listdir(dev)) == ["g", "h", "sub"]  # no hidden temp names left
        assert os.listdir(vols.data_dir("b1")) == []
        assert vols.copy_up("b1", src) is False
    finally:
        shutil.rmtree(dev, ignore_errors=True)


def test_interrupted_copy_is_discarded_and_redone(vols: VolumeStore, tmp_path: Path) -> None:
    src = tmp_path / "img"
    src.mkdir()
    (src / "a").write_text("A")
    vols.create("v1")
    partial = vols.dir("v1") / copyup.STAGING
    partial.mkdir()
    (partial / "half").write_text("?")
    assert copyup.state(vols.dir("v1")) == "copy"
    assert vols.copy_up("v1", src)
    assert os.listdir(vols.data_dir("v1")) == ["a"]


def test_interrupted_publish_is_finished_by_check(vols: VolumeStore, tmp_path: Path) -> None:
    vols.create("v1")
    vdir = vols.dir("v1")
    (vdir / copyup.STAGING).mkdir()
    (vdir / copyup.STAGING / "b").write_text("B")
    (vols.data_dir("v1") / "a").write_text("A")  # moved before the crash
    (vdir / copyup.READY).write_text('{"uid": 0, "gid": 0, "mode": 488}')
    problems = vols.check()
    assert [p["kind"] for p in problems] == ["volume-copyup-interrupted"] and not problems[0]["repaired"]
    assert vols.check(repair=True)[0]["repaired"]
    assert sorted(os.listdir(vols.data_dir("v1"))) == ["a", "b"]
    assert stat.S_IMODE(vols.data_dir("v1").stat().st_mode) == 0o750
    assert vols.check() == []
