"""Docker's copy-up: fill an empty volume with the image directory it is mounted over.

Docker (daemon/volumes_unix.go copyExistingContents) copies only when the volume is empty,
then gives ``_data`` the owner and mode of the image directory; that is what makes it happen
once. The copy is crash-safe: it is built in ``<volume>/copyup`` (never visible in ``_data``),
a ``copyup.ready`` marker (holding the source's owner and mode) is written once it is complete,
and only then are the top-level entries renamed into ``_data``. An interrupted copy is thrown
away; an interrupted move is finished. The caller holds the volume's lock.

Nothing is followed: symlinks are copied as symlinks, files are opened with O_NOFOLLOW, so
a link pointing outside ``src_dir`` (or at the host's ``/``) is never read through.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

from berth.errors import InvalidArgument
from berth.fsutil import atomic_write_json, fsync_dir, rmtree

STAGING = "copyup"
READY = "copyup.ready"
# overlayfs' own bookkeeping (opaque dirs, redirects) means nothing outside the overlay.
_SKIP_XATTR_PREFIX = "trusted.overlay."


def copy_up(volume_dir: Path, data: Path, src_dir: Path) -> bool:
    """Copy ``src_dir``'s content into the empty ``data`` (``_data``, or a bind volume's device);
    False if it already has content."""
    if recover(volume_dir, data):
        return True
    try:
        src = os.lstat(src_dir)
    except FileNotFoundError:
        return False  # nothing in the image at that path: Docker skips too
    if stat.S_ISLNK(src.st_mode):
        raise InvalidArgument(f"copy-up source {src_dir} is a symlink: resolve it inside the rootfs first")
    if not stat.S_ISDIR(src.st_mode):
        raise InvalidArgument(f"copy-up source {src_dir} is not a directory")
    if not data.is_dir():
        return False  # a bind volume of a file: nothing to copy into
    with os.scandir(data) as it:
        if any(True for _ in it):
            return False
    staging = volume_dir / STAGING
    staging.mkdir(mode=0o700)
    _copy_children(os.fspath(src_dir), os.fspath(staging), {})
    # The marker must not outlive file content after a power cut; one sync covers the whole copy.
    os.sync()
    atomic_write_json(volume_dir / READY, {"uid": src.st_uid, "gid": src.st_gid, "mode": stat.S_IMODE(src.st_mode)})
    _finish(volume_dir, data)
    return True


def state(volume_dir: Path) -> str | None:
    """``None``, ``"copy"`` (interrupted while copying) or ``"move"`` (interrupted while publishing)."""
    if (volume_dir / READY).exists():
        return "move"
    if (volume_dir / STAGING).exists():
        return "copy"
    return None


def recover(volume_dir: Path, data: Path) -> bool:
    """Clean up an interrupted copy-up; True if it had completed and was published now."""
    found = state(volume_dir)
    if found == "move":
        _finish(volume_dir, data)
        return True
    if found == "copy":
        rmtree(volume_dir / STAGING)
    return False


def _finish(volume_dir: Path, data: Path) -> None:
    staging, ready = volume_dir / STAGING, volume_dir / READY
    owner = json.loads(ready.read_text())
    links: dict[tuple[int, int], str] = {}
    if staging.exists():
        for name in sorted(os.listdir(staging)):
            if os.path.lexists(data / name):
                # Something wrote into the volume between crash and recovery: it wins.
                rmtree(staging / name)
            else:
                _move(staging / name, data / name, links)
        fsync_dir(data)
        rmtree(staging)  # empty unless entries were copied across filesystems
    os.chown(data, owner["uid"], owner["gid"])
    os.chmod(data, owner["mode"])  # after chown, which clears set-id bits
    ready.unlink()
    fsync_dir(volume_dir)


def _move(src: Path, dst: Path, links: dict[tuple[int, int], str]) -> None:
    try:
        os.rename(src, dst)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        # A bind volume's device is on another filesystem: copy under a hidden name, then
        # rename, so an interruption never leaves a half entry under the real name.
        # The source stays until the whole publish is done, so link counts (hardlinks between
        # top-level entries) still say what to link; ``links`` learns the final paths.
        tmp = dst.with_name(f".{dst.name}.berth-copyup")
        rmtree(tmp)
        _copy_entry(os.fspath(src), os.fspath(tmp), os.lstat(src), links)
        os.rename(tmp, dst)
        prefix = os.fspath(tmp)
        for key, path in links.items():
            if path == prefix or path.startswith(prefix + os.sep):
                links[key] = os.fspath(dst) + path[len(prefix):]


def _copy_children(src: str, dst: str, links: dict[tuple[int, int], str]) -> None:
    with os.scandir(src) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        _copy_entry(entry.path, os.path.join(dst, entry.name), entry.stat(follow_symlinks=False), links)


def _copy_entry(src: str, dst: str, st: os.stat_result, links: dict[tuple[int, int], str]) -> None:
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        os.mkdir(dst, 0o700)
        _copy_children(src, dst, links)
    elif stat.S_ISREG(mode):
        if st.st_nlink > 1:
            first = links.get((st.st_dev, st.st_ino))
            if first is not None:
                os.link(first, dst)  # shares the inode, so metadata is already right
                return
            links[(st.st_dev, st.st_ino)] = dst
        _copy_file(src, dst)
    elif stat.S_ISLNK(mode):
        os.symlink(os.readlink(src), dst)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
        os.mknod(dst, mode, st.st_rdev)
    else:
        return  # sockets belong to a process that is not running: Docker skips them too
    _copy_metadata(src, dst, st)


def _copy_file(src: str, dst: str) -> None:
    fin = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fout = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            try:
                while os.copy_file_range(fin, fout, 1 << 30):
                    pass
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                    raise
                os.lseek(fin, 0, os.SEEK_SET)
                os.ftruncate(fout, 0)
                os.lseek(fout, 0, os.SEEK_SET)
                while chunk := os.read(fin, 1 << 20):
                    os.write(fout, chunk)
        finally:
            os.close(fout)
    finally:
        os.close(fin)


def _copy_metadata(src: str, dst: str, st: os.stat_result) -> None:
    is_link = stat.S_ISLNK(st.st_mode)
    os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    if not is_link:
        os.chmod(dst, stat.S_IMODE(st.st_mode))  # after chown, which clears setuid/setgid
    # After chown, which drops security.capability.
    for name in os.listxattr(src, follow_symlinks=False):
        if name.startswith(_SKIP_XATTR_PREFIX):
            continue
        try:
            os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False), follow_symlinks=False)
        except OSError as exc:
            # The volume's filesystem may lack a namespace the image's has (e.g. no SELinux).
            if exc.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP) and not (is_link and exc.errno == errno.EPERM):
                raise
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
