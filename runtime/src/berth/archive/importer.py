"""``import``: a rootfs tarball becomes a one-layer image, as ``docker import`` does.

The tar is the layer as-is (its diff_id is the sha256 of the decompressed
bytes); it is gzipped deterministically into a blob, unpacked, and described
by a fresh config and a Docker schema2 manifest. The config follows Docker's:
``config`` holds only what ``--change`` set, the message is the image comment
and the one history entry's comment (``Imported from -`` by default).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from berth.archive.changes import apply_changes
from berth.archive.common import DOCKER_MANIFEST, publish_layer, schema2_manifest, tag_key
from berth.archive.streams import PendingLayer, compress_layer, open_plain
from berth.errors import ArchiveError, InvalidArgument
from berth.ioutil import read_full
from berth.reference import Digest, Platform
from berth.store import ImageRecord, Store

_BLOCK = 512


def rfc3339_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def import_rootfs(store: Store, source: Path, ref: str | None, changes: list[str], message: str) -> Digest:
    """Create an image from the tar ``source`` (``-`` reads stdin); tag it ``ref`` if given."""
    config_section = apply_changes(changes)  # bad --change values fail before any work
    tags = [tag_key(ref)] if ref else []
    what = str(source)
    comment = message or "Imported from -"
    with _open_source(store, source) as src, store.lease() as lease:
        pending = _compress(store, src, what)
        layer = publish_layer(store, lease, pending, src, what)

        created = rfc3339_now()
        plat = Platform.host()
        config: dict[str, Any] = {"architecture": plat.architecture}
        if plat.variant:
            config["variant"] = plat.variant
        config.update({
            "comment": comment,
            "config": config_section,
            "created": created,
            "history": [{"created": created, "comment": comment}],
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [str(pending.diff_id)]},
        })
        config_raw = json.dumps(config, separators=(",", ":")).encode()
        config_digest = Digest.of_bytes(config_raw)
        manifest_raw = schema2_manifest(config_raw, config_digest, (layer,))
        manifest_digest = Digest.of_bytes(manifest_raw)
        store.claim(lease, blobs=[config_digest, manifest_digest])
        store.blobs.put_bytes(config_raw, config_digest)
        store.blobs.put_bytes(manifest_raw, manifest_digest)
        record = ImageRecord(config_digest, manifest_digest, DOCKER_MANIFEST, (layer,), source="import")
        store.commit_image(record, tags=tags)
    return config_digest


@contextmanager
def _open_source(store: Store, source: Path) -> Iterator[BinaryIO]:
    """A seekable handle on the source; stdin (``-``) and pipes are spooled to an anonymous temp file."""
    text = str(source)
    if re.match(r"^[a-z][a-z0-9+.-]*:/", text, re.IGNORECASE):
        raise InvalidArgument(f"import from a URL is not supported ({text}): download the file first", value=text)
    try:
        f = sys.stdin.buffer if text == "-" else open(source, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ArchiveError(f"cannot open {text}: {exc.strerror or exc}", what=text) from None
    with f:
        if f.seekable():
            yield f
            return
        # The layer is read twice (compress, then unpack): spool what cannot be re-read.
        store.paths.tmp.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=store.paths.tmp, prefix="import-") as spool:
            shutil.copyfileobj(f, spool, 1 << 20)
            spool.seek(0)
            yield spool  # type: ignore[misc]


def _compress(store: Store, src: BinaryIO, what: str) -> PendingLayer:
    """Check that ``src`` is a tar (after decompression), then gzip it into an uncommitted blob."""
    _, plain = open_plain(src, what)
    head = read_full(plain, _BLOCK)
    _check_tar_header(head, what)
    return compress_layer(store, plain, head=head)


def _check_tar_header(block: bytes, what: str) -> None:
    if len(block) < _BLOCK:
        raise ArchiveError(f"{what} is not a tar archive", what=what)
    if block == b"\0" * _BLOCK:
        return  # an empty archive: end-of-archive marker first
    try:
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        raise ArchiveError(f"{what} is not a tar archive", what=what) from None
