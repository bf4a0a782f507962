"""ADD of local tars: recognised by content (plain, gzip, bzip2, xz), unpacked into the destination
without ever leaving it, .wh. files kept as files; anything else copied as COPY does."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import tarfile
from pathlib import Path

import pytest

from berth.build.context import BuildContext, CopyFailed, UnsafeArchive, copy_into

COMPRESS = {
    "plain": lambda b: b,
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
}


def tar_bytes(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def reg(name: str, data: bytes = b"data\n", mode: int = 0o644, uid: int = 0, gid: int = 0,
        mtime: int = 1_500_000_000) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.uid, info.gid, info.mtime = len(data), mode, uid, gid, mtime
    return info, data


def entry(name: str, kind: bytes, linkname: str = "", mode: int = 0o755) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, mode
    return info, None


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    r = tmp_path / "rootfs"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "shadow").write_text("image shadow\n")
    return r


def add(tmp_path: Path, rootfs: Path, name: str, data: bytes, dest: str = "/dest/", **kw) -> None:
    ctx_dir = tmp_path / "ctx"
    ctx_dir.mkdir(exist_ok=True)
    (ctx_dir / name).write_bytes(data)
    ctx = BuildContext.open(ctx_dir)
    copy_into(rootfs, ctx.resolve([name]), dest, extract_archives=True, **kw)


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_archives_are_recognised_by_content_and_unpacked(tmp_path: Path, rootfs: Path, kind: str) -> None:
    data = COMPRESS[kind](tar_bytes(entry("dir", tarfile.DIRTYPE, mode=0o750), reg("dir/file", b"hi\n", 0o600, 7, 8),
                                    entry("dir/link", tarfile.SYMTYPE, "file"),
                                    entry("dir/hard", tarfile.LNKTYPE, "dir/file")))
    add(tmp_path, rootfs, "innocent.txt", data)  # the name says nothing
    dest = rootfs / "dest"
    assert (dest / "dir/file").read_text() == "hi\n"
    st = os.stat(dest / "dir/file")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime) == (0o600, 7, 8, 1_500_000_000)
    assert st.st_nlink == 2 and os.stat(dest / "dir/hard").st_ino == st.st_ino
    assert os.readlink(dest / "dir/link") == "file"
    assert stat.S_IMODE(os.stat(dest / "dir").st_mode) == 0o750
    assert not (dest / "innocent.txt").exists()


def test_chown_and_chmod_override_the_tar(tmp_path: Path, rootfs: Path) -> None:
    add(tmp_path, rootfs, "a.tar", tar_bytes(reg("sub/f", uid=5, gid=5), reg("suid", mode=0o4755)),
        chown=(1000, 1000))
    assert (os.stat(rootfs / "dest/sub/f").st_uid, os.stat(rootfs / "dest/sub").st_uid) == (1000, 1000)
    assert stat.S_IMODE(os.stat(rootfs / "dest/suid").st_mode) == 0o4755  # kept after the chown
    add(tmp_path, rootfs, "b.tar", tar_bytes(reg("g")), dest="/other", chmod=0o600)
    assert stat.S_IMODE(os.stat(rootfs / "other/g").st_mode) == 0o600


def test_whiteout_names_are_plain_files(tmp_path: Path, rootfs: Path) -> None:
    (rootfs / "dest").mkdir()
    (rootfs / "dest" / "keepme").write_text("still here\n")
    add(tmp_path, rootfs, "wh.tar", tar_bytes(reg(".wh.keepme", b""), reg("d/.wh..wh..opq", b"")))
    assert (rootfs / "dest/keepme").read_text() == "still here\n"
    assert (rootfs / "dest/.wh.keepme").is_file() and (rootfs / "dest/d/.wh..wh..opq").is_file()


def test_non_archives_are_copied(tmp_path: Path, rootfs: Path) -> None:
    add(tmp_path, rootfs, "notes.tar.gz", b"just text, not a tar\n")
    assert (rootfs / "dest/notes.tar.gz").read_text() == "just text, not a tar\n"
    add(tmp_path, rootfs, "text.gz", gzip.compress(b"gzip of plain text\n" * 50))
    assert (rootfs / "dest/text.gz").is_file()  # decompresses, but no tar header: a file
    add(tmp_path, rootfs, "empty.tar", tar_bytes())  # no first header: Go's tar says EOF
    assert (rootfs / "dest/empty.tar").is_file()


def test_copy_never_extracts(tmp_path: Path, rootfs: Path) -> None:
    ctx_dir = tmp_path / "ctx"
    ctx_dir.mkdir()
    (ctx_dir / "a.tar").write_bytes(tar_bytes(reg("f")))
    copy_into(rootfs, BuildContext.open(ctx_dir).resolve(["a.tar"]), "/dest/")
    assert (rootfs / "dest/a.tar").is_file() and not (rootfs / "dest/f").exists()


# -- hostile archives ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "../../../../../../tmp/evil"])
def test_names_climbing_out_are_refused(tmp_path: Path, rootfs: Path, name: str) -> None:
    with pytest.raises(UnsafeArchive, match="outside the destination"):
        add(tmp_path, rootfs, "x.tar", tar_bytes(reg(name)))
    assert not (rootfs / "evil").exists() and not (tmp_path / "evil").exists()


def test_absolute_names_land_in_the_destination(tmp_path: Path, rootfs: Path) -> None:
    add(tmp_path, rootfs, "x.tar", tar_bytes(reg("/etc/berth-abs"), reg("/../up")))
    assert (rootfs / "dest/etc/berth-abs").is_file() and (rootfs / "dest/up").is_file()
    assert not Path("/etc/berth-abs").exists() and (rootfs / "etc/shadow").read_text() == "image shadow\n"


@pytest.mark.parametrize("target", ["/etc", "../../../../../etc", "/", "../.."])
def test_symlink_then_a_file_through_it_stays_inside(tmp_path: Path, rootfs: Path, target: str) -> None:
    add(tmp_path, rootfs, "x.tar", tar_bytes(entry("l", tarfile.SYMTYPE, target), reg("l/berth-evil", b"pwned\n"),
                                             entry("l/berth-dir", tarfile.DIRTYPE)))
    assert os.readlink(rootfs / "dest/l") == target  # the link itself is kept as written
    landed = rootfs / "dest" / ("etc" if target.endswith("etc") else "") / "berth-evil"
    assert landed.read_text() == "pwned\n"  # resolved with the destination as /
    assert not Path("/etc/berth-evil").exists() and not (rootfs / "etc/berth-evil").exists()
    assert not (tmp_path / "berth-evil").exists()


def test_hardlinks_may_only_name_what_is_inside(tmp_path: Path, rootfs: Path) -> None:
    with pytest.raises(UnsafeArchive, match="hardlink target '/etc/shadow' is not in the destination"):
        add(tmp_path, rootfs, "x.tar", tar_bytes(entry("shadow", tarfile.LNKTYPE, "/etc/shadow")))
    with pytest.raises(UnsafeArchive, match="outside the destination"):
        add(tmp_path, rootfs, "y.tar", tar_bytes(entry("shadow", tarfile.LNKTYPE, "../../etc/shadow")))
    with pytest.raises(UnsafeArchive, match="not in the destination"):  # through a symlink the tar made
        add(tmp_path, rootfs, "z.tar", tar_bytes(entry("l", tarfile.SYMTYPE, "/etc"),
                                                 entry("h", tarfile.LNKTYPE, "l/shadow")))
    host = Path("/etc/shadow")
    if host.exists():
        assert os.stat(host).st_nlink == 1
    assert os.stat(rootfs / "etc/shadow").st_nlink == 1


def test_hardlink_to_a_symlink_links_the_symlink(tmp_path: Path, rootfs: Path) -> None:
    add(tmp_path, rootfs, "x.tar", tar_bytes(entry("s", tarfile.SYMTYPE, "/etc/shadow"),
                                             entry("h", tarfile.LNKTYPE, "s")))
    assert os.readlink(rootfs / "dest/h") == "/etc/shadow"


def test_existing_image_symlinks_in_the_destination_are_followed_inside(tmp_path: Path, rootfs: Path) -> None:
    (rootfs / "usr/bin").mkdir(parents=True)
    (rootfs / "bin").symlink_to("usr/bin")  # merged /usr, as Debian
    add(tmp_path, rootfs, "x.tar", tar_bytes(reg("bin/tool", b"#!/bin/sh\n", 0o755)), dest="/")
    assert (rootfs / "usr/bin/tool").is_file() and (rootfs / "bin").is_symlink()


def test_corrupt_archive_is_an_error(tmp_path: Path, rootfs: Path) -> None:
    good = gzip.compress(tar_bytes(reg("f", b"x" * 100_000)))
    with pytest.raises(CopyFailed, match="corrupt or truncated"):
        add(tmp_path, rootfs, "bad.tar.gz", good[: len(good) // 2])
