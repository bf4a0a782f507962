"""The image record: what the store knows about one image.

An image's ID is the digest of its config blob, as in Docker. The record
names every blob the image needs (manifest, config, compressed layers) and
every unpacked layer (by diff ID), so reference counts are *derived* from
records rather than kept as counters: nothing to get out of step after a
crash.
"""

from __future__ import annotations

from typing import Any

from berth.reference import Digest
from berth.structs import dataclass, field


@dataclass(frozen=True)
class LayerRef:
    diff_id: Digest  # sha256 of the uncompressed tar; names the unpacked dir
    blob: Digest  # the compressed blob as a registry serves it
    media_type: str
    size: int  # compressed size

    def to_dict(self) -> dict[str, Any]:
        return {"diff_id": str(self.diff_id), "blob": str(self.blob), "media_type": self.media_type, "size": self.size}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LayerRef:
        return cls(Digest.parse(d["diff_id"]), Digest.parse(d["blob"]), d["media_type"], int(d["size"]))


@dataclass(frozen=True)
class ImageRecord:
    id: Digest  # == config digest
    manifest: Digest  # platform manifest blob in the store
    manifest_media_type: str
    layers: tuple[LayerRef, ...]
    #: index / manifest-list blobs this image was pulled through (kept so RepoDigests stay valid)
    indexes: tuple[Digest, ...] = field(default=())
    #: where it came from (pull ref, "import", "load", "build", "commit"); informational
    source: str = ""

    @property
    def config(self) -> Digest:
        return self.id

    def blobs(self) -> set[Digest]:
        return {self.id, self.manifest, *self.indexes, *(layer.blob for layer in self.layers)}

    def diff_ids(self) -> list[Digest]:
        return [layer.diff_id for layer in self.layers]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "manifest": str(self.manifest),
            "manifest_media_type": self.manifest_media_type,
            "layers": [layer.to_dict() for layer in self.layers],
            "indexes": [str(d) for d in self.indexes],
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImageRecord:
        return cls(
            id=Digest.parse(d["id"]),
            manifest=Digest.parse(d["manifest"]),
            manifest_media_type=d["manifest_media_type"],
            layers=tuple(LayerRef.from_dict(x) for x in d["layers"]),
            indexes=tuple(Digest.parse(x) for x in d.get("indexes", [])),
            source=d.get("source", ""),
        )
