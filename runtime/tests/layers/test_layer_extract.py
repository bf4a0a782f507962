"""Extraction into overlay upper-dir format: types, metadata, compression, diff_id, errors."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from berth.errors import ArchiveError
from berth.layers import ExtractResult, extract_layer

from .conftest import MTIME, TarBuilder


def _extract(data: bytes, dest: Path) -> ExtractResult:
    return extract_layer(io.BytesIO(data), dest)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- whiteouts -------------------------------------------------------------


def test_whiteout_becomes_char_device_0_0(tar: TarBuilder, dest: Path) -> None:
    res = _extract(tar.dir("etc").file("etc/.wh.motd", uid=5, gid=6).file(".wh.top").bytes(), dest)
    for p in (dest / "etc" / "motd", dest / "top"):
        st = p.lstat()
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert (dest / "etc" / "motd").lstat().st_uid == 5
    assert (dest / "etc" / "motd").lstat().st_gid == 6
    assert not (dest / "etc" / ".wh.motd").exists()
    assert res.entries == 3 and res.size == 0


def test_whiteout_replaces_an_earlier_entry(tar: TarBuilder, dest: Path) -> None:
    _extract(tar.dir("d").file("d/x", b"data").file(".wh.d").bytes(), dest)
    assert stat.S_ISCHR((dest / "d").lstat().st_mode)


def test_opaque_dir_gets_xattr_and_no_marker(tar: TarBuilder, dest: Path) -> None:
    _extract(tar.dir("var").dir("var/lib").file("var/lib/.wh..wh..opq").file("var/lib/new", b"n").bytes(), dest)
    assert os.getxattr(dest / "var" / "lib", "trusted.overlay.opaque") == b"y"
    assert sorted(os.listdir(dest / "var" / "lib")) == ["new"]
    assert "trusted.overlay.opaque" not in os.listxattr(dest / "var")


def test_opaque_marker_before_its_dir_creates_the_dir(tar: TarBuilder, dest: Path) -> None:
    _extract(tar.file("a/b/.wh..wh..opq").dir("a/b", mode=0o700).bytes(), dest)
    assert os.getxattr(dest / "a" / "b", "trusted.overlay.opaque") == b"y"
    assert stat.S_IMODE((dest / "a" / "b").stat().st_mode) == 0o700


def test_other_aufs_meta_entries_are_ignored(tar: TarBuilder, dest: Path) -> None:
    _extract(tar.dir(".wh..wh.plnk").file(".wh..wh.plnk/123.456", b"x").file(".wh..wh.aufs").bytes(), dest)
    assert os.listdir(dest) == []


# -- entry types and metadata ------------------------------------------------


def test_setuid_survives_chown(tar: TarBuilder, dest: Path) -> None:
    data = (tar.file("bin/su", b"\x7fELF", mode=0o4755, uid=1000, gid=1000)
            .file("bin/wall", b"x", mode=0o2755, uid=0, gid=5)
            .dir("tmp", mode=0o1777).dir("shared", mode=0o2775, uid=1000, gid=1000).bytes())
    _extract(data, dest)
    su = (dest / "bin" / "su").stat()
    assert (stat.S_IMODE(su.st_mode), su.st_uid, su.st_gid) == (0o4755, 1000, 1000)
    assert stat.S_IMODE((dest / "bin" / "wall").stat().st_mode) == 0o2755
    assert stat.S_IMODE((dest / "tmp").stat().st_mode) == 0o1777
    shared = (dest / "shared").stat()
    assert (stat.S_IMODE(shared.st_mode), shared.st_uid) == (0o2775, 1000)


def test_device_nodes_and_fifo(tar: TarBuilder, dest: Path) -> None:
    data = (tar.dir("dev").chr("dev/null", 1, 3, mode=0o666).blk("dev/loop0", 7, 0, mode=0o660, gid=6)
            .fifo("dev/initctl", mode=0o600, uid=7).bytes())
    _extract(data, dest)
    null = (dest / "dev" / "null").lstat()
    assert stat.S_ISCHR(null.st_mode) and (os.major(null.st_rdev), os.minor(null.st_rdev)) == (1, 3)
    assert stat.S_IMODE(null.st_mode) == 0o666
    loop = (dest / "dev" / "loop0").lstat()
    assert stat.S_ISBLK(loop.st_mode) and os.major(loop.st_rdev) == 7 and loop.st_gid == 6
    fifo = (dest / "dev" / "initctl").lstat()
    assert stat.S_ISFIFO(fifo.st_mode) and fifo.st_uid == 7 and stat.S_IMODE(fifo.st_mode) == 0o600


def test_xattrs_from_pax_headers(tar: TarBuilder, dest: Path) -> None:
    binary = b"\x00\xff\x01\x80binary"
    data = (tar.dir("d", xattrs={"user.dir": b"yes"})
            .file("d/f", b"x", xattrs={"user.text": b"hello", "user.bin": binary}).bytes())
    _extract(data, dest)
    assert os.getxattr(dest / "d", "user.dir") == b"yes"
    assert os.getxattr(dest / "d" / "f", "user.text") == b"hello"
    assert os.getxattr(dest / "d" / "f", "user.bin") == binary


def test_security_capability_survives_chown(tar: TarBuilder, dest: Path) -> None:
    # VFS_CAP_REVISION_2 with CAP_NET_BIND_SERVICE effective+permitted: what `setcap` writes
    cap = bytes.fromhex("0100000200040000000000000000000000000000")
    _extract(tar.file("ping", b"\x7fELF", mode=0o755, uid=0,
                      xattrs={"security.capability": cap}).bytes(), dest)
    assert os.getxattr(dest / "ping", "security.capability") == cap


def test_hardlink_inside_layer_shares_inode(tar: TarBuilder, dest: Path) -> None:
    res = _extract(tar.file("usr/bin/a", b"same", mode=0o4711, uid=3).hardlink("usr/bin/b", "usr/bin/a")
                   .hardlink("c", "/usr/bin/a").bytes(), dest)
    a, b, c = ((dest / p).lstat() for p in ("usr/bin/a", "usr/bin/b", "c"))
    assert a.st_ino == b.st_ino == c.st_ino and a.st_nlink == 3
    assert stat.S_IMODE(a.st_mode) == 0o4711 and a.st_uid == 3
    assert res.size == 4


def test_symlinks_keep_any_target(tar: TarBuilder, dest: Path) -> None:
    data = (tar.symlink("abs", "/usr/lib/os-release", uid=4).symlink("rel", "../../..")
            .symlink("dangling", "nowhere").bytes())
    _extract(data, dest)
    assert os.readlink(dest / "abs") == "/usr/lib/os-release"
    assert os.readlink(dest / "rel") == "../../.."
    assert os.readlink(dest / "dangling") == "nowhere"
    assert (dest / "abs").lstat().st_uid == 4
    assert (dest / "abs").lstat().st_mtime == MTIME


def test_mtimes_including_dirs_written_into(tar: TarBuilder, dest: Path) -> None:
    data = (tar.dir("d", mtime=1_000_000).file("d/f", b"x", mtime=2_000_000).dir("d/e", mtime=3_000_000)
            .file("d/e/g", mtime=4_000_000).bytes())
    _extract(data, dest)
    assert (dest / "d").stat().st_mtime == 1_000_000
    assert (dest / "d" / "f").stat().st_mtime == 2_000_000
    assert (dest / "d" / "e").stat().st_mtime == 3_000_000


def test_implicit_parents_are_created(tar: TarBuilder, dest: Path) -> None:
    _extract(tar.file("a/b/c/f", b"x").bytes(), dest)
    assert (dest / "a" / "b" / "c" / "f").read_bytes() == b"x"
    assert stat.S_IMODE((dest / "a").stat().st_mode) == 0o755


def test_long_and_non_utf8_names(tar: TarBuilder, dest: Path) -> None:
    long = "/".join(["d" * 60] * 4) + "/" + "f" * 200
    raw = b"caf\xe9-latin1"
    data = tar.file(long, b"long").file("caf\u00e9", b"utf8").file(os.fsdecode(raw), b"raw").bytes()
    _extract(data, dest)
    assert (dest / long).read_bytes() == b"long"
    assert (dest / "caf\u00e9").read_bytes() == b"utf8"
    assert os.path.exists(os.path.join(os.fsencode(dest), raw))


def test_sparse_gnu_member(tmp_path: Path, dest: Path) -> None:
    src = tmp_path / "sparse"
    with open(src, "wb") as f:
        f.seek(1 << 20)
        f.write(b"end")
    tar_path = tmp_path / "s.tar"
    import subprocess

    subprocess.run(["tar", "--sparse", "--format=gnu", "-cf", str(tar_path), "-C", str(tmp_path), "sparse"],
                   check=True)
    with open(tar_path, "rb") as f:
        res = extract_layer(f, dest)
    data = (dest / "sparse").read_bytes()
    assert len(data) == (1 << 20) + 3 and data.endswith(b"end") and not data[:-3].strip(b"\0")
    assert res.diff_id.hex == hashlib.sha256(tar_path.read_bytes()).hexdigest()


def test_counts(tar: TarBuilder, dest: Path) -> None:
    res = _extract(tar.dir("d").file("d/a", b"12345").file("d/b", b"678").symlink("l", "d").bytes(), dest)
    assert (res.entries, res.size) == (4, 8)


# -- compression and diff_id --------------------------------------------------


def _sample(tar: TarBuilder) -> bytes:
    return tar.dir("etc").file("etc/hostname", b"box\n").file("big", os.urandom(300_000)).bytes()


@pytest.mark.parametrize("compress", [
    lambda b: b,
    lambda b: gzip.compress(b, mtime=0),
    lambda b: lzma.compress(b),
    lambda b: bz2.compress(b),
], ids=["plain", "gzip", "xz", "bzip2"])
def test_diff_id_is_sha256_of_plain_tar(tar: TarBuilder, dest: Path, compress: Callable[[bytes], bytes]) -> None:
    plain = _sample(tar)
    res = _extract(compress(plain), dest)
    assert str(res.diff_id) == _sha(plain)
    assert (dest / "etc" / "hostname").read_bytes() == b"box\n"


def test_diff_id_covers_trailing_padding(tar: TarBuilder, dest: Path) -> None:
    plain = _sample(tar) + b"\0" * 20480  # extra zero records after end-of-archive
    assert str(_extract(gzip.compress(plain), dest).diff_id) == _sha(plain)


def test_multi_member_gzip(tar: TarBuilder, dest: Path) -> None:
    plain = _sample(tar)
    data = gzip.compress(plain[:7000]) + gzip.compress(plain[7000:])
    assert str(_extract(data, dest).diff_id) == _sha(plain)


def test_empty_stream_is_an_empty_layer(dest: Path) -> None:
    res = _extract(b"", dest)
    assert (str(res.diff_id), res.size, res.entries) == (_sha(b""), 0, 0)


def test_empty_tar(dest: Path) -> None:
    buf = io.BytesIO()
    tarfile.open(fileobj=buf, mode="w").close()
    assert str(_extract(gzip.compress(buf.getvalue()), dest).diff_id) == _sha(buf.getvalue())


def test_zstd_multi_frame_and_truncated(tar: TarBuilder, dest: Path, tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    plain = _sample(tar)
    frames = zstandard.ZstdCompressor().compress(plain[:7000]) + zstandard.ZstdCompressor().compress(plain[7000:])
    assert str(_extract(frames, dest).diff_id) == _sha(plain)
    whole = zstandard.ZstdCompressor().compress(plain)
    (tmp_path / "t").mkdir()
    with pytest.raises(ArchiveError, match="zstd"):
        _extract(whole[:-3], tmp_path / "t")


def test_zstd_without_module(dest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_zstd(name: str, *a: object, **kw: object) -> object:
        if name == "zstandard":
            raise ImportError(name)
        return real_import(name, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_zstd)
    with pytest.raises(ArchiveError, match="zstd layers need the 'zstandard'"):
        _extract(b"\x28\xb5\x2f\xfd" + b"\0" * 64, dest)


def test_short_reads_from_a_socket_like_stream(tar: TarBuilder, dest: Path) -> None:
    plain = _sample(tar)
    data = gzip.compress(plain)

    class Trickle(io.RawIOBase):
        def __init__(self) -> None:
            self.pos = 0

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            n = 3 if n < 0 else min(n, 3)  # never more than 3 bytes at a time
            chunk = data[self.pos:self.pos + n]
            self.pos += len(chunk)
            return chunk

    res = extract_layer(Trickle(), dest)  # type: ignore[arg-type]
    assert str(res.diff_id) == _sha(plain)


# -- corrupt input -----------------------------------------------------------


def test_truncated_gzip(tar: TarBuilder, dest: Path) -> None:
    data = gzip.compress(_sample(tar))
    with pytest.raises(ArchiveError, match="gzip"):
        _extract(data[: len(data) // 2], dest)


def test_gzip_missing_only_its_trailer(tar: TarBuilder, dest: Path) -> None:
    data = gzip.compress(_sample(tar))
    with pytest.raises(ArchiveError):
        _extract(data[:-4], dest)


def test_corrupt_gzip(tar: TarBuilder, dest: Path) -> None:
    data = bytearray(gzip.compress(_sample(tar)))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(ArchiveError):
        _extract(bytes(data), dest)


def test_truncated_plain_tar_mid_file(tar: TarBuilder, dest: Path) -> None:
    data = _sample(tar)
    with pytest.raises(ArchiveError, match=r"'big'.*truncated"):
        _extract(data[:100_000], dest)


def test_garbage_header_mid_archive(tar: TarBuilder, dest: Path) -> None:
    plain = tar.file("a", b"x" * 10).file("b", b"y").bytes()
    # second header starts after a's header + one data block
    bad = plain[:1024] + b"\x01" * 512 + plain[1536:]
    with pytest.raises(ArchiveError, match="after member 'a'"):
        _extract(bad, dest)


def test_not_a_tar(dest: Path) -> None:
    with pytest.raises(ArchiveError, match="not a tar"):
        _extract(b"hello world, definitely not a tar archive" * 40, dest)


def test_plain_tar_whose_first_name_looks_like_a_magic(tar: TarBuilder, dest: Path) -> None:
    plain = tar.file("BZh91AY&SY", b"not bzip2").file("\x1f\x8bname", b"nor gzip").bytes()
    assert str(_extract(plain, dest).diff_id) == _sha(plain)
    assert (dest / "BZh91AY&SY").read_bytes() == b"not bzip2"



def test_tarinfo_override_is_called_like_the_base(tar: TarBuilder) -> None:
    """Callers may pass the archive by the base's parameter name: ``fromtarfile(tarfile=...)``."""
    from berth.layers.extract import _TarInfo

    tf = tarfile.TarFile(fileobj=io.BytesIO(tar.file("a", b"x").bytes()), mode="r")
    tf.fileobj.seek(0)  # back before the first header, which the constructor has read
    tf.offset = 0
    assert _TarInfo.fromtarfile(tarfile=tf).name == "a"
