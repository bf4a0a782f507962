"""A container's binds and volumes, from its spec, its image's VOLUMEs and ``--volumes-from``.

Docker's order (moby daemon/volumes.go registerMountPoints, create_unix.go):
the mounts inherited with ``--volumes-from`` first, then the spec's binds and
named volumes replace any at the same target (two of the spec's own at one target
is an error), then anonymous volumes (``-v /path`` and the image's ``VOLUME``
entries) only where nothing is mounted yet. Each anonymous volume gets a
generated name here, so the record names every volume it mounts.

``plan()`` is pure apart from checking that ``--mount`` bind sources exist;
the caller (``container_ops.create``) ensures volumes under their locks, copies
image content into empty ones (``copy_up_volumes``) and writes the record.

Copy-up happens at create, as moby's ``populateVolumes`` does: the image's
layers are mounted read-only-in-effect (a throwaway upper dir) on a scratch
mount point under the run dir, the target is resolved inside that rootfs
without following anything out of it, and ``VolumeStore.copy_up`` fills the
volume only if it is empty, so a second container never copies again.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from berth.containers.spec import ContainerSpec, Mount
from berth.errors import InvalidArgument
from berth.runtime.oci_defaults import OCIMount
from berth.structs import dataclass

if TYPE_CHECKING:
    from berth.paths import Paths
    from berth.volumes import VolumeStore

_PROPAGATION = frozenset({"shared", "rshared", "slave", "rslave", "private", "rprivate"})
_LABELS = frozenset({"z", "Z"})


@dataclass(frozen=True)
class Planned:
    """One bind or volume of the new container; a volume's ``mount.source`` is its (final) name."""

    mount: Mount
    origin: str  # "volume-flag" (-v), "mount-flag" (--mount), "image" (VOLUME), "volumes-from"
    anonymous: bool = False  # the name was generated here

    @property
    def is_volume(self) -> bool:
        return self.mount.type == "volume"

    @property
    def copy(self) -> bool:
        """Docker copies the image's content into a volume unless ``nocopy``; inherited ones are never copied."""
        return self.is_volume and self.origin != "volumes-from" and "nocopy" not in self.mount.options


def plan(spec: ContainerSpec, image_config: Mapping[str, Any], inherited: Sequence[Mount] = (),
         new_name: Any = None) -> tuple[list[Planned], tuple[Mount, ...]]:
    """(binds and volumes in mount order, tmpfs mounts). ``new_name()`` names anonymous volumes."""
    new_name = new_name or _random_volume_name
    by_target: dict[str, Planned] = {}
    for m in inherited:
        by_target[m.target] = Planned(m, "volumes-from")
    seen: set[str] = set()
    tmpfs: list[Mount] = []
    anonymous: list[Mount] = []
    for m in spec.mounts:
        _check_target(m.target)
        if m.type == "volume" and not m.source and m.create_host_path:
            anonymous.append(m)  # -v /path: Config.Volumes in Docker, the lowest priority
            continue
        if m.target in seen:
            raise InvalidArgument(f"Duplicate mount point: {m.target}", target=m.target)
        seen.add(m.target)
        if m.type == "tmpfs":
            tmpfs.append(m)
            by_target.pop(m.target, None)
            continue
        if m.type == "bind":
            _check_bind_source(m)
        elif m.type != "volume":
            raise InvalidArgument(f"mount type {m.type!r} is not supported", value=m.type)
        origin = "mount-flag" if not m.create_host_path else "volume-flag"
        if m.type == "volume" and not m.source:
            by_target[m.target] = Planned(_named(m, new_name()), origin, anonymous=True)
        else:
            by_target[m.target] = Planned(m, origin)
    taken = set(by_target) | {m.target for m in tmpfs}
    image_volumes = [Mount("volume", _clean(t)) for t in sorted(image_config.get("Volumes") or {})]
    for origin, m in [*(("volume-flag", m) for m in anonymous), *(("image", m) for m in image_volumes)]:
        if m.target in taken:
            continue
        taken.add(m.target)
        by_target[m.target] = Planned(_named(m, new_name()), origin, anonymous=True)
    return list(by_target.values()), tuple(tmpfs)


def _random_volume_name() -> str:
    from berth.volumes.names import random_name  # the volumes package: only for a run that has one

    return random_name()


def _named(m: Mount, name: str) -> Mount:
    return Mount("volume", m.target, name, m.read_only, m.options, m.create_host_path)


def _clean(target: str) -> str:
    import posixpath

    cleaned = "/" + posixpath.normpath(target).lstrip("/")
    _check_target(cleaned)
    return cleaned


def _check_target(target: str) -> None:
    if not target.startswith("/") or target == "/":
        raise InvalidArgument(f"invalid mount target {target!r}: must be an absolute path other than /",
                              value=target)


def _check_bind_source(m: Mount) -> None:
    if not m.source.startswith("/"):
        raise InvalidArgument(f"invalid bind source {m.source!r}: must be an absolute path", value=m.source)
    if not m.create_host_path and not os.path.exists(m.source):
        raise InvalidArgument(f"invalid mount config for type \"bind\": bind source path does not exist: "
                              f"{m.source}", source=m.source)


def create_bind_sources(planned: Iterable[Planned]) -> None:
    """``-v /host:/ctr`` creates a missing host directory, as Docker does (``--mount`` refuses: ``plan``)."""
    for p in planned:
        if p.mount.type == "bind" and not os.path.lexists(p.mount.source):
            Path(p.mount.source).mkdir(parents=True, exist_ok=True)


# -- the record ----------------------------------------------------------------------
def _mode(p: Planned) -> str:
    m = p.mount
    parts = (["ro"] if m.read_only else []) + [o for o in m.options if o in _LABELS or o == "nocopy"
                                                 or (m.type == "bind" and o in _PROPAGATION)]
    if p.origin == "mount-flag":
        return ""
    if p.origin == "volumes-from":
        return "ro" if m.read_only else ""
    if not parts and m.type == "volume" and p.origin == "volume-flag" and not p.anonymous:
        return "z"  # what `docker inspect` shows for `-v name:/path`
    return ",".join(parts)


def _propagation(m: Mount) -> str:
    return next((o for o in m.options if o in _PROPAGATION), "rprivate")


def record_mounts(planned: Sequence[Planned],
                  volumes: VolumeStore | None) -> tuple[list[OCIMount], list[dict[str, Any]]]:
    """(OCI mounts for ``MountPoints``, inspect-shaped ``Mounts``); volumes must exist (``volumes``
    may be None when none is planned)."""
    oci: list[OCIMount] = []
    view: list[dict[str, Any]] = []
    for p in planned:
        m = p.mount
        access = "ro" if m.read_only else "rw"
        if m.type == "bind":
            prop = _propagation(m)
            oci.append(OCIMount(m.target, "bind", m.source, ("rbind", prop, access)))
            view.append({"Type": "bind", "Source": m.source, "Destination": m.target, "Mode": _mode(p),
                         "RW": not m.read_only, "Propagation": prop})
        else:
            assert volumes is not None, "a volume is planned: the caller passes the volume store"
            source = str(volumes.mount_source(m.source))
            driver = volumes.inspect(m.source).get("Driver", "local")
            oci.append(OCIMount(m.target, "bind", source, ("rbind", "rprivate", access)))
            view.append({"Type": "volume", "Name": m.source, "Source": source, "Destination": m.target,
                         "Driver": driver, "Mode": _mode(p), "RW": not m.read_only, "Propagation": ""})
    return oci, view


def volume_names(record: Mapping[str, Any]) -> list[str]:
    """Names of the volumes a container record mounts (its inspect-shaped ``Mounts``)."""
    return [str(m["Name"]) for m in record.get("Mounts") or []
            if isinstance(m, dict) and m.get("Type") == "volume" and m.get("Name")]


def remove_anonymous_volumes(volumes: VolumeStore, cid: str, record: Mapping[str, Any]) -> list[str]:
    """``rm -v`` / ``--rm``: drop the record's anonymous volumes no other container uses; named ones stay."""
    removed = []
    for name in volume_names(record):
        try:
            if volumes.remove_anonymous(name, owner=cid):
                removed.append(name)
        except OSError:  # best effort, as Docker: the container is gone either way
            continue
    return removed


def remove_volumes_of(paths: Paths, cid: str, record: Mapping[str, Any]) -> list[str]:
    """``--rm`` after the record is gone (the exit hook has no engine): its anonymous volumes go too."""
    if not volume_names(record):
        return []  # no volume store to open (most `run --rm`)
    from berth.volumes import VolumeStore

    return remove_anonymous_volumes(VolumeStore(paths), cid, record)


# -- copy-up ---------------------------------------------------------------------------
def needs_copy(volumes: VolumeStore, name: str) -> bool:
    """Whether ``copy_up`` could do anything: the volume is empty, or a copy was interrupted."""
    from berth.volumes import copyup

    if copyup.state(volumes.dir(name)) is not None:
        return True
    data = volumes.mount_source(name)
    if not data.is_dir():
        return False
    with os.scandir(data) as it:
        return not any(True for _ in it)


def copy_up_volumes(volumes: VolumeStore, paths: Paths, layer_dirs: Sequence[Path],
                    planned: Sequence[Planned]) -> list[str]:
    """Fill each empty volume with the image's content at its target; returns the volumes filled.

    The caller holds the volumes' locks. The image is mounted only if some volume needs it."""
    from berth.fsutil import rmtree
    from berth.runtime.rootfs import mount_rootfs, unmount_rootfs
    from berth.store.blobs import temp_name

    todo = [p for p in planned if p.copy and needs_copy(volumes, p.mount.source)]
    if not todo:
        return []
    scratch = paths.run_dir / "copyup" / temp_name("copyup")
    scratch.mkdir(parents=True)
    target = scratch / "rootfs"
    filled = []
    try:
        mount_rootfs(layer_dirs, scratch, target)
        try:
            for p in todo:
                src = resolve_dir_in_root(target, p.mount.target)
                if src is not None and volumes.copy_up(p.mount.source, src):
                    filled.append(p.mount.source)
        finally:
            unmount_rootfs(target)
    finally:
        rmtree(scratch)
    return filled


def resolve_dir_in_root(rootfs: Path, path: str) -> Path | None:
    """The host path of directory ``path`` of ``rootfs``, symlinks resolved with ``rootfs`` as ``/``
    (absolute targets restart at it, ``..`` stops at it); None if missing or not a directory.

    The rootfs must not change meanwhile (a scratch mount nobody else uses), so the returned
    path, free of symlinks, stays inside it."""
    root = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        from berth.rootpath import resolve

        entry = resolve(root, path, follow_last=True)
    except (FileNotFoundError, NotADirectoryError):
        return None
    finally:
        os.close(root)
    with entry:
        st = entry.lstat()
        if st is None or not stat.S_ISDIR(st.st_mode):
            return None
        return rootfs.joinpath(*entry.parts)
