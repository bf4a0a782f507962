"""Which containers use a volume, read from the container records on disk.

The contract with the runtime: ``<root>/containers/<id>/config.json`` names every volume a
container mounts, either as a ``HostConfig.Mounts`` entry ``{"Type": "volume", "Source": NAME}``,
as a ``HostConfig.Binds`` string ``NAME:/target[:opts]`` (a source that is not an absolute
path is a volume), or as an inspect-shaped ``Mounts`` entry ``{"Type": "volume", "Name": NAME}``.
Anonymous volumes must appear there under their generated name, and mounts inherited with
``--volumes-from`` must be recorded on the new container too (they are not followed here).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from berth.fsutil import read_json
from berth.paths import Paths


class ContainerUsage:
    """The default ``users`` hook of ``VolumeStore``; ``index()`` serves list/prune in one pass."""

    def __init__(self, paths: Paths) -> None:
        self.base = paths.root / "containers"

    def __call__(self, name: str) -> list[str]:
        return self.index().get(name, [])

    def index(self) -> dict[str, list[str]]:
        users: dict[str, list[str]] = {}
        for cid, config in self._records():
            for name in sorted(set(volume_names(config))):
                users.setdefault(name, []).append(cid)
        return users

    def _records(self) -> Iterable[tuple[str, dict[str, Any]]]:
        try:
            entries = sorted(self.base.iterdir())
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                config = read_json(entry / "config.json")
            except (OSError, ValueError):
                # An unreadable record still might use a volume, but we cannot say which;
                # `system check` reports broken records, refusing every removal would not help.
                continue
            if isinstance(config, dict):
                yield entry.name, config


def volume_names(config: dict[str, Any]) -> Iterable[str]:
    host = config.get("HostConfig") or {}
    for m in host.get("Mounts") or []:
        if isinstance(m, dict) and m.get("Type") == "volume" and m.get("Source"):
            yield str(m["Source"])
    for bind in host.get("Binds") or []:
        source = str(bind).split(":", 1)[0]
        if source and not source.startswith("/"):
            yield source
    for m in config.get("Mounts") or []:
        if isinstance(m, dict) and m.get("Type") == "volume" and m.get("Name"):
            yield str(m["Name"])
