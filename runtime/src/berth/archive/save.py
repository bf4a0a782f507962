"""``save``: images to a tar in the layout ``docker save`` writes since Docker 25.

The archive is at once a docker-archive (``manifest.json``, ``repositories``)
and an OCI image layout (``oci-layout``, ``index.json``), as moby's
``image/tarexport/save.go`` writes it::

    blobs/sha256/<diff_id hex>      each layer, an uncompressed tar (stored once)
    blobs/sha256/<image id hex>     each image config, byte for byte
    blobs/sha256/<manifest hex>     an OCI manifest per image (config + uncompressed layers)
    index.json                      OCI index: one entry per tag (io.containerd.image.name,
                                    org.opencontainers.image.ref.name), or one untagged entry
    manifest.json                   [{"Config": ..., "RepoTags": [...], "Layers": [...]}]
    oci-layout                      {"imageLayoutVersion": "1.0.0"}
    repositories                    {"name": {"tag": "<top layer diff_id hex>"}} (tagged images only)

Every header has mtime 0, so saving the same images twice gives the same bytes.
The tar is written to a temp file beside ``output`` and renamed into place.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from berth.archive.common import OCI_CONFIG, OCI_INDEX, OCI_LAYER_TAR, OCI_MANIFEST
from berth.archive.streams import CHUNK, open_plain
from berth.archive.tarball import TarWriter
from berth.errors import ArchiveError, ImageNotFound, InvalidArgument, StoreError
from berth.fsutil import fsync_dir
from berth.reference import Digest, Reference
from berth.store import ImageRecord, Store
from berth.store.blobs import temp_name

_HEX = frozenset("0123456789abcdef")


def save_images(store: Store, refs: list[str], output: Path) -> None:
    if not refs:
        raise InvalidArgument("save: name at least one image")
    plan = _resolve(store, refs)
    output = Path(output)
    with store.lease() as lease:
        records: list[ImageRecord] = []
        for image_id in plan:
            rec = store.images.get(image_id)
            if rec is None:
                raise ImageNotFound(f"no such image: {image_id}", image=str(image_id))
            store.claim(lease, blobs=rec.blobs(), layers=rec.diff_ids())
            missing = [str(d) for d in rec.blobs() if not store.blobs.has(d)]
            if missing:
                raise StoreError(f"image {image_id} is missing blobs {', '.join(missing)}: run berth system check",
                                 image=str(image_id))
            records.append(rec)
        tmp = output.parent / f".{output.name}.{temp_name('save')}"
        try:
            with open(tmp, "wb") as f:
                _write(store, records, plan, TarWriter(f))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, output)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ArchiveError(f"cannot write {output}: {exc.strerror or exc}", output=str(output)) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    fsync_dir(output.parent)


def _resolve(store: Store, refs: list[str]) -> dict[Digest, list[str]]:
    """Image IDs to save, in order, each with the name-index keys (tags) to record for it.

    As ``docker save``: ``name:tag`` saves that tag; a bare ``name`` saves every tag
    of that repository; an ID (prefix) or ``name@digest`` saves the image untagged.
    """
    names = store.images.names()
    plan: dict[Digest, list[str]] = {}
    for text in refs:
        bare = text.removeprefix("sha256:")
        if bare and set(bare) <= _HEX and (text.startswith("sha256:") or len(bare) >= 4):
            try:
                image_id = store.images.resolve(text)
            except ImageNotFound:
                if text.startswith("sha256:"):
                    raise
            else:
                if image_id.hex.startswith(bare):
                    plan.setdefault(image_id, [])
                    continue
        ref = Reference.parse(text, default_tag=False)
        if ref.digest is not None:
            plan.setdefault(store.images.resolve(text), [])
            continue
        if ref.tag is None:
            keys = sorted(k for k in names.tags if k.rpartition(":")[0] == ref.name)
            if not keys:
                raise ImageNotFound(f"no such image: {text}", image=text)
        else:
            keys = [f"{ref.name}:{ref.tag}"]
            if keys[0] not in names.tags:
                raise ImageNotFound(f"no such image: {text}", image=text)
        for key in keys:
            tags = plan.setdefault(Digest.parse(names.tags[key]), [])
            if key not in tags:
                tags.append(key)
    return plan


def _plain_chunks(store: Store, blob: Digest) -> Iterator[bytes]:
    with store.blobs.open(blob) as raw:
        _, plain = open_plain(raw, f"blob {blob}")
        while chunk := plain.read(CHUNK):
            yield chunk


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _write(store: Store, records: list[ImageRecord], plan: dict[Digest, list[str]], tar: TarWriter) -> None:
    tar.add_dir("blobs/")
    tar.add_dir("blobs/sha256/")
    layer_sizes: dict[Digest, int] = {}
    manifest_items: list[dict[str, object]] = []
    index_entries: list[dict[str, object]] = []
    repositories: dict[str, dict[str, str]] = {}

    def add_blob(digest: Digest, data: bytes) -> None:
        name = f"blobs/sha256/{digest.hex}"
        if name not in tar.names:
            tar.add_bytes(name, data)

    for rec in records:
        for layer in rec.layers:
            if layer.diff_id in layer_sizes:
                continue
            got, size = tar.add_stream(f"blobs/sha256/{layer.diff_id.hex}", _plain_chunks(store, layer.blob))
            if got != layer.diff_id:
                raise StoreError(
                    f"layer blob {layer.blob} of image {rec.id} decompresses to {got}, not its diff_id "
                    f"{layer.diff_id}: run berth system check",
                    image=str(rec.id), blob=str(layer.blob),
                )
            layer_sizes[layer.diff_id] = size
        config_raw = store.blobs.read(rec.id)
        if Digest.of_bytes(config_raw) != rec.id:
            raise StoreError(f"config blob of image {rec.id} is corrupt: run berth system check", image=str(rec.id))
        add_blob(rec.id, config_raw)
        manifest_raw = _dumps({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": str(rec.id), "size": len(config_raw)},
            "layers": [
                {"mediaType": OCI_LAYER_TAR, "digest": str(d), "size": layer_sizes[d]} for d in rec.diff_ids()
            ],
        })
        manifest_digest = Digest.of_bytes(manifest_raw)
        add_blob(manifest_digest, manifest_raw)
        descriptor = {"mediaType": OCI_MANIFEST, "digest": str(manifest_digest), "size": len(manifest_raw)}

        repo_tags = []
        for key in plan[rec.id]:
            ref = Reference.parse(key)
            repo_tags.append(ref.familiar())
            index_entries.append({**descriptor, "annotations": {
                "io.containerd.image.name": str(ref),
                "org.opencontainers.image.ref.name": ref.tag,
            }})
            if rec.layers:
                repositories.setdefault(ref.familiar_name, {})[str(ref.tag)] = rec.layers[-1].diff_id.hex
        if not plan[rec.id]:
            index_entries.append(descriptor)
        manifest_items.append({
            "Config": f"blobs/sha256/{rec.id.hex}",
            "RepoTags": repo_tags,
            "Layers": [f"blobs/sha256/{d.hex}" for d in rec.diff_ids()],
        })

    tar.add_bytes("index.json", _dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index_entries}))
    tar.add_bytes("manifest.json", _dumps(manifest_items) + b"\n")
    tar.add_bytes("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
    if repositories:
        tar.add_bytes("repositories", json.dumps(repositories, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    tar.close()
