"""``commit``: a container's writable layer becomes a new image on top of its image, as ``docker commit``.

The overlay upper dir is archived with ``berth.layers.write_layer_tar``
(overlay whiteouts and opaque dirs become Docker whiteouts), gzipped with
the shared deterministic parameters and unpacked into the store; an empty
upper dir adds no layer (the history entry is then ``empty_layer``, as
Docker does for an empty diff). The config is Docker's: the container's
``Config`` with the ``--change`` instructions applied; architecture, os and
history come from the image, with one history entry appended (``created_by``
the container's command, ``comment`` the message, ``author``).

A running container is committed as it is, without freezing it (no pause):
files it writes during the commit may or may not be in the layer.

Everything is claimed in a lease before it is checked or written (the base
image's blobs and layers too), so a concurrent ``rmi`` + GC cannot take what
the new image needs; nothing is held locked while the layer is written.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from berth.errors import ImageNotFound
from berth.reference import Digest, Platform
from berth.runtime.context import RuntimeContext
from berth.runtime.rootfs import overlay_dirs
from berth.store import ImageRecord, LayerRef, Store


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def commit_container(ctx: RuntimeContext, store: Store, cid: str, *, repo: str | None = None,
                     changes: list[str] | None = None, message: str = "", author: str = "") -> Digest:
    """Create the image; tag it ``repo`` (``name[:tag]``, tag ``latest`` by default) if given."""
    from berth.archive.changes import apply_changes
    from berth.archive.common import tag_key

    record = ctx.containers.config(cid)
    tags = [tag_key(repo)] if repo else []  # a bad name fails before any work
    config_section = apply_changes(list(changes or []), record["Config"])  # so does a bad --change
    base_id = Digest.parse(record["Image"])
    if store.images.get(base_id) is None or not store.blobs.has(base_id):
        raise ImageNotFound(f"cannot commit container {cid[:12]}: its image {base_id.short} was removed",
                            image=str(base_id))

    def config(base_cfg: dict[str, Any], layers: list[LayerRef], empty: bool) -> dict[str, Any]:
        return _image_config(base_cfg, config_section, record, layers, empty=empty, message=message,
                             author=author)

    return write_image(store, base_id, ctx.containers.dir(cid), config, tags=tags, source="commit",
                       stub_record=record)


#: ``(base image config, layers of the new image, whether the diff was empty) -> new image config``
ConfigFn = Callable[[dict[str, Any], list[LayerRef], bool], dict[str, Any]]


def write_image(store: Store, base_id: Digest | None, record_dir: Path | None, make_config: ConfigFn, *,
                tags: Sequence[str] = (), source: str, stub_record: dict[str, Any] | None = None) -> Digest:
    """A new image: ``base_id``'s layers (none for ``scratch``: None), plus the overlay upper dir of the
    container at ``record_dir`` as one more layer unless it is empty (or ``record_dir`` is None), with
    the config ``make_config`` returns. ``stub_record``: the container's record, whose mount points
    the runtime created are left out of the layer (``mount_stubs``). Returns the image ID."""
    from berth.archive.common import (
        DOCKER_LAYER_GZIP,
        DOCKER_MANIFEST,
        GZIP_LAYER_TYPES,
        publish_layer,
        schema2_manifest,
    )
    from berth.archive.streams import compress_layer
    from berth.layers import write_layer_tar

    base = store.images.get(base_id) if base_id is not None else None
    if base_id is not None and (base is None or not store.blobs.has(base_id)):
        raise ImageNotFound(f"image {base_id.short} was removed", image=str(base_id))
    base_cfg: dict[str, Any] = json.loads(store.blobs.read(base_id)) if base_id is not None else {}
    base_layers = base.layers if base is not None else ()
    upper = overlay_dirs(record_dir)[0] if record_dir is not None else None
    stubs: set[str] = set()
    if upper is not None and stub_record is not None:
        stubs = mount_stubs(upper, [store.layers.diff_dir(x.diff_id) for x in reversed(base_layers)],
                            stub_record)
    empty = upper is None or not upper.is_dir() or not (_entries(upper) - stubs)

    store.paths.tmp.mkdir(parents=True, exist_ok=True)
    with store.lease() as lease, tempfile.TemporaryFile(dir=store.paths.tmp,
                                                        prefix=f"commit-{os.getpid()}-") as tar:
        if base is not None:
            store.claim(lease, blobs=base.blobs(), layers=base.diff_ids())
        layers = [LayerRef(x.diff_id, x.blob, DOCKER_LAYER_GZIP if x.media_type in GZIP_LAYER_TYPES
                           else x.media_type, x.size) for x in base_layers]
        if not empty:
            assert upper is not None
            write_layer_tar(upper, tar)
            if stubs:
                _drop_entries(tar, stubs, store)
            tar.seek(0)
            pending = compress_layer(store, tar)
            layers.append(publish_layer(store, lease, pending, tar, f"layer of {upper.parent.name[:12]}"))

        config_raw = json.dumps(make_config(base_cfg, layers, empty), separators=(",", ":")).encode()
        config_digest = Digest.of_bytes(config_raw)
        manifest_raw = schema2_manifest(config_raw, config_digest, tuple(layers))
        manifest_digest = Digest.of_bytes(manifest_raw)
        store.claim(lease, blobs=[config_digest, manifest_digest])
        store.blobs.put_bytes(config_raw, config_digest)
        store.blobs.put_bytes(manifest_raw, manifest_digest)
        store.commit_image(ImageRecord(config_digest, manifest_digest, DOCKER_MANIFEST, tuple(layers),
                                       source=source), tags=list(tags))
    return config_digest


def _image_config(base: dict[str, Any], config_section: dict[str, Any], record: dict[str, Any],
                  layers: list[LayerRef], *, empty: bool, message: str, author: str) -> dict[str, Any]:
    created = _now()
    step: dict[str, Any] = {"created": created}
    if author:
        step["author"] = author
    step["created_by"] = " ".join(record["Config"].get("Cmd") or [])
    if message:
        step["comment"] = message
    if empty:
        step["empty_layer"] = True
    plat = Platform.host()
    cfg: dict[str, Any] = {"architecture": base.get("architecture") or plat.architecture}
    if base.get("variant"):
        cfg["variant"] = base["variant"]
    if author:
        cfg["author"] = author
    if message:
        cfg["comment"] = message
    cfg.update({
        "config": config_section,
        "container": record["Id"],
        "created": created,
        "history": [*base_history(base), step],
        "os": base.get("os") or "linux",
        "rootfs": {"type": "layers", "diff_ids": [str(x.diff_id) for x in layers]},
    })
    return cfg


def base_history(base: dict[str, Any]) -> list[dict[str, Any]]:
    """The image's history; one entry per layer when it has none (history rows pair with layers)."""
    if base.get("history"):
        return list(base["history"])
    return [{"created": base.get("created", "")} for _ in (base.get("rootfs") or {}).get("diff_ids") or []]


# -- what the runtime added, not the container ----------------------------------------------
def _mount_destinations(record: dict[str, Any]) -> set[str]:
    from berth.runtime.oci import INIT_PATH
    from berth.runtime.oci_defaults import DEFAULT_MOUNTS

    dests = {m.destination for m in DEFAULT_MOUNTS}
    dests |= {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", INIT_PATH}
    dests |= {str(m.get("destination", "")) for m in record.get("MountPoints") or []}
    return {d.strip("/") for d in dests if d.strip("/")}


def mount_stubs(upper: Path, lowers: list[Path], record: dict[str, Any]) -> set[str]:
    """Upper-dir entries that only exist as mount points runc created (Docker keeps those in its
    ``-init`` layer, out of the container's diff): an empty file or dir at a mount destination that
    no image layer has, and the copied-up parent dirs left with nothing else in them."""
    stubs: set[str] = set()

    def only_stubs(rel: str) -> bool:
        return all(f"{rel}/{n}" in stubs for n in _entries(upper / rel))

    for dest in sorted(_mount_destinations(record), key=lambda d: -d.count("/")):
        try:
            st = (upper / dest).lstat()
        except OSError:
            continue
        stub = (stat.S_ISREG(st.st_mode) and st.st_size == 0) or (stat.S_ISDIR(st.st_mode) and only_stubs(dest))
        if stub and not any(os.path.lexists(layer / dest) for layer in lowers):
            stubs.add(dest)
    todo = sorted({str(Path(x).parent) for x in stubs} - {"."}, key=lambda d: -d.count("/"))
    while todo:
        rel = todo.pop(0)
        if rel in stubs or not only_stubs(rel) or not _same_as_lower(upper / rel, rel, lowers):
            continue
        stubs.add(rel)
        parent = str(Path(rel).parent)
        if parent != ".":
            todo.append(parent)
    return stubs


def _same_as_lower(path: Path, rel: str, lowers: list[Path]) -> bool:
    from berth.layers.names import OPAQUE_XATTR

    try:
        if os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y":
            return False
    except OSError:
        pass
    st = path.lstat()
    for layer in lowers:
        try:
            low = (layer / rel).lstat()
        except OSError:
            continue
        return (low.st_mode, low.st_uid, low.st_gid) == (st.st_mode, st.st_uid, st.st_gid)
    return False


def _entries(directory: Path) -> set[str]:
    try:
        return {e.name for e in os.scandir(directory)}
    except OSError:
        return set()


def _drop_entries(tar: IO[bytes], names: set[str], store: Store) -> None:
    """Rewrite the layer tar in place without the entries ``names`` (same headers otherwise)."""
    with tempfile.TemporaryFile(dir=store.paths.tmp, prefix=f"commit-{os.getpid()}-") as kept:
        tar.seek(0)
        with tarfile.open(fileobj=tar, mode="r:") as src, tarfile.open(
                fileobj=kept, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8",
                errors="surrogateescape") as dst:
            for member in src:
                if member.name.rstrip("/") not in names:
                    dst.addfile(member, src.extractfile(member) if member.isreg() else None)
        kept.seek(0)
        tar.seek(0)
        tar.truncate()
        shutil.copyfileobj(kept, tar, 1 << 20)
