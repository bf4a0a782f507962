"""The store facade: blobs + unpacked layers + image records, and their GC."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from berth.locks import file_lock
from berth.paths import Paths
from berth.reference import Digest
from berth.store.blobs import BlobStore
from berth.store.images import ImageStore
from berth.store.layerstore import LayerStore
from berth.store.leases import Lease, live_claims
from berth.store.records import ImageRecord
from berth.structs import dataclass, field

#: Given an image ID, name the things (containers) that use it. Containers
#: register one; rmi refuses to delete an image that has users unless forced.
ImageUsersHook = Callable[[Digest], list[str]]
#: Diff IDs some other subsystem still mounts (a container's rootfs); GC keeps them.
LayerUsersHook = Callable[[], set[Digest]]


@dataclass
class GCResult:
    blobs: list[Digest] = field(default_factory=list)
    layers: list[Digest] = field(default_factory=list)
    bytes_freed: int = 0


class Store:
    def __init__(
        self,
        paths: Paths,
        image_users: Iterable[ImageUsersHook] = (),
        layer_users: Iterable[LayerUsersHook] = (),
    ) -> None:
        self.paths = paths
        self.blobs = BlobStore(paths)
        self.layers = LayerStore(paths)
        self.images = ImageStore(paths)
        self.image_users = list(image_users)
        self.layer_users = list(layer_users)

    # -- leases ------------------------------------------------------------
    @contextmanager
    def _gc_lock(self, *, shared: bool) -> Iterator[None]:
        with file_lock(self.paths.locks / "gc.lock", shared=shared):
            yield

    @contextmanager
    def lease(self) -> Iterator[Lease]:
        with self._gc_lock(shared=True):
            lease = Lease(self.paths)
        try:
            yield lease
        finally:
            lease.release()

    def claim(self, lease: Lease, *, blobs: Iterable[Digest] = (), layers: Iterable[Digest] = ()) -> None:
        """Protect objects from GC before checking whether they exist."""
        with self._gc_lock(shared=True):
            lease.add("blob", blobs)
            lease.add("layer", layers)

    # -- images ------------------------------------------------------------
    def commit_image(self, record: ImageRecord, *, tags: Iterable[str] = (), digests: Iterable[str] = ()) -> None:
        """Publish a record whose blobs and layers are all present, and point names at it."""
        with self.images.editing_names() as names:
            self.images.put(record)
            for t in tags:
                names.tags[t] = str(record.id)
            for d in digests:
                names.digests[d] = str(record.id)

    def users_of(self, image_id: Digest) -> list[str]:
        users: list[str] = []
        for hook in self.image_users:
            users.extend(hook(image_id))
        return users

    # -- garbage collection --------------------------------------------------
    def referenced(self) -> tuple[set[Digest], set[Digest]]:
        blobs: set[Digest] = set()
        layers: set[Digest] = set()
        for rec in self.images.records():
            blobs |= rec.blobs()
            layers.update(rec.diff_ids())
        for hook in self.layer_users:
            layers |= hook()
        return blobs, layers

    def gc(self) -> GCResult:
        """Delete every blob and layer no image record, container or live lease refers to."""
        result = GCResult()
        with self._gc_lock(shared=False):
            blobs, layers = self.referenced()
            claims = live_claims(self.paths)
            blobs |= claims.get("blob", set())
            layers |= claims.get("layer", set())
            for d in list(self.blobs):
                if d not in blobs:
                    with contextlib.suppress(OSError):
                        result.bytes_freed += self.blobs.size(d)
                    self.blobs.delete(d)
                    result.blobs.append(d)
            for d in list(self.layers):
                if d not in layers:
                    result.bytes_freed += self.layers.size(d)
                    self.layers.delete(d)
                    result.layers.append(d)
        return result
