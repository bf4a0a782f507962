"""Hostile layer corpus: nothing may ever be written outside the layer dir."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from berth.errors import ArchiveError, UnsafeLayer
from berth.layers import extract_layer

from .conftest import TarBuilder, snapshot


def _etc_passwd() -> tuple:
    st = os.stat("/etc/passwd")
    return st.st_ino, st.st_nlink, st.st_mtime_ns, hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest()


@pytest.fixture
def guard(dest: Path):
    """Asserts, after the test body, that only ``dest`` changed below tmp_path and /etc/passwd is intact."""
    root = dest.parent.parent
    before = snapshot(root, exclude=dest)
    passwd = _etc_passwd()
    yield
    assert snapshot(root, exclude=dest) == before
    assert _etc_passwd() == passwd
    assert not Path("/etc/evil").exists()


def _extract(data: bytes, dest: Path):
    return extract_layer(io.BytesIO(data), dest)


def test_dotdot_escape_is_refused(tar: TarBuilder, dest: Path, guard: None) -> None:
    data = tar.file("../../etc/passwd", b"root::0:0::/:/bin/sh\n").bytes()
    with pytest.raises(UnsafeLayer, match=r"\.\./\.\./etc/passwd"):
        _extract(data, dest)


def test_dotdot_inside_then_out_is_refused(tar: TarBuilder, dest: Path, guard: None) -> None:
    with pytest.raises(UnsafeLayer, match="escapes"):
        _extract(tar.file("a/../../outside", b"x").bytes(), dest)


def test_dotdot_that_stays_inside_is_cleaned(tar: TarBuilder, dest: Path, guard: None) -> None:
    _extract(tar.file("a/../b", b"x").bytes(), dest)
    assert (dest / "b").read_bytes() == b"x"
    assert not (dest / "a").exists()


def test_absolute_name_lands_inside(tar: TarBuilder, dest: Path, guard: None) -> None:
    evil = Path("/tmp/evil")
    existed = evil.exists()
    _extract(tar.file("/tmp/evil", b"pwned").bytes(), dest)
    assert (dest / "tmp" / "evil").read_bytes() == b"pwned"
    assert existed or not evil.exists()


def test_absolute_name_to_a_real_outside_path(tar: TarBuilder, dest: Path, guard: None) -> None:
    # The absolute path of a real file next to dest: must not be overwritten.
    target = dest.parent.parent / "outside"
    _extract(tar.file(str(target), b"pwned").file("/../../outside2", b"y").bytes(), dest)
    assert (dest / str(target).lstrip("/")).read_bytes() == b"pwned"
    assert (dest / "outside2").read_bytes() == b"y"  # `..` above a rooted name stays at the root


def test_write_through_symlink_to_root(tar: TarBuilder, dest: Path, guard: None) -> None:
    data = tar.symlink("link", "/").file("link/etc/evil", b"x").bytes()
    with pytest.raises(UnsafeLayer, match=r"link/etc/evil.*symlink"):
        _extract(data, dest)
    assert os.readlink(dest / "link") == "/"


def test_write_through_relative_symlink(tar: TarBuilder, dest: Path, guard: None) -> None:
    data = tar.symlink("a", "../..").file("a/x", b"x").bytes()
    with pytest.raises(UnsafeLayer, match="symlink"):
        _extract(data, dest)
    assert not (dest.parent.parent / "x").exists()


def test_write_through_two_step_symlink_chain(tar: TarBuilder, dest: Path, guard: None) -> None:
    victim = dest.parent.parent / "victim"
    data = (tar.dir("d").symlink("d/step1", "../step2").symlink("step2", str(victim))
            .file("d/step1/pwn", b"x").bytes())
    with pytest.raises(UnsafeLayer, match="symlink"):
        _extract(data, dest)
    assert not (victim / "pwn").exists()


def test_symlink_deep_in_path(tar: TarBuilder, dest: Path, guard: None) -> None:
    data = tar.dir("a").dir("a/b").symlink("a/b/c", "/etc").file("a/b/c/d/evil", b"x").bytes()
    with pytest.raises(UnsafeLayer, match="a/b/c is a symlink"):
        _extract(data, dest)


def test_directory_replaced_by_symlink_then_written_through(tar: TarBuilder, dest: Path, guard: None) -> None:
    # The dir fd of "d" is cached by the first file; replacing d must not keep using it,
    # and the later write must not follow the new symlink.
    victim = dest.parent.parent / "victim"
    data = tar.dir("d").file("d/a", b"1").symlink("d", str(victim)).file("d/keep", b"evil").bytes()
    with pytest.raises(UnsafeLayer, match="symlink"):
        _extract(data, dest)
    assert (victim / "keep").read_bytes() == b"precious"


def test_file_over_symlink_replaces_the_symlink(tar: TarBuilder, dest: Path, guard: None) -> None:
    data = tar.symlink("x", "/etc/passwd").file("x", b"mine").bytes()
    _extract(data, dest)
    assert (dest / "x").is_file() and not (dest / "x").is_symlink()
    assert (dest / "x").read_bytes() == b"mine"


def test_whiteout_through_symlink(tar: TarBuilder, dest: Path, guard: None) -> None:
    victim = dest.parent.parent / "victim"
    data = tar.symlink("l", str(victim)).file("l/.wh.keep").bytes()
    with pytest.raises(UnsafeLayer, match="symlink"):
        _extract(data, dest)


def test_opaque_marker_through_symlink(tar: TarBuilder, dest: Path, guard: None) -> None:
    victim = dest.parent.parent / "victim"
    data = tar.symlink("l", str(victim)).file("l/.wh..wh..opq").bytes()
    with pytest.raises(UnsafeLayer, match="symlink"):
        _extract(data, dest)
    assert "trusted.overlay.opaque" not in os.listxattr(victim)


def test_hardlink_to_absolute_host_file(tar: TarBuilder, dest: Path, guard: None) -> None:
    data = tar.hardlink("pw", "/etc/passwd").bytes()
    with pytest.raises(UnsafeLayer, match=r"'pw'.*not in the layer"):
        _extract(data, dest)


def test_hardlink_to_parent_dir_file(tar: TarBuilder, dest: Path, guard: None) -> None:
    data = tar.hardlink("h", "../outside").bytes()
    with pytest.raises(UnsafeLayer, match=r"'h'.*outside the layer"):
        _extract(data, dest)


def test_hardlink_through_symlinked_dir(tar: TarBuilder, dest: Path, guard: None) -> None:
    data = tar.symlink("etc", "/etc").hardlink("pw", "etc/passwd").bytes()
    with pytest.raises(UnsafeLayer, match="symlink"):
        _extract(data, dest)


def test_hardlink_to_symlink_links_the_symlink_itself(tar: TarBuilder, dest: Path, guard: None) -> None:
    data = tar.symlink("l", "/etc/passwd").hardlink("h", "l").bytes()
    _extract(data, dest)
    assert os.readlink(dest / "h") == "/etc/passwd"
    assert os.lstat(dest / "h").st_ino == os.lstat(dest / "l").st_ino


def test_overwriting_a_hardlink_does_not_write_through_it(tar: TarBuilder, dest: Path, guard: None) -> None:
    data = tar.file("orig", b"original").hardlink("h", "orig").file("h", b"replaced").bytes()
    _extract(data, dest)
    assert (dest / "orig").read_bytes() == b"original"
    assert (dest / "h").read_bytes() == b"replaced"


def test_hardlink_to_directory_is_refused(tar: TarBuilder, dest: Path, guard: None) -> None:
    with pytest.raises(UnsafeLayer, match="directory"):
        _extract(tar.dir("d").hardlink("h", "d").bytes(), dest)


@pytest.mark.parametrize("name", [".", "./", "/", "a/.."])
def test_root_entry_as_directory_is_harmless(tar: TarBuilder, dest: Path, guard: None, name: str) -> None:
    _extract(tar.dir(name, mode=0o750).file("f", b"x").bytes(), dest)
    assert dest.is_dir() and not dest.is_symlink()
    assert stat.S_IMODE(dest.stat().st_mode) == 0o750
    assert (dest / "f").read_bytes() == b"x"


@pytest.mark.parametrize("build", [
    lambda t: t.file(".", b"x"),
    lambda t: t.symlink("./", "/"),
    lambda t: t.hardlink(".", "x"),
])
def test_root_entry_of_other_type_is_refused(tar: TarBuilder, dest: Path, guard: None,
                                             build: Callable[[TarBuilder], TarBuilder]) -> None:
    with pytest.raises(UnsafeLayer, match="layer root"):
        _extract(build(tar).bytes(), dest)
    assert dest.is_dir() and not dest.is_symlink()


def test_file_then_dir_of_same_name(tar: TarBuilder, dest: Path, guard: None) -> None:
    _extract(tar.file("x", b"file").dir("x").file("x/y", b"y").bytes(), dest)
    assert (dest / "x").is_dir() and (dest / "x" / "y").read_bytes() == b"y"


def test_dir_then_file_of_same_name(tar: TarBuilder, dest: Path, guard: None) -> None:
    _extract(tar.dir("x").file("x/y", b"y").file("x", b"file").bytes(), dest)
    assert (dest / "x").read_bytes() == b"file"


def test_dir_then_dir_keeps_content(tar: TarBuilder, dest: Path, guard: None) -> None:
    _extract(tar.dir("x").file("x/y", b"y").dir("x", mode=0o700).bytes(), dest)
    assert (dest / "x" / "y").read_bytes() == b"y"
    assert stat.S_IMODE((dest / "x").stat().st_mode) == 0o700


def test_file_under_a_regular_file_is_refused(tar: TarBuilder, dest: Path, guard: None) -> None:
    with pytest.raises(UnsafeLayer, match="not a directory"):
        _extract(tar.file("f", b"x").file("f/g", b"y").bytes(), dest)


def test_overlay_xattrs_from_tar_are_ignored(tar: TarBuilder, dest: Path, guard: None) -> None:
    data = tar.dir("d", xattrs={"trusted.overlay.redirect": b"/etc", "trusted.overlay.opaque": b"y",
                                "user.ok": b"1"}).bytes()
    _extract(data, dest)
    assert sorted(os.listxattr(dest / "d")) == ["user.ok"]


def test_nul_in_name_is_refused(tar: TarBuilder, dest: Path, guard: None) -> None:
    # Long enough to go into a PAX path record, which (unlike ustar) can carry a NUL.
    data = tar.file("a\x00b" + "c" * 120, b"x").bytes()
    with pytest.raises(UnsafeLayer, match="invalid name"):
        _extract(data, dest)


def test_whiteout_of_dot_is_refused(tar: TarBuilder, dest: Path, guard: None) -> None:
    with pytest.raises(UnsafeLayer, match="whiteout"):
        _extract(tar.file("d/.wh..").bytes(), dest)


def test_deep_name_does_not_exhaust_fds(tar: TarBuilder, dest: Path, guard: None) -> None:
    name = "/".join(["a"] * 500) + "/f"
    _extract(tar.file(name, b"x").file(name.replace("/f", "/g"), b"y").bytes(), dest)
    assert len(os.listdir(f"/proc/{os.getpid()}/fd")) < 200
    assert (dest / name).read_bytes() == b"x"


def test_too_deep_is_refused(tar: TarBuilder, dest: Path, guard: None) -> None:
    with pytest.raises(UnsafeLayer, match="deeper than"):
        _extract(tar.file("/".join(["a"] * 1500) + "/f", b"x").bytes(), dest)


def test_unique_absolute_tmp_name(tar: TarBuilder, dest: Path, guard: None) -> None:
    name = f"/tmp/berth-evil-{uuid.uuid4().hex}"
    _extract(tar.file(name, b"x").dir("/tmp", mode=0o1777).bytes(), dest)
    assert not Path(name).exists()
    assert (dest / name.lstrip("/")).read_bytes() == b"x"
    assert stat.S_IMODE((dest / "tmp").stat().st_mode) == 0o1777


def test_out_of_range_owner_is_an_archive_error(tar: TarBuilder, dest: Path, guard: None) -> None:
    with pytest.raises(ArchiveError, match="'f'"):
        _extract(tar.file("f", b"x", uid=2**40).bytes(), dest)
