"""Where the bench finds its anchors (Docker, community.docker), set up by ``bench/anchors.sh``.

* Docker: ``DOCKER_HOST`` when set; otherwise the private socket ``anchors.sh start`` gives its
  dockerd (``/run/berth-bench-docker/docker.sock``), when it exists. ``use_bench_docker()`` puts
  that in ``os.environ`` so every ``docker`` command and community.docker module of the run uses it.
* community.docker: ``BERTH_BENCH_COLLECTIONS`` (a collections path), default
  ``$BERTH_TEST_CACHE/bench-collections`` (``~/.cache/berth/bench-collections``), when it holds
  ``ansible_collections/community/docker``.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path

BENCH_DOCKER_SOCK = Path("/run/berth-bench-docker/docker.sock")
NOT_INSTALLED = "anchor not installed (bench/anchors.sh start)"


def use_bench_docker() -> None:
    if "DOCKER_HOST" not in os.environ and BENCH_DOCKER_SOCK.is_socket():
        os.environ["DOCKER_HOST"] = f"unix://{BENCH_DOCKER_SOCK}"


@functools.cache
def docker_available() -> bool:
    """A docker CLI and a daemon that answers it."""
    use_bench_docker()
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def docker_note() -> str:
    if shutil.which("docker") is None:
        return f"docker: {NOT_INSTALLED}"
    host = os.environ.get("DOCKER_HOST", "-")
    return f"docker: {NOT_INSTALLED}: no daemon answers `docker info` (DOCKER_HOST={host})"


def collections_path() -> Path | None:
    cache = Path(os.environ.get("BERTH_TEST_CACHE", Path.home() / ".cache" / "berth"))
    path = Path(os.environ.get("BERTH_BENCH_COLLECTIONS", cache / "bench-collections"))
    return path if (path / "ansible_collections" / "community" / "docker").is_dir() else None


def versions() -> dict:
    """What the anchors are, for results.json."""
    docker = docker_available()
    out: dict = {"docker_host": os.environ.get("DOCKER_HOST"), "docker_server": None, "community.docker": None}
    if docker:
        out["docker_server"] = subprocess.run(["docker", "version", "-f", "{{.Server.Version}}"], capture_output=True,
                                              text=True).stdout.strip()
    path = collections_path()
    if path is not None:
        manifest = path / "ansible_collections" / "community" / "docker" / "MANIFEST.json"
        out["community.docker"] = json.loads(manifest.read_text())["collection_info"]["version"]
    return out


def pss_kib(pid: int) -> int:
    """Proportional set size of a process in KiB (``/proc/PID/smaps_rollup``)."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup")


def pids_with(comm: str, arg: str) -> list[int]:
    """Processes named ``comm`` with ``arg`` among their arguments."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if (d / "comm").read_text().strip() != comm:
                continue
            if arg in (d / "cmdline").read_bytes().decode(errors="replace").split("\0"):
                out.append(int(d.name))
        except OSError:
            continue
    return out


def row(label: str, berth: float, anchor: float | None = None, ratio: float | None = None, fmt: str = ".3f",
        goal: str = "") -> str:
    """A row of the bench table: figure, berth, anchor, ratio (``n/a`` where there is no anchor)."""
    cell = f"{anchor:>10{fmt}}" if anchor is not None else f"{'n/a':>10}"
    rcell = f"{ratio:>8.2f}" if ratio is not None else f"{'':>8}" if anchor is None else f"{'n/a':>8}"
    return f"{label:<34}{berth:>10{fmt}}{cell}{rcell}{'   ' + goal if goal else ''}".rstrip()
