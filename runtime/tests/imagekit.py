"""Build small but real images straight into a store (tests only).

Each image is a proper Docker schema2 image: gzip layer blobs, a config whose
diff_ids are the sha256 of the plain tars, a manifest blob, unpacked layers.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile

from berth.reference import Digest, Reference
from berth.store import ImageRecord, LayerRef, Store

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_V1 = "application/vnd.docker.container.image.v1+json"
LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def random_layer(size: int, name: str = "blob.bin") -> dict[str, bytes]:
    return {name: os.urandom(size)}


def make_image(store: Store, ref: str | None, layers: list[dict[str, bytes]], *, cmd: list[str] | None = None,
               created: str = "2024-01-01T00:00:00Z", arch: str = "amd64") -> ImageRecord:
    return make_image_from_tars(store, ref, [layer_tar(files) for files in layers], cmd=cmd, created=created,
                                arch=arch)


def make_image_from_tars(store: Store, ref: str | None, tars: list[bytes], *, cmd: list[str] | None = None,
                         created: str = "2024-01-01T00:00:00Z", arch: str = "amd64") -> ImageRecord:
    blobs = [gz(t) for t in tars]
    config = {
        "architecture": arch,
        "os": "linux",
        "created": created,
        "config": {"Cmd": cmd or ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [str(Digest.of_bytes(t)) for t in tars]},
        "history": [{"created": created, "created_by": f"/bin/sh -c #(nop) layer {i}"} for i in range(len(tars))],
    }
    config_raw = json.dumps(config, sort_keys=True).encode()
    config_digest = store.blobs.put_bytes(config_raw)
    layer_refs = []
    for t, b in zip(tars, blobs, strict=False):
        blob_digest = store.blobs.put_bytes(b)
        diff_id = Digest.of_bytes(t)
        store.layers.unpack(diff_id, io.BytesIO(b))
        layer_refs.append(LayerRef(diff_id, blob_digest, LAYER_GZIP, len(b)))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_V2,
        "config": {"mediaType": CONFIG_V1, "digest": str(config_digest), "size": len(config_raw)},
        "layers": [{"mediaType": LAYER_GZIP, "digest": str(x.blob), "size": x.size} for x in layer_refs],
    }
    manifest_digest = store.blobs.put_bytes(json.dumps(manifest, indent=3).encode())
    record = ImageRecord(config_digest, manifest_digest, MANIFEST_V2, tuple(layer_refs), source="test")
    tags = []
    if ref:
        r = Reference.parse(ref)
        tags = [f"{r.name}:{r.tag}"]
    store.commit_image(record, tags=tags)
    return record
