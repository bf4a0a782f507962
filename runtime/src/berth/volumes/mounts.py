"""``--volumes-from``: the mounts a new container inherits from another one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from berth.errors import InvalidArgument

if TYPE_CHECKING:
    from berth.containers.spec import Mount


def volumes_from(container_mounts: Iterable[Mapping[str, Any]] | None, mode: str = "") -> list[Mount]:
    """Mount specs for the source container's volumes and binds, at the same targets.

    ``container_mounts`` is the source's inspect-shaped ``Mounts`` list. As in Docker
    (daemon/volumes.go parseVolumesFrom), ``ro`` makes every inherited mount read-only, while
    ``rw`` (or nothing) keeps each mount as the source has it: a read-only mount stays so.
    tmpfs mounts are private to their container and are not inherited. Targets the new
    container mounts itself take precedence; that merge is the runtime's.
    """
    flag = mode.removeprefix(":")
    if flag not in ("", "ro", "rw"):
        raise InvalidArgument(f'invalid mode for volumes-from: "{mode}" (use ro or rw)', mode=mode)
    from berth.containers.spec import Mount  # not at import: a volume's record needs no container spec

    out: list[Mount] = []
    for m in container_mounts or []:
        kind = m.get("Type")
        target = m.get("Destination") or m.get("Target")
        if kind not in ("volume", "bind"):
            continue
        if not target:
            raise InvalidArgument(f"mount of the source container has no Destination: {dict(m)}")
        read_only = flag == "ro" or not m.get("RW", True)
        if kind == "volume":
            if not m.get("Name"):
                raise InvalidArgument(f"volume mount at {target} of the source container has no Name")
            out.append(Mount(type="volume", target=target, source=m["Name"], read_only=read_only))
        else:
            prop = m.get("Propagation") or ""
            out.append(Mount(type="bind", target=target, source=m["Source"], read_only=read_only,
                             options=(prop,) if prop else ()))
    return out
