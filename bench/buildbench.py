"""``berth build`` figures: a cold build and a no-change rebuild of a 5-step Dockerfile on busybox.

Cold: a fresh engine root (empty build cache) each run, the base image already imported. Rebuild:
the same build again (every step a cache hit): what a CI job pays when nothing changed. Anchor:
``docker build`` of the same context (classic builder), cold with ``--no-cache``, when a Docker
daemon answers; a round of each engine in turn, alternating which goes first.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from anchor import docker_note, row

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


def _timed(cmd: list[str], env: dict | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, check=False)
    took = time.perf_counter() - t0
    if proc.returncode:  # (docker's stderr is otherwise only the legacy builder's deprecation banner)
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return took


def bench(berth: list[str], busybox_tar: Path, runs: int, docker: bool) -> dict:
    """Rounds of: berth cold + rebuild, docker cold + rebuild (order alternating per round)."""
    from rtkit import isolated_engine

    out: dict = {"dockerfile_steps": 5}
    # the CLI's default is BuildKit (buildx, not installed here); berth implements the classic builder
    denv = {**os.environ, "DOCKER_BUILDKIT": "0"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        ctx = _context(tmp_path / "ctx")
        times: dict[str, dict[str, list[float]]] = {"berth": {"cold": [], "warm": []}}
        if docker:
            times["docker"] = {"cold": [], "warm": []}
            subprocess.run(["docker", "import", "-c", 'CMD ["sh"]', str(busybox_tar), "busybox"], check=True,
                           capture_output=True)

        def berth_round(i: int) -> None:
            engine = isolated_engine(tmp_path / f"root{i}")
            try:
                engine.import_image(busybox_tar, "busybox", changes=['CMD ["sh"]'])
                cmd = [*berth, "--root", str(engine.paths.root), "build", "-q", "-t", "bench/build", str(ctx)]
                times["berth"]["cold"].append(_timed(cmd))
                times["berth"]["warm"].append(_timed(cmd))
            finally:
                engine.networks.shutdown()

        def docker_round(_: int) -> None:
            cmd = ["docker", "build", "-q", "-t", "bench/build", str(ctx)]
            times["docker"]["cold"].append(_timed([*cmd[:3], "--no-cache", *cmd[3:]], env=denv))
            times["docker"]["warm"].append(_timed(cmd, env=denv))

        try:
            for i in range(runs):
                order = [berth_round, docker_round] if docker else [berth_round]
                for step in (order if i % 2 == 0 else reversed(order)):
                    step(i)
        finally:
            if docker:
                subprocess.run(["docker", "rmi", "-f", "bench/build", "busybox"], capture_output=True)
                subprocess.run(["docker", "image", "prune", "-f"], capture_output=True)
        for key, which in (("cold_s", "cold"), ("rebuild_s", "warm")):
            out[key] = {"berth": statistics.median(times["berth"][which]), "all": times["berth"][which]}
            if docker:
                out[key]["docker"] = statistics.median(times["docker"][which])
                out[key]["docker_all"] = times["docker"][which]
                out[key]["ratio_berth_docker"] = out[key]["berth"] / out[key]["docker"]
    if docker:
        out["docker_note"] = "docker build with DOCKER_BUILDKIT=0 (the classic builder, as berth's)"
    else:
        out["note"] = docker_note()
    return out


def table(res: dict) -> list[str]:
    rows = []
    for key, label in (("cold_s", "build cold (5 steps) s"), ("rebuild_s", "build no-change rebuild s")):
        fig = res[key]
        rows.append(row(label, fig["berth"], fig.get("docker"), fig.get("ratio_berth_docker"), ".2f"))
    for key in ("docker_note", "note"):
        if res.get(key):
            rows.append(f"  {res[key]}")
    return rows


if __name__ == "__main__":
    sys.exit("run through bench/run.py")
