"""The build cache: which image a step made from which parent, as Docker's classic builder keys it.

A step's key is its parent image ID plus the step as it would be recorded (``created_by``, with the
build args RUN sees) plus, for COPY/ADD, the checksum of the copied content. The entry
``<root>/build-cache/<sha256 of the key>`` names the image the step made; a hit is only a hit while
that image still exists (``rmi`` or ``system prune`` may have taken it), so a stale entry is a miss.
Entries are written atomically; two builds racing on one step both build it and the last one wins,
which is harmless: either image is a correct result.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from berth.fsutil import atomic_write
from berth.reference import Digest
from berth.store import Store
from berth.structs import dataclass


def step_key(parent: Digest | None, created_by: str, content: str = "") -> str:
    text = json.dumps([str(parent) if parent else "scratch", created_by, content])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class BuildCache:
    store: Store

    @property
    def dir(self) -> Path:
        return self.store.paths.root / "build-cache"

    def get(self, key: str) -> Digest | None:
        try:
            image = Digest.parse((self.dir / key).read_text().strip())
        except (OSError, ValueError):
            return None
        if self.store.images.get(image) is None or not self.store.blobs.has(image):
            return None
        return image

    def put(self, key: str, image: Digest) -> None:
        atomic_write(self.dir / key, f"{image}\n".encode())

    def prune(self) -> int:
        """Drop entries whose image is gone; returns how many."""
        dropped = 0
        if self.dir.is_dir():
            for entry in self.dir.iterdir():
                if not entry.name.startswith(".") and self.get(entry.name) is None:
                    entry.unlink(missing_ok=True)
                    dropped += 1
        return dropped
