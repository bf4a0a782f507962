"""Named and anonymous volumes: the store, copy-up, ``--volumes-from`` and usage lookup."""

from __future__ import annotations

from berth.volumes.errors import VolumeInUse, VolumeNotFound
from berth.volumes.mounts import volumes_from
from berth.volumes.store import ANONYMOUS_LABEL, VolumeStore

__all__ = ["ANONYMOUS_LABEL", "VolumeInUse", "VolumeNotFound", "VolumeStore", "volumes_from"]
