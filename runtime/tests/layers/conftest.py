"""Helpers for layer tests: build tar files member by member, snapshot trees."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

MTIME = 1_700_000_000


class TarBuilder:
    """An in-memory PAX tar, built one member at a time (hostile ones included)."""

    def __init__(self) -> None:
        self._buf = io.BytesIO()
        # kept open across calls on purpose; closed by bytes()
        self._tf = tarfile.open(fileobj=self._buf, mode="w", format=tarfile.PAX_FORMAT,  # noqa: SIM115
                                encoding="utf-8", errors="surrogateescape")

    def _add(self, name: str, kind: bytes, *, mode: int = 0o644, uid: int = 0, gid: int = 0,
             mtime: int = MTIME, data: bytes | None = None, linkname: str = "",
             xattrs: dict[str, bytes] | None = None, dev: tuple[int, int] = (0, 0)) -> TarBuilder:
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.mode, ti.uid, ti.gid, ti.mtime = mode, uid, gid, mtime
        ti.linkname = linkname
        ti.devmajor, ti.devminor = dev
        if xattrs:
            ti.pax_headers = {f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape") for k, v in xattrs.items()}
        if data is not None:
            ti.size = len(data)
            self._tf.addfile(ti, io.BytesIO(data))
        else:
            self._tf.addfile(ti)
        return self

    def file(self, name: str, data: bytes = b"", **kw: object) -> TarBuilder:
        return self._add(name, tarfile.REGTYPE, data=data, **kw)  # type: ignore[arg-type]

    def dir(self, name: str, mode: int = 0o755, **kw: object) -> TarBuilder:
        return self._add(name, tarfile.DIRTYPE, mode=mode, **kw)  # type: ignore[arg-type]

    def symlink(self, name: str, target: str, **kw: object) -> TarBuilder:
        return self._add(name, tarfile.SYMTYPE, linkname=target, mode=0o777, **kw)  # type: ignore[arg-type]

    def hardlink(self, name: str, target: str, **kw: object) -> TarBuilder:
        return self._add(name, tarfile.LNKTYPE, linkname=target, **kw)  # type: ignore[arg-type]

    def chr(self, name: str, major: int, minor: int, **kw: object) -> TarBuilder:
        return self._add(name, tarfile.CHRTYPE, dev=(major, minor), **kw)  # type: ignore[arg-type]

    def blk(self, name: str, major: int, minor: int, **kw: object) -> TarBuilder:
        return self._add(name, tarfile.BLKTYPE, dev=(major, minor), **kw)  # type: ignore[arg-type]

    def fifo(self, name: str, **kw: object) -> TarBuilder:
        return self._add(name, tarfile.FIFOTYPE, **kw)  # type: ignore[arg-type]

    def bytes(self) -> bytes:
        self._tf.close()
        return self._buf.getvalue()


@pytest.fixture
def tar() -> TarBuilder:
    return TarBuilder()


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    """The layer dir, one level below tmp_path, next to decoys that must stay untouched."""
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "keep").write_bytes(b"precious")
    (tmp_path / "outside").write_bytes(b"outside")
    d = tmp_path / "layers" / "dest"
    d.mkdir(parents=True)
    return d


def snapshot(root: Path, exclude: Path | None = None) -> dict[str, tuple]:
    """Everything observable about a tree (names, types, modes, owners, content)."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if exclude is not None and Path(dirpath) == exclude:
            dirnames.clear()
            continue
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            if exclude is not None and p == exclude:
                continue
            st = p.lstat()
            body: object = None
            if stat.S_ISREG(st.st_mode):
                body = hashlib.sha256(p.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                body = os.readlink(p)
            out[str(p.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, body)
    return out


def tree_state(root: Path) -> dict[str, tuple]:
    """Snapshot plus the things extraction must reproduce: xattrs, rdev, hardlink groups."""
    base = snapshot(root)
    inodes: dict[int, str] = {}
    out: dict[str, tuple] = {}
    for rel in sorted(base):
        p = root / rel
        st = p.lstat()
        xattrs = tuple(sorted((a, os.getxattr(p, a, follow_symlinks=False))
                              for a in os.listxattr(p, follow_symlinks=False)))
        first = inodes.setdefault(st.st_ino, rel)
        mtime = base[rel][4]
        # a dir's size depends on its history, not its content
        size = None if stat.S_ISDIR(st.st_mode) else st.st_size
        out[rel] = (st.st_mode, st.st_uid, st.st_gid, size, mtime, base[rel][5], st.st_rdev, xattrs, first)
    return out
