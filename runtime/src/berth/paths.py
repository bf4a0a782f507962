"""Every on-disk location of an engine, derived from one root.

The default root (``/var/lib/berth``) keeps config in ``/etc/berth`` and
run state in ``/run/berth``, as a system service would; any other root keeps
everything beneath itself, so tests and simulated fleet hosts can run many
engines on one machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from berth.structs import dataclass

DEFAULT_ROOT = Path("/var/lib/berth")


@dataclass(frozen=True)
class Paths:
    root: Path
    config_dir: Path
    run_dir: Path

    @classmethod
    def for_root(cls, root: str | os.PathLike[str] | None = None) -> Paths:
        if root is None:
            root = os.environ.get("BERTH_ROOT") or DEFAULT_ROOT
        root = Path(root).absolute()
        if root == DEFAULT_ROOT:
            return cls(root, Path("/etc/berth"), Path("/run/berth"))
        return cls(root, root / "etc", root / "run")

    # -- configuration ----------------------------------------------------
    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.json"

    @property
    def auth_file(self) -> Path:
        """Docker-compatible credentials file (``{"auths": {...}}``), mode 0600."""
        return self.config_dir / "auth.json"

    @property
    def certs_dir(self) -> Path:
        """Per-registry CA certificates: ``certs.d/<host[:port]>/*.crt`` as in Docker."""
        return self.config_dir / "certs.d"

    # -- store ------------------------------------------------------------
    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @property
    def layers(self) -> Path:
        return self.root / "layers"

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def repositories_file(self) -> Path:
        return self.root / "repositories.json"

    @property
    def tmp(self) -> Path:
        """Staging area on the same filesystem as the store (renames are atomic)."""
        return self.root / "tmp"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def leases(self) -> Path:
        """Live operations' claims on blobs and layers (see store.gc)."""
        return self.root / "leases"
