"""A container's rootfs: one overlay mount of its image's layer dirs.

lowerdir lists the layers TOP first (overlayfs order); the container's
writable layer (upper + work) lives in its record dir, under the root, so it
survives reboots with the record. The mount point is under the run dir
(``<run_dir>/containers/<id>/rootfs``, which is also the OCI bundle): mounts
do not survive a reboot, and neither does the run dir (tmpfs /run for the
default root), so after a reboot nothing claims a stale mount; start simply
mounts again.

The overlay options must fit in one page. When absolute layer paths are too
long, short per-container symlinks (``overlay/l/<n>``, Docker's idea) are
used with relative paths, mounted by mount(8) run with that directory as its
cwd (chdir is process-wide, so never in the engine process itself).

A container whose writable layer is thrown away with it (``--rm``) is
mounted ``volatile`` (Linux >= 5.10, as Podman does for ``--rm``): overlayfs
then skips syncing the whole upper filesystem at unmount, which costs from
4 ms on an idle disk to 80 ms under write load. A volatile mount leaves
``work/work/incompat/volatile`` behind and the kernel refuses to mount again
while it exists; removing it first is right for us: a clean unmount (what
``berth restart`` of an ``--rm`` container does) loses nothing, and after a
crash an ``--rm`` container is removed (restore), never started again.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from berth.fsutil import rmtree
from berth.runtime.errors import MountFailure
from berth.runtime.mountutil import is_mountpoint, mount, umount


def overlay_dirs(record_dir: Path) -> tuple[Path, Path, Path]:
    """(upper, work, empty-lower) of a container."""
    base = record_dir / "overlay"
    return base / "upper", base / "work", base / "empty"


def mount_rootfs(layer_dirs: Sequence[Path], record_dir: Path, target: Path, *, volatile: bool = False) -> Path:
    """Mount (idempotent) the overlay for ``layer_dirs`` (top layer first) at ``target``.

    ``volatile``: a throwaway writable layer, never synced (see the module's docstring)."""
    if is_mountpoint(target):
        return target
    upper, work, empty = overlay_dirs(record_dir)
    for d in (upper, work, target):
        d.mkdir(parents=True, exist_ok=True)
    options = ",volatile" if volatile else ""
    if volatile:
        rmtree(work / "work" / "incompat" / "volatile")  # holds an empty "dirty" dir
    lowers = [str(p) for p in layer_dirs]
    if not lowers:  # an image with no layers: overlay still needs one lower dir
        empty.mkdir(exist_ok=True)
        lowers = [str(empty)]
    data = f"lowerdir={':'.join(lowers)},upperdir={upper},workdir={work}{options}"
    if len(data) < os.sysconf("SC_PAGE_SIZE") - 1:
        try:
            mount("overlay", target, "overlay", 0, data)
        except OSError as exc:
            raise MountFailure(f"cannot mount the container rootfs at {target}: {exc.strerror}",
                               target=str(target)) from None
        return target
    _mount_with_short_links(layer_dirs, record_dir, target, options)
    return target


def _mount_with_short_links(layer_dirs: Sequence[Path], record_dir: Path, target: Path, options: str) -> None:
    base = record_dir / "overlay"
    links = base / "l"
    links.mkdir(exist_ok=True)
    names = []
    for i, layer in enumerate(layer_dirs):
        link = links / str(i)
        if not link.is_symlink() or os.readlink(link) != str(layer):
            link.unlink(missing_ok=True)
            link.symlink_to(layer)
        names.append(f"l/{i}")
    data = f"lowerdir={':'.join(names)},upperdir=upper,workdir=work{options}"
    if len(data) >= os.sysconf("SC_PAGE_SIZE") - 1:
        raise MountFailure(f"the image has too many layers ({len(names)}) for one overlay mount",
                           layers=len(names))
    proc = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", data, str(target)], cwd=base,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise MountFailure(f"cannot mount the container rootfs at {target}: {proc.stderr.strip()}",
                           target=str(target))


def unmount_rootfs(target: Path) -> None:
    """Unmount if mounted; idempotent, and leaves the (empty) mount point dir alone."""
    try:
        umount(target)
    except OSError as exc:
        raise MountFailure(f"cannot unmount {target}: {exc.strerror}", target=str(target)) from None
