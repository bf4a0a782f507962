"""What import and load share: media types, the store's manifest, layer unpacking, names."""

from __future__ import annotations

import json
import tarfile
import zlib
from typing import TYPE_CHECKING, BinaryIO

from berth.errors import ArchiveError, DigestMismatch, InvalidArgument, UnsafeLayer
from berth.reference import Digest, Reference
from berth.store import LayerRef, Store

if TYPE_CHECKING:
    from berth.archive.streams import PendingLayer
    from berth.store.leases import Lease

# Local copies of the few media types needed (berth.distribution is not imported here).
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
#: layer blobs that are gzip streams, whatever their spelling (reusable as Docker gzip layers)
GZIP_LAYER_TYPES = frozenset({
    DOCKER_LAYER_GZIP,
    "application/vnd.oci.image.layer.v1.tar+gzip",
})


def schema2_manifest(config_raw: bytes, config_digest: Digest, layers: tuple[LayerRef, ...]) -> bytes:
    """The Docker schema2 manifest the store keeps for an image (what a push sends)."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": len(config_raw), "digest": str(config_digest)},
        "layers": [{"mediaType": layer.media_type, "size": layer.size, "digest": str(layer.blob)} for layer in layers],
    }
    return json.dumps(manifest, indent=3).encode()


def tag_key(text: str) -> str:
    """``busybox`` -> ``docker.io/library/busybox:latest`` (the name index's key)."""
    ref = Reference.parse(text)
    if ref.digest is not None:
        raise InvalidArgument(f"{text!r}: a digest cannot be used as a tag", value=text)
    return ref.index_key


def known_layers(store: Store) -> dict[Digest, LayerRef]:
    """Gzip layer blobs the store already holds, by diff_id (reused instead of recompressing)."""
    found: dict[Digest, LayerRef] = {}
    for rec in store.images.records():
        for layer in rec.layers:
            if layer.media_type in GZIP_LAYER_TYPES and layer.diff_id not in found:
                found[layer.diff_id] = LayerRef(layer.diff_id, layer.blob, DOCKER_LAYER_GZIP, layer.size)
    return found


def unpack_layer(store: Store, diff_id: Digest, stream: BinaryIO, what: str) -> None:
    """``store.layers.unpack`` with its failures reported as ArchiveError naming the layer."""
    try:
        store.layers.unpack(diff_id, stream)
    except DigestMismatch as exc:
        raise ArchiveError(
            f"{what}: layer content does not match its diff_id: expected {diff_id}, got {exc.actual}",
            layer=what, expected=str(diff_id), actual=exc.actual,
        ) from None
    except (ArchiveError, UnsafeLayer) as exc:
        raise ArchiveError(f"{what}: {exc}", layer=what) from exc
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"{what}: corrupt layer tar: {exc}", layer=what) from exc


def publish_layer(store: Store, lease: Lease, pending: PendingLayer, plain: BinaryIO, what: str) -> LayerRef:
    """Claim a compressed-but-uncommitted layer, unpack ``plain`` (rewound) if the store lacks it,
    commit its blob (or drop a duplicate), and return its LayerRef (import and commit share this)."""
    try:
        store.claim(lease, blobs=[pending.blob], layers=[pending.diff_id])
        if not store.layers.has(pending.diff_id):
            plain.seek(0)
            unpack_layer(store, pending.diff_id, plain, what)
        if store.blobs.has(pending.blob):
            pending.abort()
        else:
            pending.commit()
    finally:
        pending.abort()  # no-op once committed
    return LayerRef(pending.diff_id, pending.blob, DOCKER_LAYER_GZIP, pending.size)
