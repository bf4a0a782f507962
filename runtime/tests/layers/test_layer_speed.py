"""Speed sanity check: extraction must not be pathologically slow (prints, never asserts speed)."""

from __future__ import annotations

import gzip
import io
import random
import tarfile
import time
from pathlib import Path

from berth.layers import extract_layer, write_layer_tar

FILES = 4000
TOTAL = 100 * 1024 * 1024


def _build_tar(path: Path) -> int:
    rng = random.Random(42)
    # alternating incompressible and text blocks: a realistic gzip ratio
    text = b"the quick brown fox jumps over the lazy dog\n" * 1490
    pool = b"".join(rng.randbytes(65536) + text[:65536] for _ in range(80))
    sizes = [rng.randint(1, 2 * TOTAL // FILES) for _ in range(FILES - 2)]
    sizes += [8 * 1024 * 1024, 4 * 1024 * 1024]  # a couple of big files too
    written = 0
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for i, size in enumerate(sizes):
            if i % 100 == 0:
                ti = tarfile.TarInfo(f"d{i // 100:03d}")
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            ti = tarfile.TarInfo(f"d{i // 100:03d}/f{i:05d}")
            ti.size, ti.mode = size, 0o644
            offset = rng.randrange(len(pool) - size)
            tf.addfile(ti, io.BytesIO(pool[offset:offset + size]))
            written += size
    return written


def test_extract_speed(tmp_path: Path) -> None:
    plain = tmp_path / "layer.tar"
    size = _build_tar(plain)
    gz = tmp_path / "layer.tar.gz"
    with open(plain, "rb") as src, gzip.open(gz, "wb", compresslevel=1) as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    results = []
    for label, path in (("plain", plain), ("gzip", gz)):
        dest = tmp_path / f"out-{label}"
        dest.mkdir()
        start = time.perf_counter()
        with open(path, "rb") as f:
            res = extract_layer(f, dest)
        elapsed = time.perf_counter() - start
        assert res.size == size and res.entries == FILES + (FILES - 1) // 100 + 1
        results.append(res.diff_id)
        print(f"\nextract {label}: {size / 2**20:.0f} MiB in {res.entries} entries, "
              f"{path.stat().st_size / 2**20:.0f} MiB input: {elapsed:.2f}s = {size / 2**20 / elapsed:.0f} MiB/s")
    assert results[0] == results[1]
    start = time.perf_counter()
    with open(tmp_path / "again.tar", "wb") as out:
        write_layer_tar(tmp_path / "out-plain", out)
    elapsed = time.perf_counter() - start
    print(f"write_layer_tar: {size / 2**20:.0f} MiB in {elapsed:.2f}s = {size / 2**20 / elapsed:.0f} MiB/s")
