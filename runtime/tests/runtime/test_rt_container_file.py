"""One file in a container by content (the collection's copy module): read with its checksum,
replaced atomically with mode and owner, never through a symlink out of the root."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from berth.containers import ContainerSpec
from berth.engine import Engine
from berth.engine import container_ops as co
from berth.runtime.cp import CopyError, MissingParent, read_file, write_file


@pytest.fixture
def root(tmp_path: Path):
    """A directory standing for a container's root, opened as the engine opens one."""
    top = tmp_path / "rootfs"
    (top / "etc").mkdir(parents=True)
    (top / "etc" / "app.conf").write_bytes(b"a=1\n")
    os.chmod(top / "etc" / "app.conf", 0o640)
    fd = os.open(top, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    yield top, fd
    os.close(fd)


def test_read_a_file_with_its_checksum_and_metadata(root):
    _top, fd = root
    state = read_file(fd, "/etc/app.conf", follow=False, read_limit=1024)
    assert (state.kind, state.mode, state.size, state.content) == ("file", 0o640, 4, b"a=1\n")
    assert state.sha256 == hashlib.sha256(b"a=1\n").hexdigest()
    assert read_file(fd, "/etc/app.conf", follow=False, read_limit=3).content is None  # over the limit
    assert read_file(fd, "/etc/missing", follow=False, read_limit=0) is None
    assert read_file(fd, "/etc", follow=False, read_limit=0).kind == "directory"
    with pytest.raises(MissingParent):
        read_file(fd, "/nodir/file", follow=False, read_limit=0)
    with pytest.raises(CopyError, match="not a directory"):
        read_file(fd, "/etc/app.conf/x", follow=False, read_limit=0)


def test_symlinks_resolve_inside_the_root(root, tmp_path: Path):
    top, fd = root
    outside = tmp_path / "outside"  # what ../../outside from the root's etc/ names on the host
    outside.write_bytes(b"host secret\n")
    os.symlink("../../outside", top / "etc" / "escape")
    os.symlink(str(outside), top / "etc" / "absolute")
    os.symlink("/etc/app.conf", top / "etc" / "link")
    assert read_file(fd, "/etc/link", follow=False, read_limit=64).kind == "symlink"
    assert read_file(fd, "/etc/link", follow=True, read_limit=64).content == b"a=1\n"  # the root's /etc
    assert read_file(fd, "/etc/escape", follow=True, read_limit=64) is None  # the root's /outside: none

    write_file(fd, "/etc/escape", data=b"x\n", mode=0o644, uid=0, gid=0, follow=True)
    assert (top / "outside").read_bytes() == b"x\n"  # landed inside the root
    with pytest.raises(MissingParent):  # the root has no such directory
        write_file(fd, "/etc/absolute", data=b"y\n", mode=0o644, uid=0, gid=0, follow=True)
    assert outside.read_bytes() == b"host secret\n"


def test_write_replaces_atomically_with_mode_and_owner(root):
    top, fd = root
    inode = (top / "etc" / "app.conf").stat().st_ino
    write_file(fd, "/etc/app.conf", data=b"a=2\n", mode=0o600, uid=1234, gid=5678, follow=False)
    st = (top / "etc" / "app.conf").stat()
    assert (top / "etc" / "app.conf").read_bytes() == b"a=2\n"
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o600, 1234, 5678)
    assert st.st_ino != inode  # a new file renamed over the old one
    assert sorted(os.listdir(top / "etc")) == ["app.conf"]  # no temp file left


def test_write_without_follow_replaces_the_link_itself(root):
    top, fd = root
    os.symlink("/etc/app.conf", top / "etc" / "link")
    write_file(fd, "/etc/link", data=b"new\n", mode=0o644, uid=0, gid=0, follow=False)
    assert not (top / "etc" / "link").is_symlink() and (top / "etc" / "link").read_bytes() == b"new\n"
    assert (top / "etc" / "app.conf").read_bytes() == b"a=1\n"
    os.symlink("/etc/app.conf", top / "etc" / "link2")
    write_file(fd, "/etc/link2", data=b"via link\n", mode=0o644, uid=0, gid=0, follow=True)
    assert (top / "etc" / "link2").is_symlink() and (top / "etc" / "app.conf").read_bytes() == b"via link\n"


def test_write_from_a_host_file(root, tmp_path: Path):
    top, fd = root
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(3 << 20))
    write_file(fd, "/etc/big.bin", source=str(src), mode=0o755, uid=0, gid=0, follow=False)
    assert (top / "etc" / "big.bin").read_bytes() == src.read_bytes()


def test_write_refuses_a_directory_and_a_missing_parent(root):
    top, fd = root
    with pytest.raises(CopyError, match="is a directory"):
        write_file(fd, "/etc", data=b"x", mode=0o644, uid=0, gid=0, follow=False)
    with pytest.raises(CopyError, match="is a directory"):
        write_file(fd, "/", data=b"x", mode=0o644, uid=0, gid=0, follow=False)
    with pytest.raises(MissingParent):
        write_file(fd, "/nodir/file", data=b"x", mode=0o644, uid=0, gid=0, follow=False)
    assert sorted(os.listdir(top)) == ["etc"]


def test_engine_reads_and_writes_running_and_stopped_containers(rt: Engine) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "300")))
    rt.write_container_file(cid, "/etc/stopped.conf", data=b"while stopped\n", mode=0o600, uid=1, gid=2)
    state = rt.container_file(cid, "/etc/stopped.conf", read_limit=100)
    assert (state.content, state.mode, state.uid, state.gid) == (b"while stopped\n", 0o600, 1, 2)
    co.start(rt, cid)
    assert co.exec_(rt, cid, ["stat", "-c", "%a %u %g", "/etc/stopped.conf"])[1] == b"600 1 2\n"
    rt.write_container_file(cid, "/tmp/running.conf", data=b"while running\n")
    assert co.exec_(rt, cid, ["cat", "/tmp/running.conf"])[1] == b"while running\n"
    assert rt.container_file(cid, "/tmp/running.conf", read_limit=100).content == b"while running\n"
    assert rt.container_file(cid, "/tmp/none") is None


def test_engine_refuses_a_read_only_rootfs(rt: Engine) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "300"), read_only=True))
    with pytest.raises(CopyError, match="read-only"):
        rt.write_container_file(cid, "/etc/x", data=b"x")
