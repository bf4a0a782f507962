"""``load``: images from a docker-archive, whoever wrote it.

``manifest.json`` is the source of truth, which covers every writer:

- ``docker save`` before 25: ``<v1 id>/layer.tar``, ``<image id hex>.json``, ``repositories``;
- ``docker save`` 25+ (and berth): ``blobs/sha256/<hex>`` for configs and layers, plus an OCI layout;
- ``skopeo copy ... docker-archive:``: ``<diff_id hex>.tar`` and ``<image id hex>.json``,
  with legacy ``<v1 id>/layer.tar`` symlinks.

Layers may be plain or compressed tars; the archive itself may be gzip, xz,
bzip2 or zstd-compressed. The config must hash to the ID its file name
announces, and each layer to its diff_id in the config. Everything is
checked and compressed into uncommitted blobs before anything becomes
visible; image records are committed last, under a lease.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from berth.archive.common import DOCKER_LAYER_GZIP, DOCKER_MANIFEST, known_layers, schema2_manifest, unpack_layer
from berth.archive.streams import PendingLayer, compress_layer, open_plain
from berth.archive.tarball import ArchiveReader, open_archive
from berth.errors import ArchiveError, InvalidReference
from berth.reference import Digest, Reference
from berth.store import ImageRecord, LayerRef, Store
from berth.store.leases import Lease
from berth.structs import dataclass, field

_ID_IN_NAME = re.compile(r"^(?:sha256:)?([a-f0-9]{64})(?:\.json)?$")


@dataclass
class _Item:
    config_path: str
    config_raw: bytes
    image_id: Digest
    layer_paths: list[str]
    diff_ids: list[Digest]
    tags: list[str] = field(default_factory=list)  # name-index keys
    familiar: list[str] = field(default_factory=list)


def load_archive(store: Store, source: Path) -> list[str]:
    """Load every image of the archive; return ``name:tag`` for each tag, or the ID of untagged images."""
    with open_archive(store, Path(source)) as arc:
        items = _read_manifest(arc)
        with store.lease() as lease:
            _load(store, lease, arc, items)
    loaded: list[str] = []
    for item in items:
        for name in item.familiar or [str(item.image_id)]:
            if name not in loaded:
                loaded.append(name)
    return loaded


def archive_images(store: Store, source: Path) -> list[tuple[Digest, list[str]]]:
    """The archive's images as ``load`` would read them (ID, name-index keys of its tags), checked the
    same way (configs hash to their IDs, layers are there) but not loaded: nothing is written."""
    with open_archive(store, Path(source)) as arc:
        return [(item.image_id, list(item.tags)) for item in _read_manifest(arc)]


def _read_manifest(arc: ArchiveReader) -> list[_Item]:
    what = arc.what
    if "manifest.json" not in arc:
        raise ArchiveError(f"{what} is not a docker-archive: no manifest.json", what=what)
    try:
        entries = json.loads(arc.read("manifest.json"))
    except ValueError as exc:
        raise ArchiveError(f"{what}: manifest.json is not valid JSON: {exc}", what=what) from None
    if not isinstance(entries, list):
        raise ArchiveError(f"{what}: manifest.json is not a list of images", what=what)
    items = []
    for entry in entries:
        if not (isinstance(entry, dict) and isinstance(entry.get("Config"), str)
                and isinstance(entry.get("Layers"), list) and all(isinstance(x, str) for x in entry["Layers"])
                and isinstance(entry.get("RepoTags") or [], list)):
            raise ArchiveError(f"{what}: malformed manifest.json entry {json.dumps(entry)[:200]}", what=what)
        items.append(_read_item(arc, entry))
    return items


def _read_item(arc: ArchiveReader, entry: dict[str, Any]) -> _Item:
    what = arc.what
    config_path = entry["Config"]
    config_raw = arc.read(config_path)
    image_id = Digest.of_bytes(config_raw)
    m = _ID_IN_NAME.match(config_path.rsplit("/", 1)[-1])
    if m and m.group(1) != image_id.hex:
        raise ArchiveError(
            f"{what}: config {config_path} does not match its digest (its content hashes to {image_id})",
            member=config_path,
        )
    try:
        config = json.loads(config_raw)
        diff_ids = [Digest.parse(d) for d in config["rootfs"]["diff_ids"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ArchiveError(f"{what}: config {config_path} is not an image config: {exc}", member=config_path) from None
    layer_paths = list(entry["Layers"])
    if len(layer_paths) != len(diff_ids):
        raise ArchiveError(
            f"{what}: image {image_id.short} lists {len(layer_paths)} layers but its config has "
            f"{len(diff_ids)} diff_ids",
            image=str(image_id),
        )
    for path in layer_paths:
        arc.lookup(path)  # raises "... is missing from the archive"
    item = _Item(config_path, config_raw, image_id, layer_paths, diff_ids)
    for text in entry.get("RepoTags") or []:
        try:
            ref = Reference.parse(text)
        except InvalidReference as exc:
            raise ArchiveError(f"{what}: invalid RepoTag {text!r}: {exc}", tag=text) from None
        if ref.digest is not None:
            raise ArchiveError(f"{what}: invalid RepoTag {text!r}: digests are not tags", tag=text)
        key = f"{ref.name}:{ref.tag}"
        if key not in item.tags:
            item.tags.append(key)
            item.familiar.append(ref.familiar())
    return item


def _load(store: Store, lease: Lease, arc: ArchiveReader, items: list[_Item]) -> None:
    what = arc.what
    # Images the store already holds whole are only (re)tagged, as Docker does.
    kept: dict[Digest, ImageRecord] = {}
    for item in items:
        rec = store.images.get(item.image_id)
        if rec is None or item.image_id in kept:
            continue
        store.claim(lease, blobs=rec.blobs(), layers=rec.diff_ids())
        if all(store.blobs.has(d) for d in rec.blobs()) and all(store.layers.has(d) for d in rec.diff_ids()):
            kept[item.image_id] = rec
    todo = [item for item in items if item.image_id not in kept]

    # Each distinct layer once: the archive's path of its first use.
    wanted: dict[Digest, str] = {}
    for item in todo:
        for path, diff_id in zip(item.layer_paths, item.diff_ids, strict=True):
            wanted.setdefault(diff_id, path)

    reusable = known_layers(store) if wanted else {}
    refs: dict[Digest, LayerRef] = {}
    pending: dict[Digest, PendingLayer] = {}
    try:
        # 1. compress into uncommitted blobs, checking each diff_id
        for diff_id, path in wanted.items():
            known = reusable.get(diff_id)
            if known is not None:
                store.claim(lease, blobs=[known.blob], layers=[diff_id])
                if store.blobs.has(known.blob):
                    refs[diff_id] = known
                    continue
            name = f"{what}: layer {path}"
            with arc.open(path) as raw:
                _, plain = open_plain(raw, name)
                layer = compress_layer(store, plain)
            if layer.diff_id != diff_id:
                layer.abort()
                raise ArchiveError(
                    f"{name} does not match its diff_id: the config says {diff_id}, the content hashes to "
                    f"{layer.diff_id}",
                    layer=path, expected=str(diff_id), actual=str(layer.diff_id),
                )
            pending[diff_id] = layer
        # 2. unpack what the store lacks
        store.claim(lease, blobs=[p.blob for p in pending.values()], layers=wanted)
        for diff_id, path in wanted.items():
            if not store.layers.has(diff_id):
                with arc.open(path) as raw:
                    unpack_layer(store, diff_id, raw, f"{what}: layer {path}")
        # 3. publish the blobs
        for diff_id, layer in list(pending.items()):
            if store.blobs.has(layer.blob):
                layer.abort()
            else:
                layer.commit()
            refs[diff_id] = LayerRef(diff_id, layer.blob, DOCKER_LAYER_GZIP, layer.size)
            del pending[diff_id]
    finally:
        for layer in pending.values():
            layer.abort()

    # 4. configs, manifests, then the records and names
    records: list[tuple[ImageRecord, list[str]]] = []
    for item in items:
        rec = kept.get(item.image_id)
        if rec is None:
            layers = tuple(refs[d] for d in item.diff_ids)
            manifest_raw = schema2_manifest(item.config_raw, item.image_id, layers)
            manifest_digest = Digest.of_bytes(manifest_raw)
            store.claim(lease, blobs=[item.image_id, manifest_digest])
            store.blobs.put_bytes(item.config_raw, item.image_id)
            store.blobs.put_bytes(manifest_raw, manifest_digest)
            rec = ImageRecord(item.image_id, manifest_digest, DOCKER_MANIFEST, layers, source="load")
            kept[item.image_id] = rec
        records.append((rec, item.tags))
    for rec, tags in records:
        store.commit_image(rec, tags=tags)
