"""``cp - CONTAINER:DIR`` and ``cp CONTAINER:PATH -``: tar streams into and out of real containers, and
hostile archives that must never write outside the container's root (``berth.runtime.cp``)."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from berth.containers import ContainerSpec
from berth.engine import container_ops as co
from berth.errors import NotFound
from berth.runtime.cp import CopyError, UnsafeArchive

MTIME = 1_600_000_000


def tar_of(*members: tuple[tarfile.TarInfo, bytes | None], gz: bool = False) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    return io.BytesIO(gzip.compress(raw) if gz else raw)


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes | None = None, *, mode: int = 0o644,
          uid: int = 0, gid: int = 0, link: str = "") -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.mtime, info.linkname = kind, mode, uid, gid, MTIME, link
    if kind == tarfile.REGTYPE:
        data = data or b""
        info.size = len(data)
    return info, data


def _running(rt, **kw) -> str:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "300"), **kw))
    co.start(rt, cid)
    return cid


def _sh(rt, cid: str, script: str) -> str:
    code, out, err = co.exec_(rt, cid, ["sh", "-c", script])
    assert code == 0, err
    return out.decode()


def _tree(rt, cid: str, path: str = "/") -> str:
    """Everything in the container under ``path`` (its own view), to show that nothing changed."""
    return _sh(rt, cid, f"find {path} -xdev | sort")


def test_tar_in_keeps_owners_modes_times_links_and_comes_back_out(rt) -> None:
    cid = _running(rt)
    _sh(rt, cid, "mkdir /srv")
    archive = tar_of(
        entry("app", tarfile.DIRTYPE, mode=0o750, uid=1000, gid=50),
        entry("app/run.sh", data=b"#!/bin/sh\necho hi\n", mode=0o4755, uid=1000, gid=50),
        entry("app/conf/deep.ini", data=b"[x]\n"),  # parent not listed: implied, 0755
        entry("app/latest", tarfile.SYMTYPE, link="run.sh"),
        entry("app/hard", tarfile.LNKTYPE, link="app/run.sh"),
        entry("app/pipe", tarfile.FIFOTYPE, mode=0o600),
        entry("/abs.txt", data=b"leading slash dropped\n"),
        gz=True)
    assert co.put_archive(rt, cid, "/srv", archive) == 7
    out = _sh(rt, cid, "cd /srv && stat -c '%n %a %u:%g %Y' app app/run.sh app/hard app/pipe abs.txt"
                       " && stat -c '%n %a %u:%g' app/conf && stat -c %i app/run.sh app/hard"
                       " && readlink app/latest && app/run.sh")
    lines = out.splitlines()
    assert lines[:6] == [
        f"app 750 1000:50 {MTIME}", f"app/run.sh 4755 1000:50 {MTIME}", f"app/hard 4755 1000:50 {MTIME}",
        f"app/pipe 600 0:0 {MTIME}", f"abs.txt 644 0:0 {MTIME}", "app/conf 755 0:0"]
    assert lines[6] == lines[7] and lines[8:] == ["run.sh", "hi"]  # a hardlink: one inode

    back = io.BytesIO()
    co.get_archive(rt, cid, "/srv/app", back)
    back.seek(0)
    with tarfile.open(fileobj=back) as tf:
        got = {m.name: m for m in tf.getmembers()}
        assert tf.extractfile("app/hard").read() == b"#!/bin/sh\necho hi\n"
    assert sorted(got) == ["app", "app/conf", "app/conf/deep.ini", "app/hard", "app/latest", "app/pipe", "app/run.sh"]
    assert (got["app"].mode, got["app"].uid, got["app/run.sh"].mode) == (0o750, 1000, 0o4755)
    assert got["app/latest"].issym() and got["app/latest"].linkname == "run.sh"
    # one inode, archived once (under the name met first), then linked
    assert got["app/hard"].isreg() and got["app/run.sh"].islnk() and got["app/run.sh"].linkname == "app/hard"
    assert got["app/pipe"].isfifo() and got["app/run.sh"].mtime == MTIME

    contents = io.BytesIO()
    co.get_archive(rt, cid, "/srv/app/.", contents)  # DIR/. : the directory's content, under "."
    contents.seek(0)
    with tarfile.open(fileobj=contents) as tf:
        assert {m.name for m in tf.getmembers()} >= {".", "./run.sh", "./conf/deep.ini"}
    link = io.BytesIO()
    co.get_archive(rt, cid, "/srv/app/latest", link)  # the last component is not followed
    link.seek(0)
    with tarfile.open(fileobj=link) as tf:
        assert [(m.name, m.issym()) for m in tf.getmembers()] == [("latest", True)]


def test_stopped_container_both_ways_and_the_destination_itself_is_left_alone(rt) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "300")))
    co.put_archive(rt, cid, "/tmp", tar_of(entry(".", tarfile.DIRTYPE, mode=0o700), entry("./x", data=b"x\n")))
    out = io.BytesIO()
    co.get_archive(rt, cid, "/tmp/x", out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tf:
        assert tf.extractfile("x").read() == b"x\n"
    co.start(rt, cid)
    assert _sh(rt, cid, "stat -c %a /tmp; cat /tmp/x") == "1777\nx\n"  # "./" did not chmod /tmp (as Docker)


@pytest.mark.parametrize(("members", "error"), [
    ([entry("ok-before", data=b"1"), entry("../escape", data=b"x")], "would be written outside the destination"),
    ([entry("ok-before", data=b"1"), entry("a/../../escape", data=b"x")], "would be written outside"),
    ([entry("h", tarfile.LNKTYPE, link="../../../etc/shadow")], "hardlink target '../../../etc/shadow' is outside"),
    ([entry("h", tarfile.LNKTYPE, link="nothere")], "neither in the archive nor in the container"),
    ([entry("d", tarfile.DIRTYPE), entry("h", tarfile.LNKTYPE, link="d")], "hardlink to a directory"),
    ([entry("file", tarfile.REGTYPE, data=b"x"), entry("file", tarfile.DIRTYPE)], "cannot overwrite non-directory"),
    ([entry(".", tarfile.REGTYPE, data=b"x")], "would replace the destination directory"),
])
def test_hostile_or_inconsistent_archives_are_refused_before_anything_is_written(rt, members, error) -> None:
    cid = _running(rt)
    _sh(rt, cid, "mkdir -p /srv/in")
    before = _tree(rt, cid)
    with pytest.raises(CopyError, match=error):
        co.put_archive(rt, cid, "/srv/in", tar_of(*members))
    assert _tree(rt, cid) == before


def test_symlinks_never_lead_outside_the_container(rt, tmp_path: Path) -> None:
    """Symlinks of the archive and of the container are followed with the container's root as ``/``,
    as Docker's chrooted untar does: an absolute host path names a path inside the container."""
    host = tmp_path / "host-side"
    host.mkdir()
    cid = _running(rt)
    _sh(rt, cid, f"mkdir -p /srv && ln -s {host} /srv/planted && ln -s ../../../../../.. /srv/up")
    co.put_archive(rt, cid, "/srv", tar_of(
        entry("abs", tarfile.SYMTYPE, link=str(host)),
        entry("abs/through-archive-link", data=b"a"),
        entry("planted/through-container-link", data=b"b"),
        entry("up/climbed", data=b"c"),
        entry("root", tarfile.SYMTYPE, link="/"),
        entry("root/etc/from-tar", data=b"d"),
    ))
    assert list(host.iterdir()) == []  # the host directory the links name got nothing
    assert not Path("/climbed").exists() and not Path("/etc/from-tar").exists()
    assert _sh(rt, cid, f"cat {host}/through-archive-link {host}/through-container-link /climbed /etc/from-tar") \
        == "abcd"
    # a symlink as the final name is replaced, never written through
    _sh(rt, cid, f"ln -s {host}/victim /srv/victim")
    co.put_archive(rt, cid, "/srv", tar_of(entry("victim", data=b"replaced")))
    assert not (host / "victim").exists()
    assert _sh(rt, cid, "[ -L /srv/victim ] || cat /srv/victim") == "replaced"


def test_destination_errors_corrupt_input_and_read_only_rootfs(rt) -> None:
    cid = _running(rt)
    good = tar_of(entry("f", data=b"x"))
    with pytest.raises(NotFound, match="Could not find the file /nothere in container"):
        co.put_archive(rt, cid, "/nothere", good)
    with pytest.raises(CopyError, match="/etc/passwd must be a directory"):
        co.put_archive(rt, cid, "/etc/passwd", tar_of(entry("f", data=b"x")))
    raw = tar_of(*[entry(f"f{i}", data=os.urandom(3000)) for i in range(5)]).getvalue()
    before = _tree(rt, cid, "/tmp")
    with pytest.raises(CopyError, match="corrupt or truncated"):
        co.put_archive(rt, cid, "/tmp", io.BytesIO(raw[:9000]))
    assert _tree(rt, cid, "/tmp") == before
    with pytest.raises(CopyError, match="not a gzip-compressed tar archive"):
        co.put_archive(rt, cid, "/tmp", io.BytesIO(b"\x1f\x8bnot gzip at all" * 40))
    with pytest.raises(NotFound, match="Could not find the file /nope in container"):
        co.get_archive(rt, cid, "/nope", io.BytesIO())
    ro = _running(rt, read_only=True)
    with pytest.raises(CopyError, match="read-only"):
        co.put_archive(rt, ro, "/tmp", tar_of(entry("f", data=b"x")))


def test_extract_archive_by_fd_into_a_plain_directory(tmp_path: Path) -> None:
    """The extractor on its own (no container): the root fd is the boundary."""
    from berth.runtime.cp import extract_archive

    root = tmp_path / "root"
    (root / "dst").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        extract_archive(fd, "/dst", tar_of(
            entry("l", tarfile.SYMTYPE, link=str(outside)), entry("l/x", data=b"in"),
            entry("s", tarfile.SYMTYPE, link="../../.."), entry("s/y", data=b"in"),
            entry("dev", tarfile.CHRTYPE, mode=0o600)))
        with pytest.raises(UnsafeArchive):
            extract_archive(fd, "/dst", tar_of(entry("/../../../z", data=b"in"), entry("../z", data=b"out")))
    finally:
        os.close(fd)
    assert list(outside.iterdir()) == []
    assert (root / str(outside).lstrip("/") / "x").read_bytes() == b"in" and (root / "y").read_bytes() == b"in"
    assert stat.S_ISCHR((root / "dst" / "dev").lstat().st_mode)
    assert not (root / "z").exists() and not (root / "dst" / "z").exists() and not (tmp_path / "z").exists()
