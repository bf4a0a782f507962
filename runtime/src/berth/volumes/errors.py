"""Typed errors of the volume store (subclasses of the engine's, so callers can catch either)."""

from __future__ import annotations

from berth.errors import Conflict, NotFound


class VolumeNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"No such volume: {name}", name=name)
        self.name = name


class VolumeInUse(Conflict):
    """The volume is referenced by container records; Docker refuses removal even with ``-f``."""

    def __init__(self, name: str, containers: list[str]) -> None:
        # Docker's wording (volume/service OpErr): "remove NAME: volume is in use - [id1, id2]"
        super().__init__(f"remove {name}: volume is in use - [{', '.join(containers)}]",
                         name=name, containers=list(containers))
        self.name = name
        self.containers = list(containers)
