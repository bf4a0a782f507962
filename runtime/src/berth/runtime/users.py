"""``--user`` resolution against the container's own /etc/passwd and /etc/group (as Docker does).

The one place berth turns "name[:group]" into numbers; it reads files in the
mounted rootfs, so it runs at start (the image may change /etc/passwd).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from berth.runtime.errors import InvalidContainerConfig


@dataclass(frozen=True)
class ProcessUser:
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    home: str = "/"


def _read_db(rootfs: Path, name: str) -> list[list[str]]:
    # A symlink in the image could point outside the rootfs; resolve it inside instead.
    path = rootfs / "etc" / name
    try:
        if path.is_symlink():
            return []
        return [line.split(":") for line in path.read_text(errors="replace").splitlines()
                if line and not line.startswith("#")]
    except OSError:
        return []


def resolve_user(rootfs: Path, user: str | None) -> ProcessUser:
    """``""``/None -> root; "name", "uid", "uid:gid", "name:group"; Docker's error texts."""
    if not user:
        user = "0"
    uspec, _, gspec = user.partition(":")
    passwd = _read_db(rootfs, "passwd")
    groups = _read_db(rootfs, "group")
    uid, gid, home, uname = _find_user(passwd, uspec)
    if gspec:
        gid = _find_group(groups, gspec)
    # Supplementary groups: every group listing the user by name (Docker does the same).
    extra = tuple(sorted({int(g[2]) for g in groups if len(g) > 3 and uname and uname in g[3].split(",")
                          and g[2].isdigit() and int(g[2]) != gid}))
    return ProcessUser(uid, gid, extra, home)


def _find_user(passwd: list[list[str]], spec: str) -> tuple[int, int, str, str]:
    for entry in passwd:
        if len(entry) >= 6 and (entry[0] == spec or (spec.isdigit() and entry[2] == spec)):
            try:
                return int(entry[2]), int(entry[3]), entry[5] or "/", entry[0]
            except ValueError:
                continue
    if spec.isdigit():
        return int(spec), 0, "/", ""  # a numeric uid need not exist in /etc/passwd
    raise InvalidContainerConfig(
        f"unable to find user {spec}: no matching entries in passwd file", value=spec
    )


def _find_group(groups: list[list[str]], spec: str) -> int:
    for entry in groups:
        if len(entry) >= 3 and (entry[0] == spec or (spec.isdigit() and entry[2] == spec)):
            try:
                return int(entry[2])
            except ValueError:
                continue
    if spec.isdigit():
        return int(spec)
    raise InvalidContainerConfig(f"unable to find group {spec}: no matching entries in group file", value=spec)
