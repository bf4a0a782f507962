"""Content-addressed image store: blobs, unpacked layers, records, GC, fsck."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from berth.store.records import ImageRecord, LayerRef
    from berth.store.store import GCResult, Store

__all__ = ["GCResult", "ImageRecord", "LayerRef", "Store"]


def __getattr__(name: str):
    """The package's names, imported on first use: importing one submodule (``berth.store.images``
    to resolve a name, ``berth.store.blobs`` for a temp name) does not import the whole store,
    which a no-change Ansible task would pay for (DESIGN, budgets)."""
    if name in ("ImageRecord", "LayerRef"):
        from berth.store import records

        return getattr(records, name)
    if name in ("GCResult", "Store"):
        from berth.store import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
