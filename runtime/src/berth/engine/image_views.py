"""Docker-shaped views of images: ``images``, ``image inspect``, ``history``, ``system df``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from berth.reference import Digest, familiar_key
from berth.store import ImageRecord, Store


def _config(store: Store, rec: ImageRecord) -> dict[str, Any]:
    return json.loads(store.blobs.read(rec.id))


def image_size(store: Store, rec: ImageRecord) -> int:
    """Unpacked size, as Docker reports it (shared layers counted in each image)."""
    return sum(store.layers.size(d) for d in dict.fromkeys(rec.diff_ids()))


def image_summaries(store: Store, *, intermediate: bool = True) -> list[dict[str, Any]]:
    """One row per (repository, tag), dangling images as ``<none>``, newest first. ``intermediate=False``
    leaves out untagged images that are the parent of another image (a build's steps), as Docker's
    ``images`` without ``-a``."""
    names = store.images.names()
    rows = []
    configs = {rec.id: (rec, _config(store, rec)) for rec in store.images.records()}
    parents = set() if intermediate else _parents(configs.values())
    for rec, cfg in configs.values():
        tags, digests = names.names_of(rec.id)
        if not tags and rec.id in parents:
            continue
        base = {
            "ID": str(rec.id),
            "Created": cfg.get("created", ""),
            "Size": image_size(store, rec),
            "RepoTags": [familiar_key(t) for t in tags],
            "RepoDigests": [familiar_key(d) for d in digests],
            "Labels": (cfg.get("config") or {}).get("Labels") or {},
        }
        for t in tags or [None]:
            row = dict(base)
            if t is None:
                row["Repository"], row["Tag"] = "<none>", "<none>"
            else:
                name, _, tag = familiar_key(t).rpartition(":")
                row["Repository"], row["Tag"] = name, tag
            row["Digest"] = next(
                (d.partition("@")[2] for d in digests if t and d.startswith(t.rsplit(":", 1)[0] + "@")), "<none>"
            )
            rows.append(row)
    rows.sort(key=lambda r: (r["Created"], r["Repository"], r["Tag"]), reverse=True)
    return rows


def _ancestors(images: Any, rec: ImageRecord, cfg: dict[str, Any]) -> list[Digest | None]:
    """For each history entry of ``rec`` (oldest first), the local image whose history ends there (a
    build's step, the base it was built on), or None. An image is another's ancestor when its history
    and layers are a prefix of the other's."""
    by_history = {(tuple(map(str, r.diff_ids())), json.dumps(c.get("history") or [])): r.id for r, c in images}
    history = cfg.get("history") or []
    diff_ids = tuple(map(str, rec.diff_ids()))
    out: list[Digest | None] = []
    for n in range(1, len(history) + 1):
        layers = sum(1 for h in history[:n] if not h.get("empty_layer"))
        out.append(by_history.get((diff_ids[:layers], json.dumps(history[:n]))))
    return out


def build_ancestors(store: Store, image_id: Digest) -> list[Digest]:
    """The local images ``image_id`` was built on (its build's steps, its base), nearest first."""
    images = [(rec, _config(store, rec)) for rec in store.images.records()]
    mine = next(((rec, cfg) for rec, cfg in images if rec.id == image_id), None)
    if mine is None:
        return []
    found = [a for a in _ancestors(images, *mine)[:-1] if a is not None and a != image_id]
    return list(dict.fromkeys(reversed(found)))


def built_upon(store: Store) -> set[Digest]:
    """The local images another local image was built on."""
    return _parents((rec, _config(store, rec)) for rec in store.images.records())


def _parents(images: Any) -> set[Digest]:
    """Images another image was built on."""
    images = list(images)
    return {a for rec, cfg in images for a in _ancestors(images, rec, cfg)[:-1] if a is not None and a != rec.id}


def inspect_image(store: Store, image_id: Digest) -> dict[str, Any]:
    rec = store.images.get(image_id)
    assert rec is not None  # resolve() only returns IDs with records
    cfg = _config(store, rec)
    tags, digests = store.images.names().names_of(image_id)
    out: dict[str, Any] = {
        "Id": str(rec.id),
        "RepoTags": [familiar_key(t) for t in tags],
        "RepoDigests": [familiar_key(d) for d in digests],
        "Parent": "",
        "Comment": _last_comment(cfg),
        "Created": cfg.get("created", ""),
        "DockerVersion": cfg.get("docker_version", ""),
        "Author": cfg.get("author", ""),
        "Config": cfg.get("config") or {},
        "Architecture": cfg.get("architecture", ""),
        "Os": cfg.get("os", ""),
        "Size": image_size(store, rec),
        "RootFS": {"Type": "layers", "Layers": [str(d) for d in rec.diff_ids()]},
        "Metadata": {"LastTagTime": ""},
        "Descriptor": {"mediaType": rec.manifest_media_type, "digest": str(rec.manifest),
                       "size": store.blobs.size(rec.manifest)},
    }
    if cfg.get("variant"):
        out["Variant"] = cfg["variant"]
    return out


def _last_comment(cfg: dict[str, Any]) -> str:
    hist = cfg.get("history") or []
    return (hist[-1].get("comment", "") if hist else "") or ""


def history(store: Store, image_id: Digest) -> list[dict[str, Any]]:
    """Newest first, like ``docker history``; the top row carries the image ID."""
    rec = store.images.get(image_id)
    assert rec is not None
    cfg = _config(store, rec)
    diff_ids = rec.diff_ids()
    entries = cfg.get("history") or [{"created": cfg.get("created", ""), "created_by": ""} for _ in diff_ids]
    ids: list[Digest | None] = [None] * len(entries)
    if cfg.get("history"):  # the steps still here (a build's, the base's) show their IDs, as in Docker
        images = [(r, _config(store, r)) for r in store.images.records()]
        ids = _ancestors(images, rec, cfg)
    rows = []
    layer_index = 0
    for h, step_id in zip(entries, ids, strict=True):
        size = 0
        if not h.get("empty_layer") and layer_index < len(diff_ids):
            size = store.layers.size(diff_ids[layer_index])
            layer_index += 1
        rows.append({"Id": str(step_id) if step_id else "<missing>", "Created": h.get("created", ""),
                     "CreatedBy": h.get("created_by", ""), "Size": size, "Comment": h.get("comment", "")})
    rows.reverse()
    if rows:
        rows[0]["Id"] = str(rec.id)
    return rows


def disk_usage(store: Store, users: Callable[[Digest], list[str]]) -> dict[str, Any]:
    records = list(store.images.records())
    layer_sizes = {d: store.layers.size(d) for d in store.layers}
    active = [r for r in records if users(r.id)]
    used_layers = {d for r in active for d in r.diff_ids()}
    all_layers = {d for r in records for d in r.diff_ids()}
    blob_bytes = sum(store.blobs.size(d) for d in store.blobs)
    return {
        "Images": {
            "TotalCount": len(records),
            "Active": len(active),
            "Size": sum(layer_sizes.get(d, 0) for d in all_layers),
            "Reclaimable": sum(layer_sizes.get(d, 0) for d in all_layers - used_layers),
        },
        "BlobBytes": blob_bytes,
        "LayerBytes": sum(layer_sizes.values()),
    }
