"""Pull: resolve a reference to one platform's image and bring it into the store.

Order of work, chosen for speed and crash safety:
1. manifest (and index) fetched, verified, stored as blobs;
2. every needed blob and layer is *claimed* (lease) before we look whether
   we already have it, so a concurrent rmi/GC cannot delete it under us;
3. missing layer blobs download in parallel; each is unpacked as soon as it
   is verified, in its own thread, while the others still download (overlay
   layers are independent dirs, unlike Docker's sequential apply);
4. the image record and names are published last, under the names lock.
A kill -9 anywhere leaves temp files and a dead lease, which fsck removes.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from berth.errors import DigestMismatch, ManifestInvalid, RegistryError
from berth.progress import Progress, ProgressFn, no_progress
from berth.reference import Digest, Platform, Reference
from berth.store import ImageRecord, LayerRef, Store
from berth.store.leases import Lease
from berth.structs import dataclass


@dataclass(frozen=True)
class PullResult:
    reference: Reference
    image_id: Digest
    digest: Digest  # what the registry calls it (index digest if pulled through one)
    downloaded: bool  # False: everything was already here

    @property
    def status(self) -> str:
        what = self.reference.familiar()
        if self.downloaded:
            return f"Downloaded newer image for {what}"
        return f"Image is up to date for {what}"


class Puller:
    def __init__(self, store: Store, client, *, max_workers: int = 3, attempts: int = 5,
                 progress: ProgressFn = no_progress) -> None:
        self.store = store
        self.client = client
        self.max_workers = max_workers
        self.attempts = attempts
        self.progress = progress

    def pull(self, ref: Reference, platform: Platform | None = None) -> PullResult:
        try:
            return self._pull(ref, platform or Platform.host())
        except Exception:
            # A failed pull keeps nothing: what it stored is unreferenced once its lease is gone.
            self.store.gc()
            raise

    def resolve(self, ref: Reference, platform: Platform | None = None) -> tuple[Digest, Digest]:
        """What ``pull`` would bring, from the manifests alone: (the registry's digest, the image ID).
        No blob is fetched and nothing is stored."""
        self.client.ping(mirrors=True)
        top_digest, manifest, _fetched = self._manifests(ref, platform or Platform.host())
        return top_digest, manifest.config.digest

    def _manifests(self, ref: Reference, platform: Platform):
        """The manifest ``ref`` names (through an index, this platform's), verified, and every
        manifest fetched on the way as ``(raw, digest, is_index)``; nothing stored."""
        from berth.distribution.manifests import ImageIndex, parse_manifest

        repo = ref.repository
        raw, media_type, top_digest = self.client.get_manifest(repo, ref.lookup)
        if ref.digest and top_digest != ref.digest:
            raise DigestMismatch(str(ref.digest), str(top_digest), what="manifest")
        manifest = parse_manifest(raw, media_type)
        fetched = [(raw, top_digest, isinstance(manifest, ImageIndex))]
        if isinstance(manifest, ImageIndex):
            desc = manifest.select(platform)
            raw, media_type, mdigest = self.client.get_manifest(repo, str(desc.digest))
            if mdigest != desc.digest:
                raise DigestMismatch(str(desc.digest), str(mdigest), what="manifest")
            manifest = parse_manifest(raw, media_type)
            if isinstance(manifest, ImageIndex):
                raise ManifestInvalid(f"{ref}: nested image indexes are not supported", registry=ref.registry)
            fetched.append((raw, mdigest, False))
        return top_digest, manifest, fetched

    def _pull(self, ref: Reference, platform: Platform) -> PullResult:
        repo = ref.repository
        # As Docker does: "not a registry" is said here, clearly, not as a JSON error later.
        self.client.ping(mirrors=True)
        with self.store.lease() as lease:
            top_digest, manifest, fetched = self._manifests(ref, platform)
            indexes = [digest for _raw, digest, is_index in fetched if is_index]
            downloaded = False
            for raw, digest, _is_index in fetched:
                self.store.claim(lease, blobs=[digest])
                downloaded |= not self.store.blobs.has(digest)
                self.store.blobs.put_bytes(raw, digest)
            config_desc = manifest.config
            self.store.claim(lease, blobs=[config_desc.digest])
            if not self.store.blobs.has(config_desc.digest):
                downloaded = True
                self._fetch_blob(repo, config_desc.digest, config_desc.size, "config")
            diff_ids = _diff_ids(self.store.blobs.read(config_desc.digest), ref)
            if len(diff_ids) != len(manifest.layers):
                raise ManifestInvalid(
                    f"{ref}: manifest has {len(manifest.layers)} layers but config lists {len(diff_ids)}",
                    registry=ref.registry,
                )
            layers = tuple(
                LayerRef(diff_id, d.digest, d.media_type, d.size)
                for diff_id, d in zip(diff_ids, manifest.layers, strict=True)
            )
            self.store.claim(lease, blobs=[x.blob for x in layers], layers=[x.diff_id for x in layers])
            downloaded |= self._fetch_layers(repo, layers, lease)
            record = ImageRecord(
                id=config_desc.digest,
                manifest=manifest.digest,
                manifest_media_type=manifest.media_type,
                layers=layers,
                indexes=tuple(indexes),
                source=str(ref),
            )
            tags = [f"{ref.name}:{ref.tag}"] if ref.tag else []
            self.store.commit_image(record, tags=tags, digests=[f"{ref.name}@{top_digest}"])
        return PullResult(ref, record.id, top_digest, downloaded)

    # -- layers ------------------------------------------------------------
    def _fetch_layers(self, repo: str, layers: tuple[LayerRef, ...], lease: Lease) -> bool:
        todo = [x for x in layers if not (self.store.blobs.has(x.blob) and self.store.layers.has(x.diff_id))]
        for x in layers:
            if x not in todo:
                self.progress(Progress(x.blob.short, "Already exists"))
        if not todo:
            return False
        # Distinct blobs only: one image may repeat a layer (e.g. empty layers).
        unique = list({x.blob: x for x in todo}.values())
        with ThreadPoolExecutor(max_workers=max(1, self.max_workers), thread_name_prefix="pull") as pool:
            futures = [pool.submit(self._fetch_layer, repo, x) for x in unique]
            for fut in futures:
                fut.result()  # re-raises the first failure; the lease keeps partial work safe
        return True

    def _fetch_layer(self, repo: str, layer: LayerRef) -> None:
        if not self.store.blobs.has(layer.blob):
            self._fetch_blob(repo, layer.blob, layer.size, layer.blob.short)
        if not self.store.layers.has(layer.diff_id):
            self.progress(Progress(layer.blob.short, "Extracting", 0, layer.size))
            self.store.layers.unpack_file(layer.diff_id, self.store.blobs.path(layer.blob))
        self.progress(Progress(layer.blob.short, "Pull complete", layer.size, layer.size))

    def _fetch_blob(self, repo: str, digest: Digest, size: int, label: str) -> None:
        """Download with resume: a dropped connection continues from the bytes we have."""
        with self.store.blobs.writer(digest, size) as w:
            attempt = 0
            last_report = 0.0
            while True:
                try:
                    for chunk in self.client.blob_chunks(repo, digest, offset=w.size):
                        w.write(chunk)
                        now = time.monotonic()
                        if now - last_report > 0.2:
                            last_report = now
                            self.progress(Progress(label, "Downloading", w.size, size))
                    break
                except RegistryError as exc:
                    attempt += 1
                    if not exc.data.get("transient") or attempt >= self.attempts:
                        raise
                    self.progress(Progress(label, f"Retrying in {attempt}s", w.size, size))
                    time.sleep(min(attempt, 5) * 0.5)
            w.commit()  # verifies size and digest; a bad blob is deleted, never kept
        self.progress(Progress(label, "Download complete", size, size))


def _diff_ids(config_raw: bytes, ref: Reference) -> list[Digest]:
    try:
        config = json.loads(config_raw)
        return [Digest.parse(x) for x in config["rootfs"]["diff_ids"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ManifestInvalid(f"{ref}: image config is invalid: {exc}", registry=ref.registry) from exc
