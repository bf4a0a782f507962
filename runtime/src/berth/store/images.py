"""Image records (``images/<hex>.json``) and the name index (``repositories.json``).

The name index maps full references to image IDs:
``{"tags": {"docker.io/library/busybox:latest": "sha256:..."},
   "digests": {"docker.io/library/busybox@sha256:<manifest>": "sha256:..."}}``
It is changed only under its flock, by read-modify-write-rename.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from berth.errors import ImageNotFound, InvalidReference, StoreError
from berth.fsutil import atomic_write_json, read_json
from berth.locks import file_lock
from berth.paths import Paths
from berth.reference import Digest, Reference
from berth.structs import dataclass, field

if TYPE_CHECKING:
    from berth.store.records import ImageRecord


@dataclass
class NameIndex:
    tags: dict[str, str] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)

    def names_of(self, image_id: Digest) -> tuple[list[str], list[str]]:
        sid = str(image_id)
        return (
            sorted(k for k, v in self.tags.items() if v == sid),
            sorted(k for k, v in self.digests.items() if v == sid),
        )

    def drop_image(self, image_id: Digest) -> None:
        sid = str(image_id)
        self.tags = {k: v for k, v in self.tags.items() if v != sid}
        self.digests = {k: v for k, v in self.digests.items() if v != sid}


class ImageStore:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    # -- records -----------------------------------------------------------
    def _record_path(self, image_id: Digest):
        return self.paths.images / f"{image_id.hex}.json"

    def get(self, image_id: Digest) -> ImageRecord | None:
        # records are imported where read: resolving a name (a no-change Ansible task) needs none
        from berth.store.records import ImageRecord

        raw = read_json(self._record_path(image_id))
        if raw is None:
            return None
        try:
            return ImageRecord.from_dict(raw)
        except (KeyError, ValueError, TypeError) as exc:
            raise StoreError(f"image record {image_id} is corrupt: {exc}", image=str(image_id)) from exc

    def put(self, record: ImageRecord) -> None:
        atomic_write_json(self._record_path(record.id), record.to_dict())

    def remove_record(self, image_id: Digest) -> None:
        self._record_path(image_id).unlink(missing_ok=True)

    def ids(self) -> list[Digest]:
        if not self.paths.images.is_dir():
            return []
        out = []
        for p in self.paths.images.glob("*.json"):
            try:
                out.append(Digest.parse(f"sha256:{p.stem}"))
            except ValueError:
                continue
        return sorted(out)

    def records(self) -> Iterator[ImageRecord]:
        for image_id in self.ids():
            rec = self.get(image_id)
            if rec is not None:
                yield rec

    # -- names -------------------------------------------------------------
    def names(self) -> NameIndex:
        raw = read_json(self.paths.repositories_file, default={}) or {}
        return NameIndex(dict(raw.get("tags", {})), dict(raw.get("digests", {})))

    @contextmanager
    def editing_names(self) -> Iterator[NameIndex]:
        """Read-modify-write the name index under its lock."""
        with file_lock(self.paths.locks / "repositories.lock"):
            index = self.names()
            yield index
            atomic_write_json(self.paths.repositories_file, {"tags": index.tags, "digests": index.digests})

    def resolve(self, text: str) -> Digest:
        """Find an image by name[:tag], name@digest, full ID or unique ID prefix (as Docker does)."""
        index = self.names()
        candidate = text.removeprefix("sha256:")
        if 4 <= len(candidate) <= 64 and all(c in "0123456789abcdef" for c in candidate):
            matches = [i for i in self.ids() if i.hex.startswith(candidate)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1 and len(candidate) < 64:
                raise ImageNotFound(f"image ID prefix {text!r} is ambiguous", image=text)
        try:
            ref = Reference.parse(text)
        except InvalidReference:
            raise ImageNotFound(f"no such image: {text}", image=text) from None
        key = ref.index_key
        found = index.digests.get(key) if ref.digest else index.tags.get(key)
        if found is None and ref.digest:
            # name@digest where digest is the image ID or a manifest we hold under another name
            for k, v in index.digests.items():
                if k.endswith(f"@{ref.digest}"):
                    found = v
                    break
        if found is None:
            raise ImageNotFound(f"no such image: {text}", image=text)
        return Digest.parse(found)
