"""docker-archive ``save`` / ``load`` and rootfs ``import``.

The functions are imported lazily, so ``import berth.archive`` costs nothing
until one of them is called (the CLI imports this module on every start-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from berth.archive.importer import import_rootfs
    from berth.archive.load import archive_images, load_archive
    from berth.archive.save import save_images

__all__ = ["archive_images", "import_rootfs", "load_archive", "save_images"]

_WHERE = {
    "archive_images": "berth.archive.load",
    "import_rootfs": "berth.archive.importer",
    "load_archive": "berth.archive.load",
    "save_images": "berth.archive.save",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'berth.archive' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
