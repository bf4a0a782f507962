"""Push: upload an image's blobs (skipping what the registry has) and its manifest.

The manifest pushed is the very blob the store holds, so a pushed image has
the same digest everywhere it goes (pull -> push -> pull gives one digest).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from berth.progress import Progress, ProgressFn, no_progress
from berth.reference import Digest, Reference
from berth.store import ImageRecord, Store
from berth.structs import dataclass


@dataclass(frozen=True)
class PushResult:
    reference: Reference
    digest: Digest
    size: int
    uploaded: int  # number of blobs actually uploaded (0: registry had them all)


class Pusher:
    def __init__(self, store: Store, client, *, max_workers: int = 5,
                 progress: ProgressFn = no_progress, chunk_size: int = 16 << 20) -> None:
        self.store = store
        self.client = client
        self.max_workers = max_workers
        self.progress = progress
        self.chunk_size = chunk_size

    def push(self, ref: Reference, record: ImageRecord) -> PushResult:
        repo = ref.repository
        blobs = [(record.id, self.store.blobs.size(record.id))] + [(x.blob, x.size) for x in record.layers]
        blobs = list(dict(blobs).items())  # an image may repeat a layer
        mount_from = self._mount_sources(ref, record)
        with ThreadPoolExecutor(max_workers=max(1, self.max_workers), thread_name_prefix="push") as pool:
            uploaded = sum(pool.map(lambda b: self._push_blob(repo, b[0], b[1], mount_from), blobs))
        raw = self.store.blobs.read(record.manifest)
        digest = self.client.put_manifest(repo, ref.lookup, raw, record.manifest_media_type)
        self.store.commit_image(record, digests=[f"{ref.name}@{digest}"])
        return PushResult(ref, digest, len(raw), uploaded)

    def _push_blob(self, repo: str, digest: Digest, size: int, mount_from: list[str]) -> int:
        label = digest.short
        if self.client.blob_exists(repo, digest) is not None:
            self.progress(Progress(label, "Layer already exists"))
            return 0
        for source in mount_from:
            if source != repo and self.client.mount_blob(repo, digest, source):
                self.progress(Progress(label, f"Mounted from {source}"))
                return 0
        self.progress(Progress(label, "Pushing", 0, size))
        self.client.upload_blob(repo, digest, size, lambda: self.store.blobs.open(digest), chunk_size=self.chunk_size)
        self.progress(Progress(label, "Pushed", size, size))
        return 1

    def _mount_sources(self, ref: Reference, record: ImageRecord) -> list[str]:
        """Repositories on the same registry that already hold this image (cross-repo mount)."""
        names = self.store.images.names()
        sources = set()
        for key, image_id in names.digests.items():
            if image_id != str(record.id):
                continue
            name = key.split("@", 1)[0]
            registry, _, repository = name.partition("/")
            if registry == ref.registry and repository != ref.repository:
                sources.add(repository)
        return sorted(sources)
