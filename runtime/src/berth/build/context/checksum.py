"""The cache key of COPY/ADD: a digest of what the sources would copy.

It covers what ends up in the image: relative names, file types, permission bits, symlink
targets, device numbers and file contents, with .dockerignore'd entries left out as the copy
leaves them out. It leaves out what does not: mtimes (a ``touch`` or a fresh checkout keeps the
cache, as Docker's tarsum of the classic builder ignores them too), and the owner of context
files (COPY sets 0:0 or --chown anyway). Entries are walked in sorted order and every record is
a fixed number of NUL-terminated fields (names and link targets cannot hold a NUL), so equal
trees give equal digests on any run and different trees cannot collide by concatenation.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence

from berth.build.context.context import Source
from berth.rootpath import DIR_FLAGS, Pick, resolve

_VERSION = b"berth-context-checksum-v1\0"
_BUF = 1 << 20


def tree_checksum(sources: Sequence[Source]) -> str:
    """``sha256:<hex>`` over the trees of ``sources``, in order."""
    h = hashlib.sha256(_VERSION)
    for src in sources:
        root = os.open(src.root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            entry = resolve(root, src.rel, follow_last=True)
        finally:
            os.close(root)
        with entry:
            st = os.stat(entry.name, dir_fd=entry.dir_fd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                # a directory's contents are copied, not the directory: its name does not matter
                h.update(_line(b"source-dir", b"", b"%o" % stat.S_IMODE(st.st_mode), b""))
                fd = os.open(entry.name, DIR_FLAGS, dir_fd=entry.dir_fd)
                try:
                    base = tuple(src.rel.split("/")) if src.rel else ()
                    for line in _tree(fd, (), base, src):
                        h.update(line)
                finally:
                    os.close(fd)
            else:
                for line in _entry(entry.dir_fd, entry.name, src.name.encode("utf-8", "surrogateescape"), st):
                    h.update(line)
    return "sha256:" + h.hexdigest()


def _tree(dir_fd: int, rel: tuple[str, ...], base: tuple[str, ...], src: Source) -> list[bytes]:
    """The records of a directory's visible content, sorted, depth first."""
    out: list[bytes] = []
    for name in sorted(os.listdir(dir_fd)):
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        here = (*rel, name)
        pick = src.ignore.pick("/".join((*base, *here)), stat.S_ISDIR(st.st_mode)) if src.ignore else Pick.INCLUDE
        if pick is Pick.EXCLUDE or stat.S_ISSOCK(st.st_mode):
            continue  # left out of the copy
        shown = "/".join(here).encode("utf-8", "surrogateescape")
        if not stat.S_ISDIR(st.st_mode):
            out.extend(_entry(dir_fd, name, shown, st))
            continue
        fd = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
        try:
            below = _tree(fd, here, base, src)
        finally:
            os.close(fd)
        if pick is Pick.DESCEND:
            if below:  # an implied parent: exists (0755) only to hold what is re-included
                out.append(_line(b"implied-dir", shown, b"755", b""))
                out.extend(below)
            continue
        out.append(_line(b"dir", shown, b"%o" % stat.S_IMODE(st.st_mode), b""))
        out.extend(below)
    return out


def _entry(dir_fd: int, name: str, shown: bytes, st: os.stat_result) -> list[bytes]:
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISREG(st.st_mode):
        return [_line(b"file", shown, b"%o" % mode, _content_digest(dir_fd, name))]
    if stat.S_ISLNK(st.st_mode):
        return [_line(b"symlink", shown, b"", os.fsencode(os.readlink(name, dir_fd=dir_fd)))]
    if stat.S_ISFIFO(st.st_mode):
        return [_line(b"fifo", shown, b"%o" % mode, b"")]
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        kind = b"char" if stat.S_ISCHR(st.st_mode) else b"block"
        dev = b"%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        return [_line(kind, shown, b"%o" % mode, dev)]
    if stat.S_ISDIR(st.st_mode):
        return [_line(b"dir", shown, b"%o" % mode, b"")]
    return []  # sockets are not copied


def _line(kind: bytes, name: bytes, mode: bytes, extra: bytes) -> bytes:
    return b"%s\0%s\0%s\0%s\0" % (kind, name, mode, extra)


def _content_digest(dir_fd: int, name: str) -> bytes:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        h = hashlib.sha256()
        while chunk := os.read(fd, _BUF):
            h.update(chunk)
        return h.hexdigest().encode()
    finally:
        os.close(fd)
