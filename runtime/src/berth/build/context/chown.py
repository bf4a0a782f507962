"""``COPY --chown=``: a user and group spec into ids, by the image's /etc/passwd and /etc/group.

moby's ``parseChownFlag`` (builder/dockerfile/internals_linux.go): at most one ``:``; with no
group the *user spec is used as the group spec too* (so ``--chown=1000`` is 1000:1000 and
``--chown=app`` needs a group named ``app``, not app's primary group); a number is taken as
is, without looking it up; a name must exist (``lookupUser``/``lookupGroup``). The files are
read inside the rootfs (``containers.users``), never through a symlink out of it.
"""

from __future__ import annotations

from pathlib import Path

from berth.containers.users import gid_of_name, uid_of_name
from berth.containers.values import MAX_ID
from berth.errors import InvalidArgument


def parse_chown(spec: str, root: Path) -> tuple[int, int]:
    """(uid, gid) of ``spec`` ("user", "user:group", "1000", "1000:1000") in the rootfs ``root``."""
    parts = spec.split(":")
    if len(parts) > 2:
        raise InvalidArgument(f"invalid chown string format: {spec}", chown=spec)
    user, group = parts[0], parts[-1]  # no group: the user spec is the group spec (moby)
    uid = _number(user, spec)
    if uid is None:
        uid = uid_of_name(root, user)
        if uid is None:
            raise InvalidArgument(f"unable to convert uid/gid chown string to host mapping: can't find uid for "
                                  f"user {user}: no such user: {user}", chown=spec, user=user)
    gid = _number(group, spec)
    if gid is None:
        gid = gid_of_name(root, group)
        if gid is None:
            raise InvalidArgument(f"unable to convert uid/gid chown string to host mapping: can't find gid for "
                                  f"group {group}: no such group: {group}", chown=spec, group=group)
    return uid, gid


def _number(text: str, spec: str) -> int | None:
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    if number > MAX_ID:
        raise InvalidArgument(f"invalid --chown={spec}: uids and gids must be in range 0-{MAX_ID}", chown=spec)
    return number
