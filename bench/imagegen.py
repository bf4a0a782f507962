"""Deterministic synthetic image content for benchmarks.

Real images mix many small files with a few large ones and compress about
2-3x; the generator mimics that with a seeded RNG, so every run (and every
machine) benchmarks the same bytes.
"""

from __future__ import annotations

import io
import random
import tarfile

_TEXT = (b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
         b"ut labore et dolore magna aliqua /usr/lib/x86_64-linux-gnu/libc.so.6 GLIBC_2.34 \n")


def _content(rng: random.Random, size: int) -> bytes:
    # half incompressible, half text: gzip gets ~2x, like binaries + docs
    half = size // 2
    text = (_TEXT * (half // len(_TEXT) + 1))[:half]
    return rng.randbytes(size - half) + text


def layer_tar(seed: int, total_bytes: int) -> bytes:
    """A plain tar of ~total_bytes: many small files and a few big ones."""
    rng = random.Random(seed)
    buf = io.BytesIO()
    written = 0
    n = 0
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        while written < total_bytes:
            big = n % 200 == 0
            size = rng.randint(2 << 20, 12 << 20) if big else int(rng.lognormvariate(8.5, 1.5)) % (256 << 10)
            size = min(size, total_bytes - written) or 1
            d = f"usr/lib/pkg{seed}/d{n // 100:04d}"
            if n % 100 == 0:
                info = tarfile.TarInfo(d)
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                info.mtime = 1_700_000_000
                tar.addfile(info)
            info = tarfile.TarInfo(f"{d}/f{n:06d}.bin")
            info.size = size
            info.mode = 0o644
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(_content(rng, size)))
            written += size
            n += 1
    return buf.getvalue()
