"""Content-addressed image store: blobs, unpacked layers, records, GC, fsck."""

from __future__ import annotations

from berth.store.records import ImageRecord, LayerRef
from berth.store.store import GCResult, Store

__all__ = ["GCResult", "ImageRecord", "LayerRef", "Store"]
