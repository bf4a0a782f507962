"""A scratch rootfs for a COPY/ADD step: the parent's layers under a fresh upper dir, no container.

COPY needs no process, so it needs no container record, network or bundle: an overlay of the
parent image's layers (or of nothing, for ``FROM scratch``) is mounted under the store's ``tmp/``
(``build-<pid>-*``, so ``system check`` knows a dead builder's debris by its pid and unmounts it before
removing it), the files are copied into the mounted root, and the upper dir becomes the step's layer.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from berth.fsutil import rmtree
from berth.reference import Digest
from berth.store import Store


@contextmanager
def step_rootfs(store: Store, image: Digest | None) -> Iterator[tuple[Path, Path]]:
    """``(record_dir, mounted root)``; ``record_dir/overlay/upper`` holds what was written."""
    from berth.runtime.rootfs import mount_rootfs, unmount_rootfs

    store.paths.tmp.mkdir(parents=True, exist_ok=True)
    record_dir = Path(tempfile.mkdtemp(prefix=f"build-{os.getpid()}-", dir=store.paths.tmp))
    try:
        rec = store.images.get(image) if image is not None else None
        layers = [store.layers.diff_dir(d) for d in reversed(rec.diff_ids())] if rec else []
        root = mount_rootfs(layers, record_dir, record_dir / "rootfs")
        try:
            yield record_dir, root
        finally:
            unmount_rootfs(root)
    finally:
        rmtree(record_dir)
