"""COPY/ADD: sources into a mounted container rootfs, with Docker's rules, never outside it.

Docker's classic builder (builder/dockerfile/copy.go ``performCopyForInfo``): a relative
destination is relative to WORKDIR; a directory source has its *contents* copied (recursively,
symlinks kept as symlinks, modes and mtimes kept) into the destination, which is created if
missing; a file goes into the destination when it ends with ``/`` or is an existing directory,
under its own name, and is the destination otherwise; missing parents are made 0755. What is
copied is owned by 0:0, or by ``--chown``'s pair, as are the directories made on the way;
``--chmod`` sets the mode of what is copied. With several sources the destination is a
directory (the classic builder insists on a trailing ``/``; here a missing one is made and an
existing file is the error). ADD unpacks a local tar (``archive``), URL downloads excepted.

Safety: the destination is resolved in the rootfs as in a chroot (``berth.rootpath``): a
``/dest -> /etc`` or ``-> ../../..`` symlink of the image leads to the rootfs's own ``etc`` or
root, never the host's. Sources are read inside their own root the same way.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from berth.build.context.archive import extract_into, is_archive
from berth.build.context.context import Source
from berth.build.context.errors import CopyFailed, SourceNotFound
from berth.build.context.ignore import IgnoreMatcher
from berth.errors import InvalidArgument
from berth.rootpath import (
    DIR_FLAGS,
    CopyOptions,
    Entry,
    Filter,
    Owner,
    Pick,
    copy_contents,
    copy_entry,
    resolve,
    set_meta,
)

SourceLike = Source | tuple[Path, str] | Path


def copy_into(root: Path, sources: Sequence[SourceLike], dest: str, *, workdir: str = "/",
              chown: tuple[int, int] | None = None, chmod: int | None = None,
              extract_archives: bool = False, ignore: IgnoreMatcher | None = None) -> None:
    """Copy ``sources`` to ``dest`` in the rootfs ``root`` by Docker's COPY (or, with
    ``extract_archives``, ADD) rules. A host file may be given as ``(path, name)`` or a path.

    ``ignore`` overrides the sources' own .dockerignore for the content of directories."""
    items = [_as_source(s) for s in sources]
    if not items:
        raise InvalidArgument("no source files were specified", dest=dest)
    target = dest if dest.startswith("/") else posixpath.join("/", workdir, dest)
    into_dir = dest in ("", ".") or dest.endswith(("/", "/.")) or len(items) > 1
    copier = _Copier(Owner(*chown) if chown is not None else Owner(0, 0), chmod, dest, target)
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for item in items:
            matcher = ignore if ignore is not None else item.ignore
            opts = CopyOptions(copier.owner, chmod, _filter(matcher, item.rel) if matcher else None)
            copier.one(root_fd, item, opts, into_dir=into_dir, several=len(items) > 1,
                       extract=extract_archives, tar_owner=Owner(*chown) if chown is not None else None)
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        raise CopyFailed(f"failed to copy files to {dest}:{where} {exc.strerror or exc}", dest=dest,
                         errno=exc.errno) from None
    finally:
        os.close(root_fd)


def _as_source(s: SourceLike) -> Source:
    if isinstance(s, Source):
        return s
    if isinstance(s, tuple):
        return Source.host_file(Path(s[0]), s[1])
    return Source.host_file(Path(s))


def _filter(matcher: IgnoreMatcher, rel: str) -> Filter:
    base = rel.split("/") if rel else []

    def pick(parts: tuple[str, ...], is_dir: bool) -> Pick:
        return matcher.pick("/".join((*base, *parts)), is_dir)

    return pick


class _Copier:
    def __init__(self, owner: Owner, chmod: int | None, dest: str, target: str) -> None:
        self.owner = owner
        self.chmod = chmod
        self.dest = dest  # as written, for messages
        self.target = target  # absolute in the rootfs

    def one(self, root_fd: int, item: Source, opts: CopyOptions, *, into_dir: bool, several: bool,
            extract: bool, tar_owner: Owner | None) -> None:
        with _open_source(item) as src:
            st = src.lstat()
            if st is None:
                raise SourceNotFound(f"COPY source {item.rel or '.'} vanished from {item.root}", source=item.rel)
            if stat.S_ISDIR(st.st_mode):
                self._directory(root_fd, src, st, opts)
                return
            if extract and stat.S_ISREG(st.st_mode):
                sfd = os.open(src.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src.dir_fd)
                try:
                    if is_archive(sfd):
                        with self._dest_dir(root_fd) as (dfd, _):
                            extract_into(sfd, dfd, CopyOptions(tar_owner, self.chmod), item.name)
                        return
                finally:
                    os.close(sfd)
            self._file(root_fd, src, item.name, opts, into_dir=into_dir, several=several)

    def _directory(self, root_fd: int, src: Entry, st: os.stat_result, opts: CopyOptions) -> None:
        sfd = os.open(src.name, DIR_FLAGS, dir_fd=src.dir_fd)
        try:
            with self._dest_dir(root_fd) as (dfd, created):
                copy_contents(sfd, dfd, opts)
                if created:  # a directory made for the copy takes the source's metadata, an existing one keeps its own
                    set_meta(dfd, st, opts)
        finally:
            os.close(sfd)

    def _file(self, root_fd: int, src: Entry, name: str, opts: CopyOptions, *, into_dir: bool,
              several: bool) -> None:
        with self._resolve(root_fd) as dst:
            dst_st = dst.lstat()
            is_dir = dst_st is not None and stat.S_ISDIR(dst_st.st_mode)
            if not (into_dir or is_dir):
                copy_entry(src.dir_fd, src.name, dst.dir_fd, dst.name, opts)  # the file is the destination
                return
            if dst_st is None:
                self._mkdir(dst.dir_fd, dst.name)
            elif not is_dir:
                why = " (with more than one source, the destination must be a directory)" if several else ""
                raise CopyFailed(f"failed to copy files: {self.dest} is not a directory{why}", dest=self.dest)
            dfd = os.open(dst.name, DIR_FLAGS, dir_fd=dst.dir_fd)
            try:
                copy_entry(src.dir_fd, src.name, dfd, name, opts)
            finally:
                os.close(dfd)

    @contextlib.contextmanager
    def _dest_dir(self, root_fd: int) -> Iterator[tuple[int, bool]]:
        """An fd on the destination directory (made if missing) and whether it was made."""
        with self._resolve(root_fd) as dst:
            st = dst.lstat()
            created = st is None
            if created:
                self._mkdir(dst.dir_fd, dst.name)
            elif not stat.S_ISDIR(st.st_mode):
                raise CopyFailed(f"failed to copy files: cannot copy a directory or an archive's content to "
                                 f"{self.dest}: not a directory", dest=self.dest)
            fd = os.open(dst.name, DIR_FLAGS, dir_fd=dst.dir_fd)
            try:
                yield fd, created
            finally:
                os.close(fd)

    @contextlib.contextmanager
    def _resolve(self, root_fd: int) -> Iterator[Entry]:
        try:
            entry = resolve(root_fd, self.target, follow_last=True, mkdir=self._mkdir)
        except NotADirectoryError:
            raise CopyFailed(f"failed to copy files: a parent of {self.dest} is not a directory",
                             dest=self.dest) from None
        with entry:
            yield entry

    def _mkdir(self, parent: int, name: str) -> None:
        """A directory made on the way: 0755, owned like the copy (Docker's MkdirAllAndChownNew)."""
        os.mkdir(name, 0o755, dir_fd=parent)
        os.chown(name, self.owner.uid, self.owner.gid, dir_fd=parent, follow_symlinks=False)
        os.chmod(name, 0o755, dir_fd=parent)  # the umask may have taken bits


@contextlib.contextmanager
def _open_source(item: Source) -> Iterator[Entry]:
    """The source inside its own root (symlinks followed there, never out)."""
    root = os.open(item.root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        entry = resolve(root, item.rel, follow_last=True)
    except (FileNotFoundError, NotADirectoryError):
        raise SourceNotFound(f"COPY source {item.rel or '.'} vanished from {item.root}", source=item.rel) from None
    finally:
        os.close(root)
    with entry:
        yield entry

