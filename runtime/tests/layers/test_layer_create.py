"""Layer creation: deterministic tars, whiteout conversion, round trip through extraction."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import socket
import stat
import tarfile
from pathlib import Path

import pytest

from berth.errors import ArchiveError
from berth.layers import compress_layer, extract_layer, gzip_stream, write_layer_tar

from .conftest import TarBuilder, tree_state


def _rich_layer(tar: TarBuilder) -> bytes:
    """A layer exercising every entry type and whiteout kind."""
    cap = bytes.fromhex("0100000200040000000000000000000000000000")
    return (
        tar.dir("bin").file("bin/su", b"\x7fELF su", mode=0o4755, uid=1000, gid=1000)
        .file("bin/ping", b"\x7fELF ping", mode=0o755, xattrs={"security.capability": cap})
        .hardlink("bin/su-again", "bin/su")
        .symlink("bin/sh", "busybox").symlink("lib64", "/usr/lib64")
        .dir("etc", mtime=1_600_000_000, xattrs={"user.label": b"\x00\xffbin"})
        .file("etc/.wh.removed", uid=2, gid=3, mtime=1_650_000_000)
        .dir("var").dir("var/cache", mode=0o700).file("var/cache/.wh..wh..opq")
        .file("var/cache/fresh", b"new")
        .dir("tmp", mode=0o1777)
        .dir("dev").chr("dev/null", 1, 3, mode=0o666).blk("dev/sda", 8, 0, mode=0o660, gid=6)
        .fifo("dev/initctl")
        .dir("caf\u00e9").file("caf\u00e9/" + "n" * 150, b"long name")
        .file(os.fsdecode(b"raw\xff"), b"not utf-8")
        .file(".wh.gone")
        .bytes()
    )


def _extract(data: bytes, dest: Path) -> None:
    dest.mkdir()
    extract_layer(io.BytesIO(data), dest)


def _tar_bytes(src: Path) -> tuple[bytes, str]:
    out = io.BytesIO()
    digest = write_layer_tar(src, out)
    return out.getvalue(), str(digest)


def test_round_trip_is_identical(tar: TarBuilder, tmp_path: Path) -> None:
    _extract(_rich_layer(tar), tmp_path / "a")
    t1, d1 = _tar_bytes(tmp_path / "a")
    assert d1 == "sha256:" + hashlib.sha256(t1).hexdigest()
    _extract(t1, tmp_path / "b")
    state_a, state_b = tree_state(tmp_path / "a"), tree_state(tmp_path / "b")
    assert state_a == state_b
    # the tricky bits really are there
    assert stat.S_ISCHR(state_b["etc/removed"][0]) and state_b["etc/removed"][6] == 0
    assert ("trusted.overlay.opaque", b"y") in state_b["var/cache"][7]
    assert state_b["bin/su"][0] & 0o7777 == 0o4755
    assert state_b["bin/su-again"][8] == "bin/su"  # same inode as bin/su
    # and a second write is byte-identical (deterministic)
    assert _tar_bytes(tmp_path / "b") == (t1, d1)


def test_whiteouts_become_docker_tar_entries(tar: TarBuilder, tmp_path: Path) -> None:
    _extract(_rich_layer(tar), tmp_path / "a")
    t1, _ = _tar_bytes(tmp_path / "a")
    with tarfile.open(fileobj=io.BytesIO(t1)) as tf:
        members = {m.name: m for m in tf.getmembers()}
    wo = members["etc/.wh.removed"]
    assert wo.isreg() and wo.size == 0 and wo.mode == 0o600 and (wo.uid, wo.gid) == (2, 3)
    assert members[".wh.gone"].isreg()
    opq = members["var/cache/.wh..wh..opq"]
    assert opq.isreg() and opq.size == 0
    assert "SCHILY.xattr.trusted.overlay.opaque" not in members["var/cache"].pax_headers
    assert "etc/removed" not in members and "gone" not in members
    assert members["bin/su-again"].islnk() and members["bin/su-again"].linkname == "bin/su"
    assert all(m.uname == "" and m.gname == "" for m in members.values())


def test_sorted_order_and_no_root_entry(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for name in ("b", "a", "C", "a/z", "a/y"):
        (src / name).mkdir(parents=True)
    (src / "a" / "file").write_bytes(b"x")
    t1, _ = _tar_bytes(src)
    with tarfile.open(fileobj=io.BytesIO(t1)) as tf:
        names = tf.getnames()
    assert names == ["C", "a", "a/file", "a/y", "a/z", "b"]


def test_selinux_and_overlay_xattrs_are_not_exported(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    os.setxattr(src / "d", "trusted.overlay.origin", b"xyz")
    os.setxattr(src / "d", "user.keep", b"1")
    t1, _ = _tar_bytes(src)
    with tarfile.open(fileobj=io.BytesIO(t1)) as tf:
        assert tf.getmember("d").pax_headers == {"SCHILY.xattr.user.keep": "1"}


def test_gzip_stream_is_deterministic(tmp_path: Path) -> None:
    data = os.urandom(1000) * 50
    outs = []
    for _ in range(2):
        out = io.BytesIO()
        gzip_stream(io.BytesIO(data), out)
        outs.append(out.getvalue())
    assert outs[0] == outs[1]
    assert outs[0][4:8] == b"\0\0\0\0"  # mtime 0
    assert outs[0][3] & 0x08 == 0  # no FNAME
    assert gzip.decompress(outs[0]) == data


def test_compress_layer_reports_blob_digest(tar: TarBuilder, tmp_path: Path) -> None:
    tar_path = tmp_path / "layer.tar"
    tar_path.write_bytes(_rich_layer(tar))
    out_path = tmp_path / "layer.tar.gz"
    with open(out_path, "wb") as out:
        digest, size = compress_layer(tar_path, out)
    blob = out_path.read_bytes()
    assert str(digest) == "sha256:" + hashlib.sha256(blob).hexdigest() and size == len(blob)
    dest = tmp_path / "x"
    dest.mkdir()
    with open(out_path, "rb") as f:
        res = extract_layer(f, dest)
    assert res.diff_id.hex == hashlib.sha256(tar_path.read_bytes()).hexdigest()


def test_sockets_are_skipped_and_deep_trees_work(tmp_path: Path) -> None:
    src = tmp_path / "src"
    deep = src.joinpath(*["d"] * 600)
    deep.mkdir(parents=True)
    (deep / "f").write_bytes(b"bottom")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(src / "sock"))
    sock.close()
    t1, _ = _tar_bytes(src)
    with tarfile.open(fileobj=io.BytesIO(t1)) as tf:
        names = tf.getnames()
    assert "sock" not in names and len(names) == 601


def test_missing_source_is_an_archive_error(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="cannot write layer"):
        write_layer_tar(tmp_path / "nope", io.BytesIO())
