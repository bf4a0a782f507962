"""``VolumeStore``: named and anonymous volumes under ``<root>/volumes``.

Layout::

    volumes/<name>/meta.json   Driver, Labels, Options, CreatedAt, Scope, Anonymous
    volumes/<name>/_data       the content containers see (empty for bind volumes)
    volumes/.tmp/              staging of creates and removes (same filesystem, so renames are atomic)
    locks/volumes/<name>.lock  per-volume flock (files stay: unlinking a lock file races its waiters)

A volume exists iff ``volumes/<name>/meta.json`` does. Create builds the whole directory in
``.tmp`` and renames it into place; remove renames it out first, then deletes. So a killed
process leaves either nothing or a complete volume in ``volumes/``, plus litter in ``.tmp``
that ``check(repair=True)`` removes.
"""

from __future__ import annotations

import builtins
import os
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from berth.errors import InvalidArgument
from berth.fsutil import atomic_write_json, fsync_dir, read_json, rmtree
from berth.paths import Paths
from berth.volumes import copyup
from berth.volumes import filters as vfilters
from berth.volumes.errors import VolumeInUse, VolumeNotFound
from berth.volumes.lock import VolumeLocks
from berth.volumes.names import random_name, validate_name
from berth.volumes.options import DRIVER, bind_device, validate_driver, validate_options
from berth.volumes.usage import ContainerUsage

#: Docker 23+ marks anonymous volumes with this label; `volume prune` without --all keys on it.
ANONYMOUS_LABEL = "com.docker.volume.anonymous"

UsersHook = Callable[[str], list[str]]


class VolumeStore:
    def __init__(self, paths: Paths, users: UsersHook | None = None) -> None:
        self.paths = paths
        self.base = paths.root / "volumes"
        self.staging = self.base / ".tmp"
        self.users: UsersHook = users or ContainerUsage(paths)
        self.locks = VolumeLocks(paths.locks / "volumes")

    # -- paths -------------------------------------------------------------
    def dir(self, name: str) -> Path:
        return self.base / name

    def data_dir(self, name: str) -> Path:
        return self.base / name / "_data"

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Hold ``name`` against create/remove/prune; the runtime holds it while it writes a
        container record that uses the volume, so a concurrent prune cannot remove it."""
        with self.locks.hold(validate_name(name)):
            yield

    # -- create ------------------------------------------------------------
    def create(self, name: str | None = None, *, driver: str = DRIVER, labels: Mapping[str, str] | None = None,
               options: Mapping[str, str] | None = None, anonymous: bool = False) -> dict[str, Any]:
        """Create a volume, or return the existing one of that name unchanged (Docker's semantics)."""
        return self.ensure(name, driver=driver, labels=labels, options=options, anonymous=anonymous)[0]

    def ensure(self, name: str | None = None, *, driver: str = DRIVER, labels: Mapping[str, str] | None = None,
               options: Mapping[str, str] | None = None, anonymous: bool = False) -> tuple[dict[str, Any], bool]:
        """Like ``create``, and say whether it created: ``(inspect, created)``.

        An existing volume is returned as it is, even if labels or options differ, as Docker
        does; callers that manage labels compare the returned inspect with what they want.
        """
        validate_driver(driver)
        opts = validate_options(options)
        labels = {str(k): str(v) for k, v in (labels or {}).items()}
        if name is None:
            name, anonymous = random_name(), True
        validate_name(name)
        if anonymous:
            labels.setdefault(ANONYMOUS_LABEL, "")
        with self.locks.hold(name):
            meta = self._meta(name)
            if meta is not None:
                return self._inspect(name, meta), False
            meta = {"Name": name, "Driver": driver, "Labels": labels, "Options": opts, "Scope": "local",
                    "CreatedAt": _now(), "Anonymous": anonymous}
            if self.dir(name).exists():
                # A directory without meta.json: litter of a crash, unless it holds data (then it
                # is adopted, as `check --repair` would; deleting a user's files is never right).
                if _has_entries(self.data_dir(name)):
                    atomic_write_json(self.dir(name) / "meta.json", meta)
                    return self._inspect(name, meta), True
                self._discard(name)
            stage = self._stage_path("c", name)
            try:
                (stage / "_data").mkdir(parents=True, mode=0o755)
                os.chmod(stage / "_data", 0o755)  # regardless of the umask, as Docker's _data
                atomic_write_json(stage / "meta.json", meta)
                os.rename(stage, self.dir(name))
            except BaseException:
                rmtree(stage)
                raise
            fsync_dir(self.base)
        return self._inspect(name, meta), True

    # -- read ----------------------------------------------------------------
    def exists(self, name: str) -> bool:
        try:
            return self._meta(validate_name(name)) is not None
        except InvalidArgument:
            return False

    def inspect(self, name: str) -> dict[str, Any]:
        meta = self._meta(_checked(name))
        if meta is None:
            raise VolumeNotFound(name)
        return self._inspect(name, meta)

    def is_anonymous(self, name: str) -> bool:
        meta = self._meta(_checked(name))
        if meta is None:
            raise VolumeNotFound(name)
        return bool(meta.get("Anonymous"))

    def names(self) -> list[str]:
        try:
            entries = sorted(os.listdir(self.base))
        except FileNotFoundError:
            return []
        return [n for n in entries if not n.startswith(".") and (self.base / n / "meta.json").is_file()]

    # `list` shadows the builtin in this class body: later annotations say `builtins.list`.
    def list(self, filters: Mapping[str, str | Sequence[str]] | None = None) -> list[dict[str, Any]]:
        """Volumes sorted by name; ``filters``: dangling=true|false, label=k|k=v, name=substr, driver."""
        wanted = vfilters.normalize(filters)
        users = self._users_index() if "dangling" in wanted else {}
        out = []
        for name in self.names():
            meta = self._meta(name)
            if meta is None:  # removed meanwhile
                continue
            info = self._inspect(name, meta)
            if vfilters.matches(info, bool(users.get(name)), wanted):
                out.append(info)
        return out

    def size(self, name: str) -> int:
        """Bytes of the volume's own content (a bind volume's device is not ours: 0)."""
        return _tree_size(self.data_dir(_checked(name)))

    def mount_source(self, name: str) -> Path:
        """The host path the runtime binds at the container's target."""
        meta = self._meta(_checked(name))
        if meta is None:
            raise VolumeNotFound(name)
        device = bind_device(meta.get("Options") or {})
        if device is None:
            return self.data_dir(name)
        if not os.path.exists(device):
            raise InvalidArgument(f"volume {name}: bind device {device} does not exist", name=name)
        return Path(device)

    # -- remove --------------------------------------------------------------
    def remove(self, name: str, force: bool = False) -> bool:
        """Remove an unused volume. ``force`` only forgives a missing one, as Docker's ``rm -f``:
        a volume in use is refused either way. Returns False if there was nothing to remove."""
        _checked(name)
        with self.locks.hold(name):
            if self._meta(name) is None:
                if force:
                    return False
                raise VolumeNotFound(name)
            users = self.users(name)
            if users:
                raise VolumeInUse(name, users)
            self._discard(name)
        return True

    def remove_anonymous(self, name: str, *, owner: str | None = None) -> bool:
        """``rm -v``: remove ``name`` if it is anonymous and no container but ``owner`` uses it.

        Never raises for a missing, named or shared volume: Docker skips those silently.
        """
        with self.locks.hold(_checked(name)):
            meta = self._meta(name)
            if meta is None or not meta.get("Anonymous"):
                return False
            if [c for c in self.users(name) if c != owner]:
                return False
            self._discard(name)
        return True

    def prune(self, all_: bool = False) -> tuple[builtins.list[str], int]:
        """Remove unused volumes: anonymous ones only unless ``all_`` (Docker 23+). -> (names, bytes)."""
        removed, reclaimed = [], 0
        for name in self.names():
            with self.locks.hold(name):
                meta = self._meta(name)
                if meta is None or not (all_ or meta.get("Anonymous")):
                    continue
                if self.users(name):  # asked under the lock: the index could be stale by now
                    continue
                reclaimed += _tree_size(self.data_dir(name))
                self._discard(name)
                removed.append(name)
        return removed, reclaimed

    # -- content -------------------------------------------------------------
    def copy_up(self, name: str, src_dir: Path) -> bool:
        """Copy an image directory into the volume if the volume is empty (see ``copyup``)."""
        with self.locks.hold(_checked(name)):
            meta = self._meta(name)
            if meta is None:
                raise VolumeNotFound(name)
            # Docker mounts a bind volume's device on _data before copying, so an empty device
            # is filled too (the usual trick for a host directory seeded from the image).
            return copyup.copy_up(self.dir(name), self.mount_source(name), Path(src_dir))

    # -- maintenance -----------------------------------------------------------
    def check(self, repair: bool = False) -> builtins.list[dict[str, Any]]:
        from berth.volumes.check import check_volumes

        return check_volumes(self, repair=repair)

    # -- internals -------------------------------------------------------------
    def _meta(self, name: str) -> dict[str, Any] | None:
        try:
            meta = read_json(self.dir(name) / "meta.json")
        except (ValueError, OSError):
            return None  # unreadable: `check` reports it
        return meta if isinstance(meta, dict) else None

    def _inspect(self, name: str, meta: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "CreatedAt": meta.get("CreatedAt", ""),
            "Driver": meta.get("Driver", DRIVER),
            "Labels": dict(meta.get("Labels") or {}),
            "Mountpoint": str(self.data_dir(name)),
            "Name": name,
            "Options": dict(meta.get("Options") or {}),
            "Scope": meta.get("Scope", "local"),
        }

    def _users_index(self) -> dict[str, builtins.list[str]]:
        index = getattr(self.users, "index", None)
        if callable(index):
            return index()
        return {name: self.users(name) for name in self.names()}

    def _stage_path(self, kind: str, name: str) -> Path:
        self.staging.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o701)  # as Docker's volumes dir: traversable, not listable
        return self.staging / f"{kind}.{name}.{os.urandom(4).hex()}"

    def _discard(self, name: str) -> None:
        """Rename the volume out of sight first, so a crash mid-delete leaves no half volume."""
        trash = self._stage_path("r", name)
        os.rename(self.dir(name), trash)
        fsync_dir(self.base)
        rmtree(trash)


def _checked(name: str) -> str:
    """Validate a name used for lookup; an impossible name is simply not there."""
    try:
        return validate_name(name)
    except InvalidArgument:
        raise VolumeNotFound(name) from None


def _has_entries(path: Path) -> bool:
    try:
        with os.scandir(path) as it:
            return any(True for _ in it)
    except (FileNotFoundError, NotADirectoryError):
        return False


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tree_size(path: Path) -> int:
    """Apparent size of the tree's files, each hard-linked inode once; never follows symlinks."""
    total, seen = 0, set()
    for top, dirs, files in os.walk(path):
        for n in dirs + files:
            try:
                st = os.lstat(os.path.join(top, n))
            except FileNotFoundError:
                continue
            if not stat.S_ISDIR(st.st_mode) and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total
