"""The build context: a host directory, its .dockerignore, its Dockerfile, and COPY/ADD sources in it.

Docker's classic builder semantics (builder/dockerfile/copy.go ``calcCopyInfo``,
builder/remotecontext ``FullPath``): a source is relative to the context root (one leading
``/`` and ``./`` are dropped), ``.`` and ``/`` are the whole context; a path that climbs out
lexically (``../x``) is refused with "forbidden path outside the build context" (BuildKit would
quietly clamp it to the root; the classic builder's error is the clearer of the two); symlinks
are followed inside the context (``FollowSymlinkInScope``), so a link to ``/etc/passwd`` names
the context's own ``etc/passwd``, never the host's. Files excluded by .dockerignore are not in
the context Docker sends, so they are invisible here too; the Dockerfile and .dockerignore
themselves stay readable by the builder (the CLI sends them anyway).
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from collections.abc import Sequence
from pathlib import Path

from berth.build.context.errors import SourceNotFound
from berth.build.context.gomatch import BadPattern, contains_wildcards, match
from berth.build.context.ignore import IgnoreMatcher, go_clean
from berth.containers.rootfs import read_in_root
from berth.errors import InvalidArgument, NotFound
from berth.rootpath import DIR_FLAGS, Pick, resolve
from berth.structs import dataclass, field

DEFAULT_DOCKERFILE = "Dockerfile"


@dataclass(frozen=True)
class Source:
    """One COPY/ADD source found in a root (a build context, a stage's rootfs, a download dir)."""

    root: Path  # the directory it was found in; it is read only inside it
    rel: str  # where it is below root, symlinks resolved ("" for the root itself)
    name: str  # the name it gets when copied into a directory (a symlink's own name, as Docker)
    is_dir: bool  # a directory: its contents are copied
    #: the context's .dockerignore: content of a directory source it excludes is not copied
    ignore: IgnoreMatcher | None = field(default=None, compare=False, repr=False)

    @property
    def path(self) -> Path:
        """The host path (for messages and tests; reading goes through ``root`` by fd)."""
        return self.root / self.rel if self.rel else self.root

    @classmethod
    def host_file(cls, path: Path, name: str | None = None) -> Source:
        """A file of the engine's own (a download): found in its directory, named ``name`` when copied."""
        path = Path(path).absolute()
        st = os.lstat(path)
        return cls(path.parent, path.name, name or path.name, stat.S_ISDIR(st.st_mode))


@dataclass(frozen=True)
class BuildContext:
    root: Path
    dockerfile: Path  # where the Dockerfile is on the host (may be outside the context: -f)
    ignore: IgnoreMatcher = field(default_factory=IgnoreMatcher)

    @classmethod
    def open(cls, root: Path, dockerfile: str = DEFAULT_DOCKERFILE, *, dockerignore: bool = True) -> BuildContext:
        """The context at ``root`` (an existing directory) with its .dockerignore.

        ``dockerfile`` is relative to the root, or absolute (``-f``, followed on the host as the
        CLI does); it is read by ``dockerfile_text``, so a root used only for sources needs none.
        ``dockerignore=False`` for roots that are not a context (a stage's rootfs for
        ``COPY --from``, a download directory): Docker applies no .dockerignore there."""
        shown = os.fspath(root)
        if not os.path.exists(root):
            raise InvalidArgument(f'unable to prepare context: path "{shown}" not found', path=shown)
        if not os.path.isdir(root):
            raise InvalidArgument(f"unable to prepare context: context must be a directory: {shown}", path=shown)
        real = Path(os.path.realpath(root))
        # read inside the context: a .dockerignore symlinked to a host file is not followed out
        data = read_in_root(real, ".dockerignore") if dockerignore else None
        ignore = IgnoreMatcher.parse(data.decode("utf-8", "surrogateescape")) if data else IgnoreMatcher()
        path = real / dockerfile
        if dockerfile == DEFAULT_DOCKERFILE and not os.path.lexists(path) \
                and os.path.lexists(real / DEFAULT_DOCKERFILE.lower()):
            path = real / DEFAULT_DOCKERFILE.lower()  # the CLI's fallback to "dockerfile"
        return cls(real, path, ignore)

    def dockerfile_text(self) -> str:
        """The Dockerfile's text (read even when .dockerignore excludes it, as Docker)."""
        try:
            data = self.dockerfile.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"Cannot locate specified Dockerfile: {self._shown_dockerfile()}",
                           path=str(self.dockerfile)) from None
        except IsADirectoryError:
            raise NotFound(f"Cannot locate specified Dockerfile: {self._shown_dockerfile()} is a directory",
                           path=str(self.dockerfile)) from None
        return data.decode("utf-8", "replace").removeprefix("\ufeff")

    def _shown_dockerfile(self) -> str:
        try:
            return str(self.dockerfile.relative_to(self.root))
        except ValueError:
            return str(self.dockerfile)

    # -- sources ----------------------------------------------------------------------------
    def resolve(self, sources: Sequence[str]) -> list[Source]:
        """The sources of one COPY/ADD, wildcards expanded, in Docker's order."""
        fd = os.open(self.root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            out: list[Source] = []
            for orig in sources:
                out.extend(self._resolve_one(fd, orig))
            return out
        finally:
            os.close(fd)

    def checksum(self, sources: Sequence[Source]) -> str:
        """``sha256:<hex>`` of what the sources would copy: the build cache key of COPY/ADD."""
        from berth.build.context.checksum import tree_checksum

        return tree_checksum(sources)

    def _resolve_one(self, root_fd: int, orig: str) -> list[Source]:
        path = orig.removeprefix("/").removeprefix("./")  # as calcCopyInfo
        if contains_wildcards(path):
            return self._glob(root_fd, orig, path)
        return [self._lookup(root_fd, orig, path)]

    def _lookup(self, root_fd: int, orig: str, path: str) -> Source:
        clean = _inside(orig, path)
        missing = SourceNotFound(f"file not found in build context or excluded by .dockerignore: "
                                 f"stat {path}: file does not exist", source=orig)

        def visible(parts: tuple[str, ...], st: os.stat_result) -> None:
            if self.ignore.pick("/".join(parts), stat.S_ISDIR(st.st_mode)) is Pick.EXCLUDE:
                raise missing  # not in the context Docker would have sent

        try:
            # every entry met on the way (links included) must be in the context: once an
            # ancestor is visible, only the entry itself needs checking
            entry = resolve(root_fd, clean, follow_last=True, visit=visible)
        except (FileNotFoundError, NotADirectoryError):
            raise missing from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise InvalidArgument(f"{orig}: too many levels of symbolic links", source=orig) from None
            raise
        with entry:
            st = entry.lstat()
        if st is None:
            raise missing
        name = posixpath.basename(clean) if clean != "." else "."
        return Source(self.root, "/".join(entry.parts), name, stat.S_ISDIR(st.st_mode), self.ignore)

    def _glob(self, root_fd: int, orig: str, pattern: str) -> list[Source]:
        """moby's ``copyWithWildcards``: every context path the pattern matches (filepath.Match, so
        one pattern component per path component), in walk order; symlinks are matched, not walked."""
        clean = _inside(orig, pattern)
        wanted = clean.split("/")
        try:
            match(clean, "")
        except BadPattern:
            raise InvalidArgument(f"invalid source {orig!r}: syntax error in pattern", source=orig) from None
        found: list[str] = []
        self._walk_glob(root_fd, (), wanted, found)
        if not found:
            raise SourceNotFound(f"no source files were specified: nothing in the build context matches {orig} "
                                 f"(or only files excluded by .dockerignore)", source=orig)
        return [self._lookup(root_fd, orig, rel) for rel in found]

    def _walk_glob(self, dir_fd: int, parts: tuple[str, ...], wanted: list[str], found: list[str]) -> None:
        level = len(parts)
        fd = os.open(".", DIR_FLAGS, dir_fd=dir_fd)
        try:
            for name in sorted(os.listdir(fd)):
                if not match(wanted[level], name):
                    continue
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                is_dir = stat.S_ISDIR(st.st_mode)
                rel = (*parts, name)
                if self.ignore.pick("/".join(rel), is_dir) is Pick.EXCLUDE:
                    continue
                if level + 1 == len(wanted):
                    found.append("/".join(rel))
                elif is_dir:
                    sub = os.open(name, DIR_FLAGS, dir_fd=fd)
                    try:
                        self._walk_glob(sub, rel, wanted, found)
                    finally:
                        os.close(sub)
        finally:
            os.close(fd)


def _inside(orig: str, path: str) -> str:
    """``path`` cleaned; a path climbing out of the context is the classic builder's error."""
    clean = go_clean(path)
    if clean == ".." or clean.startswith("../"):
        raise InvalidArgument(f"forbidden path outside the build context: {path} ()", source=orig)
    return clean
