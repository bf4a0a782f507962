"""``--user`` -> (uid, gid, supplementary gids) from the container's own /etc/passwd and /etc/group.

libcontainer's ``GetExecUser`` semantics (what Docker runs): "" is root; a name
must exist in passwd; a numeric uid need not; an explicit group replaces the
passwd gid (a name must exist, a number need not); supplementary groups come
from /etc/group membership, only when no group is given. The files are read
inside the rootfs (``rootfs.read_in_root``): a symlink pointing out of it is
resolved in the rootfs, never on the host.
"""

from __future__ import annotations

from pathlib import Path

from berth.containers.rootfs import read_in_root
from berth.containers.values import MAX_ID
from berth.errors import InvalidArgument
from berth.structs import dataclass


def _entries(rootfs: Path, name: str) -> list[list[str]]:
    data = read_in_root(rootfs, f"/etc/{name}")
    if data is None:
        return []  # missing (or escaping): as an empty file, like libcontainer
    lines = data.decode("utf-8", "replace").splitlines()
    return [line.split(":") for line in (raw.strip() for raw in lines) if line and not line.startswith("#")]


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _id(text: str) -> int:
    number = int(text)
    if number > MAX_ID:
        raise InvalidArgument(f"uids and gids must be in range 0-{MAX_ID}: {text}", value=text)
    return number


@dataclass(frozen=True)
class ExecUser:
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    home: str = "/"  # for HOME when the environment does not set it (as Docker)


def resolve_user(rootfs: Path, user: str | None) -> tuple[int, int, tuple[int, ...]]:
    """(uid, gid, additional_gids) of ``user`` ("name", "uid", "name:group", "uid:gid"...) in ``rootfs``."""
    found = lookup_user(rootfs, user)
    return found.uid, found.gid, found.additional_gids


def lookup_user(rootfs: Path, user: str | None) -> ExecUser:
    """``resolve_user`` with the home directory too."""
    user_arg, _, group_arg = (user or "").partition(":")
    # no user is uid 0, looked up like any uid: root's passwd gid and groups apply (libcontainer)
    uid, gid, name, home = _find_user(_entries(rootfs, "passwd"), user_arg or "0")
    groups = _entries(rootfs, "group")
    if group_arg:
        return ExecUser(uid, _find_group(groups, group_arg), (), home)
    extra = [int(g[2]) for g in groups if len(g) > 3 and g[2].isdigit() and name and name in g[3].split(",")]
    return ExecUser(uid, gid, tuple(dict.fromkeys(extra)), home)


def _find_user(passwd: list[list[str]], user_arg: str) -> tuple[int, int, str, str]:
    wanted = _number(user_arg)
    for e in passwd:
        if len(e) < 4 or not (e[2].isdigit() and e[3].isdigit()):
            continue
        if e[0] == user_arg or (wanted is not None and int(e[2]) == wanted):
            home = e[5] if len(e) > 5 and e[5] else "/"
            return int(e[2]), int(e[3]), e[0], home  # the first match wins
    if wanted is None:
        raise InvalidArgument(f"unable to find user {user_arg}: no matching entries in passwd file",
                              user=user_arg)
    return _id(user_arg), 0, "", "/"  # a uid without an entry: gid 0, no name, no groups


def _find_group(groups: list[list[str]], group_arg: str) -> int:
    wanted = _number(group_arg)
    for g in groups:
        if len(g) < 3 or not g[2].isdigit():
            continue
        if g[0] == group_arg or (wanted is not None and int(g[2]) == wanted):
            return int(g[2])
    if wanted is None:
        raise InvalidArgument(f"unable to find group {group_arg}: no matching entries in group file",
                              group=group_arg)
    return _id(group_arg)


def uid_of_name(rootfs: Path, name: str) -> int | None:
    """The uid of user ``name`` in the rootfs's /etc/passwd (its first entry), or None."""
    for e in _entries(rootfs, "passwd"):
        if len(e) >= 4 and e[0] == name and e[2].isdigit() and e[3].isdigit():
            return int(e[2])
    return None


def gid_of_name(rootfs: Path, name: str) -> int | None:
    """The gid of group ``name`` in the rootfs's /etc/group (its first entry), or None."""
    for g in _entries(rootfs, "group"):
        if len(g) >= 3 and g[0] == name and g[2].isdigit():
            return int(g[2])
    return None
