# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cached bytecode of this collection's module_utils on the managed host.

zipimport compiles every file of an AnsiballZ payload on every task (twice, on Python 3.11), and
that was most of what a no-change task cost beyond ``ping``. ``install()`` loads this package's
modules from a per-user cache instead (``$XDG_CACHE_HOME/berth/module_utils``, default
``~/.cache``): PEP 552 checked hash-based pycs, used only when they hold the hash of the source in
this payload (never stale), written atomically, into a directory that is the user's own and
writable by no one else. Anything unusual means compiling as before. README.md says more.
This file itself is compiled on every task: keep it small.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import marshal
import os
import sys
import types
import zipimport

#: the modules served: this package's
_PREFIX = __name__.rpartition(".")[0] + "."
#: a cache file's header before the source hash: magic number, PEP 552 flags (hash-based, checked)
_HEADER = importlib.util.MAGIC_NUMBER + (0b11).to_bytes(4, "little")


def install(directory: str | None = None) -> None:
    """Load this package's modules from cached bytecode when they come from a zip; once per
    process. Modules in a directory (tests, ``ansible-test``, an exploded payload) are Python's."""
    finders = sys.meta_path
    if not any(isinstance(finder, _Finder) for finder in finders):
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        # just before the path-based finder (whose zipimport it stands in for), not first: the
        # finders in front of it (and ansible-test's, which must stay first) are left alone
        at = next((i for i, finder in enumerate(finders) if finder is importlib.machinery.PathFinder), len(finders))
        finders.insert(at, _Finder(directory or os.path.join(base, "berth", "module_utils")))


class _Finder:
    """Finds this package's modules in the zip itself: zipimport's ``find_spec`` compiles a
    module just to name its file."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.trusted: bool | None = None  # the directory, checked on first use

    def find_spec(self, fullname, path=None, target=None):
        importer = sys.path_importer_cache.get(path[0]) if path and fullname.startswith(_PREFIX) else None
        if not isinstance(importer, zipimport.zipimporter):
            return None
        filename = os.path.join(path[0], f"{fullname.rpartition('.')[2]}.py")
        try:
            source = importer.get_data(filename)
        except OSError:
            return None  # not a module file there (a package): zipimport's
        return importlib.util.spec_from_file_location(fullname, filename, loader=_Loader(self, filename, source))

    def usable(self) -> bool:
        if self.trusted is None:
            try:
                os.makedirs(self.directory, mode=0o700, exist_ok=True)
                self.trusted = _private(os.lstat(self.directory)) and os.path.isdir(self.directory)
            except OSError:
                self.trusted = False
        return self.trusted


class _Loader:
    """One module: its code from the cache file when that holds this source's, else compiled
    (and cached)."""

    def __init__(self, finder: _Finder, filename: str, source: bytes) -> None:
        self.finder, self.filename, self.source = finder, filename, source

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        exec(self.get_code(module.__name__), module.__dict__)  # pylint: disable=exec-used

    def get_code(self, fullname: str):
        header = _HEADER + importlib.util.source_hash(self.source)
        path = os.path.join(self.finder.directory, f"{fullname}.{sys.implementation.cache_tag}.pyc")
        usable = self.finder.usable()
        if usable:
            try:
                with open(path, "rb") as handle:
                    # the file too must be the user's own (the directory was checked before this open)
                    data = handle.read() if _private(os.fstat(handle.fileno())) else b""
                code = marshal.loads(memoryview(data)[16:]) if data[:16] == header else None
                if isinstance(code, types.CodeType):
                    _fix_filename(code, self.filename)  # this task's zip, for tracebacks
                    return code
            except (OSError, EOFError, ValueError, TypeError):
                pass  # no cache file, or a foreign or corrupt one: compile
        code = compile(self.source, self.filename, "exec", dont_inherit=True)
        if usable and not sys.dont_write_bytecode:  # PYTHONDONTWRITEBYTECODE: as Python's __pycache__
            tmp = f"{path}.{os.getpid()}.tmp"
            try:
                with open(tmp, "wb") as handle:
                    handle.write(header + marshal.dumps(code))
                os.replace(tmp, path)  # readers see the old file or the new one, never half
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        return code

    # what tracebacks (linecache) ask a loader
    def get_source(self, fullname: str) -> str:
        return importlib.util.decode_source(self.source)

    def get_filename(self, fullname: str) -> str:
        return self.filename

    def is_package(self, fullname: str) -> bool:
        return False


def _private(st: os.stat_result) -> bool:
    """Owned by this user, writable by no one else."""
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _fix_filename(code, filename: str) -> None:
    """Name ``filename`` in ``code`` and the code within (as importlib does for a moved source)."""
    import _imp  # pylint: disable=import-outside-toplevel

    _imp._fix_co_filename(code, filename)  # pylint: disable=protected-access
