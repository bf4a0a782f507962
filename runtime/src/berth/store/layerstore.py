"""Unpacked layers, one directory per diff ID, shared by every image.

``layers/<hex>/diff`` is an overlayfs lower dir (whiteouts as 0/0 char
devices, opaque dirs as xattrs), so a container's rootfs is one overlay mount
of its image's layer dirs; nothing is copied per container.
A layer is unpacked into a temp dir and renamed into place when complete, so
a half-unpacked layer is never visible under ``layers/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from berth.errors import ArchiveError, DigestMismatch, StoreError, UnsafeLayer
from berth.fsutil import atomic_write_json, fsync_dir, read_json, rmtree
from berth.paths import Paths
from berth.reference import Digest
from berth.store.blobs import temp_name


class LayerStore:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    def dir(self, diff_id: Digest) -> Path:
        return self.paths.layers / diff_id.hex

    def diff_dir(self, diff_id: Digest) -> Path:
        return self.dir(diff_id) / "diff"

    def has(self, diff_id: Digest) -> bool:
        return (self.dir(diff_id) / "meta.json").is_file()

    def size(self, diff_id: Digest) -> int:
        meta = read_json(self.dir(diff_id) / "meta.json", default={}) or {}
        return int(meta.get("size", 0))

    def unpack(self, diff_id: Digest, stream: BinaryIO) -> None:
        """Extract a (compressed or plain) layer tar; verify it hashes to ``diff_id``."""

        def extract(dest: Path) -> tuple[Digest, int]:
            from berth.layers import extract_layer  # lazy: tarfile & co. only when unpacking

            result = extract_layer(stream, dest)
            return result.diff_id, result.size

        self._unpack(diff_id, extract)

    def unpack_file(self, diff_id: Digest, blob: Path) -> None:
        """Like ``unpack`` but in a child process, so several layers extract on several cores."""

        def extract(dest: Path) -> tuple[Digest, int]:
            proc = subprocess.run(
                [sys.executable, "-m", "berth.layers", str(blob), str(dest)], capture_output=True, text=True,
                env={**os.environ, "BERTH_LAYERS_PARENT": str(os.getpid())},
            )
            try:
                out = json.loads(proc.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                raise StoreError(
                    f"layer extraction of {diff_id} failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}"
                ) from None
            if "error" in out:
                raise (UnsafeLayer if out["error"] == "UnsafeLayer" else ArchiveError)(out["message"])
            return Digest.parse(out["diff_id"]), int(out["size"])

        self._unpack(diff_id, extract)

    def _unpack(self, diff_id: Digest, extract: Callable[[Path], tuple[Digest, int]]) -> None:
        if self.has(diff_id):
            return
        self.paths.tmp.mkdir(parents=True, exist_ok=True)
        tmp = self.paths.tmp / temp_name("layer")
        try:
            (tmp / "diff").mkdir(parents=True)
            actual, size = extract(tmp / "diff")
            if actual != diff_id:
                raise DigestMismatch(str(diff_id), str(actual), what="layer diff_id")
            atomic_write_json(tmp / "meta.json", {"diff_id": str(diff_id), "size": size})
            self.paths.layers.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(tmp, self.dir(diff_id))
            except OSError:
                if not self.has(diff_id):  # not a lost race with a concurrent unpack
                    raise
            else:
                fsync_dir(self.paths.layers)
        finally:
            if tmp.exists():
                rmtree(tmp)

    def delete(self, diff_id: Digest) -> None:
        path = self.dir(diff_id)
        if not path.exists():
            return
        # Rename first so a crash mid-delete leaves a temp dir, not a half layer.
        self.paths.tmp.mkdir(parents=True, exist_ok=True)
        doomed = self.paths.tmp / temp_name("deleted-layer")
        os.rename(path, doomed)
        rmtree(doomed)

    def __iter__(self) -> Iterator[Digest]:
        if not self.paths.layers.is_dir():
            return
        for entry in self.paths.layers.iterdir():
            try:
                yield Digest.parse(f"sha256:{entry.name}")
            except ValueError:
                continue
