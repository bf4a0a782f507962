"""``berth build`` figures: a cold build and a no-change rebuild of a 5-step Dockerfile on busybox.

Cold: a fresh engine root (empty build cache) each run, the base image already imported. Rebuild:
the same build again (every step a cache hit): what a CI job pays when nothing changed. Anchor:
``docker build`` of the same context, cold with ``--no-cache``, when a Docker daemon answers.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCKERFILE = """\
FROM busybox
ENV APP_HOME=/app
COPY . /app
RUN cd /app && sha256sum data.bin > data.sum && echo built > stamp
CMD ["cat", "/app/stamp"]
"""


def _context(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Dockerfile").write_text(DOCKERFILE)
    (directory / "data.bin").write_bytes(bytes(range(256)) * 4096 * 8)  # 8 MiB
    for i in range(50):
        (directory / f"src{i}.txt").write_text(f"file {i}\n" * 100)
    return directory


def _timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def bench(berth: list[str], busybox_tar: Path, runs: int, docker: bool) -> dict:
    from rtkit import isolated_engine

    out: dict = {"dockerfile_steps": 5}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        ctx = _context(tmp_path / "ctx")
        cold, warm = [], []
        for i in range(runs):
            engine = isolated_engine(tmp_path / f"root{i}")
            try:
                engine.import_image(busybox_tar, "busybox", changes=['CMD ["sh"]'])
                cmd = [*berth, "--root", str(engine.paths.root), "build", "-q", "-t", "bench/build", str(ctx)]
                cold.append(_timed(cmd))
                warm.append(_timed(cmd))
            finally:
                engine.networks.shutdown()
        out["cold_s"] = {"berth": statistics.median(cold), "all": cold}
        out["rebuild_s"] = {"berth": statistics.median(warm), "all": warm}
        if docker:
            subprocess.run(["docker", "import", str(busybox_tar), "busybox"], check=True, capture_output=True)
            dcold = [_timed(["docker", "build", "-q", "--no-cache", "-t", "bench/build", str(ctx)])
                     for _ in range(runs)]
            dwarm = [_timed(["docker", "build", "-q", "-t", "bench/build", str(ctx)]) for _ in range(runs)]
            for key, values in (("cold_s", dcold), ("rebuild_s", dwarm)):
                out[key]["docker"] = statistics.median(values)
                out[key]["ratio_berth_docker"] = out[key]["berth"] / out[key]["docker"]
    return out


def table(res: dict) -> list[str]:
    rows = []
    for key, label in (("cold_s", "build cold (5 steps) s"), ("rebuild_s", "build no-change rebuild s")):
        fig = res[key]
        docker = fig.get("docker")
        rows.append(f"{label:<34}{fig['berth']:>10.2f}{(docker or float('nan')):>10.2f}"
                    f"{(fig.get('ratio_berth_docker') or float('nan')):>8.2f}")
    return rows


if __name__ == "__main__":
    sys.exit("run through bench/run.py")
