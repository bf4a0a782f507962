"""Layer creation: an overlay upper dir (or any rootfs diff) as a Docker layer tar.

The tar is deterministic, so the same tree always gives the same diff_id:
names sorted bytewise (Go's filepath.Walk order, as Docker), numeric
owners only, whole-second mtimes (Docker truncates too), PAX format, xattrs
as ``SCHILY.xattr.*``. Overlay whiteouts become Docker tar whiteouts, the
reverse of ``extract``: a 0/0 char device ``x`` is written as an empty
``.wh.x`` and an opaque dir gets a ``.wh..wh..opq`` entry.
"""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import tarfile
from pathlib import Path
from typing import BinaryIO

from berth.errors import ArchiveError
from berth.layers.names import OPAQUE_MARKER, OPAQUE_XATTR, WHITEOUT_PREFIX
from berth.layers.stream import HashingWriter
from berth.reference.digest import Digest

COPY_BUFSIZE = 1 << 20
#: overlay internals and host SELinux labels do not belong in an image
_SKIPPED_XATTRS = ("trusted.overlay.", "user.overlay.", "security.selinux")
#: Docker's default (gzip.DefaultCompression); 9 costs much time for little
GZIP_LEVEL = 6


def write_layer_tar(src: Path, out: BinaryIO) -> Digest:
    """Write directory ``src`` as an uncompressed layer tar to ``out``; return its diff_id."""
    writer = HashingWriter(out)
    # Mode "w" (not "w|") writes straight through: tarfile's stream buffer
    # re-slices itself on every write. HashingWriter.tell() is all it needs.
    try:
        with tarfile.open(
            fileobj=writer,  # type: ignore[arg-type]
            mode="w",
            format=tarfile.PAX_FORMAT,
            encoding="utf-8",
            errors="surrogateescape",
            copybufsize=COPY_BUFSIZE,
        ) as tf:
            _add_tree(tf, os.fspath(src))
        writer.flush()
    except OSError as e:
        where = f" {e.filename}" if e.filename else ""
        raise ArchiveError(f"cannot write layer of {src}:{where} {e.strerror or e}", errno=e.errno) from None
    return Digest.from_hasher(writer.hasher)


def gzip_stream(src: BinaryIO, out: BinaryIO) -> None:
    """Gzip ``src`` into ``out`` reproducibly: no file name, mtime 0."""
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=GZIP_LEVEL) as gz:
        shutil.copyfileobj(src, gz, COPY_BUFSIZE)


def compress_layer(tar_path: Path, out: BinaryIO) -> tuple[Digest, int]:
    """Gzip the layer tar at ``tar_path`` into ``out``; return the blob digest and size."""
    writer = HashingWriter(out)
    with open(tar_path, "rb") as f:
        gzip_stream(f, writer)  # type: ignore[arg-type]
    writer.flush()
    return Digest.from_hasher(writer.hasher), writer.total


def _sorted_names(directory: str) -> list[str]:
    with os.scandir(directory) as it:
        return sorted((e.name for e in it), key=os.fsencode)


def _add_tree(tf: tarfile.TarFile, root: str) -> None:
    """Pre-order walk (a dir, then its content), iterative so depth is unbounded."""
    links: dict[tuple[int, int], str] = {}
    stack = [("", iter(_sorted_names(root)))]
    while stack:
        rel, names = stack[-1]
        name = next(names, None)
        if name is None:
            stack.pop()
            continue
        arc = rel + name
        path = os.path.join(root, arc)
        st = os.lstat(path)
        mode = st.st_mode
        if stat.S_ISCHR(mode) and st.st_rdev == 0:
            # overlay whiteout -> Docker whiteout file, as Docker's overlay2 does
            ti = _info(rel + WHITEOUT_PREFIX + name, st, tarfile.REGTYPE)
            ti.mode = 0o600
            tf.addfile(ti)
        elif stat.S_ISDIR(mode):
            tf.addfile(_info(arc, st, tarfile.DIRTYPE, path))
            if _is_opaque(path):
                marker = _info(f"{arc}/{OPAQUE_MARKER}", st, tarfile.REGTYPE)
                marker.mode = stat.S_IMODE(mode) & 0o777
                tf.addfile(marker)
            stack.append((arc + "/", iter(_sorted_names(path))))
        elif st.st_nlink > 1 and (st.st_dev, st.st_ino) in links:
            ti = _info(arc, st, tarfile.LNKTYPE)
            ti.linkname = links[(st.st_dev, st.st_ino)]
            tf.addfile(ti)
        else:
            if st.st_nlink > 1:
                links[(st.st_dev, st.st_ino)] = arc
            _add_other(tf, path, arc, st)


def _add_other(tf: tarfile.TarFile, path: str, arc: str, st: os.stat_result) -> None:
    mode = st.st_mode
    if stat.S_ISREG(mode):
        ti = _info(arc, st, tarfile.REGTYPE, path)
        ti.size = st.st_size
        # O_NOFOLLOW: if the entry was swapped for a symlink meanwhile, fail
        # rather than archive whatever it points to.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with open(fd, "rb") as f:
            tf.addfile(ti, f)
    elif stat.S_ISLNK(mode):
        ti = _info(arc, st, tarfile.SYMTYPE, path)
        ti.linkname = os.readlink(path)
        tf.addfile(ti)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        ti = _info(arc, st, tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE, path)
        ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        tf.addfile(ti)
    elif stat.S_ISFIFO(mode):
        tf.addfile(_info(arc, st, tarfile.FIFOTYPE, path))
    # sockets cannot be archived (Docker skips them too)


def _info(name: str, st: os.stat_result, kind: bytes, xattr_path: str | None = None) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = stat.S_IMODE(st.st_mode)
    ti.uid, ti.gid = st.st_uid, st.st_gid
    ti.uname = ti.gname = ""
    ti.mtime = int(st.st_mtime)
    if xattr_path is not None:
        ti.pax_headers = _xattrs(xattr_path)
    return ti


def _xattrs(path: str) -> dict[str, str]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}  # filesystem without xattr support
    headers: dict[str, str] = {}
    for attr in sorted(names):
        if attr.startswith(_SKIPPED_XATTRS):
            continue
        value = os.getxattr(path, attr, follow_symlinks=False)
        # tarfile writes surrogate-escaped text back as the original bytes
        headers["SCHILY.xattr." + attr] = value.decode("utf-8", "surrogateescape")
    return headers


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False
