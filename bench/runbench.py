"""Container run figures of ``make bench`` (issue 4), called from ``run.py``.

* ``run_latency_s``: wall time of ``berth run --rm busybox sh -c exit``, with ``--network none``
  and with the default network (a bridge of the bench's own); median of max(BENCH_RUNS, 11) after
  one warm-up run of each. ``berth`` is the engine as the engine role installs it on a host
  (``installed.py``: Debian's python3, a regular install); ``berth_dev`` is the repository's
  ``.venv`` (editable, on the interpreter ``make venv`` used), for context. Anchor: ``docker run
  --rm`` of the same image, when a Docker daemon answers; the commands alternate (forward, then
  backward) so a burst of other work on the machine hits all alike. Goal: berth <= 0.5x docker.
* ``runtime_floor_s``: for context, what the OCI runtime alone takes for the same command: ``runc
  run`` of the spec berth gives the container (``berth_spec``: seccomp, capabilities, masked
  paths, its own empty network namespace), on a copy of the busybox rootfs, no monitor; a
  foreground run deletes the container at exit; median of the same count. Docker and berth both
  pay at least this (each runs Debian's runc), so a ratio goal below ``floor / docker`` cannot be
  met by any engine built on it.
* ``monitor_pss_kib``: the proportional set size of the monitor (conmon) of each of
  ``MONITORS`` running containers, the mean and the largest. Goal: <= 2 MiB per container. For
  context: Docker's per-container monitor (containerd-shim-runc-v2) the same way.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from anchor import docker_available, docker_note, pids_with, pss_kib, row
from installed import installed_berth

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# the `berth` command users run (the console script beside the interpreter), not `python -m`: its entry
# point is what exits without the interpreter's teardown
_SCRIPT = Path(sys.executable).parent / "berth"
BERTH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "berth.cli.main"]
RUNS = max(int(os.environ.get("BENCH_RUNS", "3")), 11)
MONITORS = 5
DOCKER_IMAGE = "berth-bench/busybox:latest"
CMD = ["sh", "-c", "exit"]
NETWORKS = {"network_none": ["--network", "none"], "default_network": []}


def _time(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def latency(berths: dict[str, list[str]], docker: bool) -> dict:
    """``{network: {"berth": {...}, "berth_dev": {...}, "docker": {...}|None, "ratio_...": ...}}``;
    ``berths``: the command of each berth measured (``berth``, and ``berth_dev`` if given)."""
    out = {}
    for net, flags in NETWORKS.items():
        cmds = {k: [*berth, "run", "--rm", *flags, "busybox", *CMD] for k, berth in berths.items()}
        if docker:
            cmds["docker"] = ["docker", "run", "--rm", *flags, DOCKER_IMAGE, *CMD]
        times: dict[str, list[float]] = {k: [] for k in cmds}
        for cmd in cmds.values():  # warm-up: bridge, firewall, page cache
            _time(cmd)
        for i in range(RUNS):
            order = list(cmds) if i % 2 == 0 else list(reversed(cmds))
            for k in order:
                times[k].append(_time(cmds[k]))
        fig: dict = {k: {"median": statistics.median(v), "all": v} for k, v in times.items()}
        fig.setdefault("docker", None)
        if docker:
            fig["ratio_berth_docker"] = fig["berth"]["median"] / fig["docker"]["median"]
            if "berth_dev" in fig:
                fig["ratio_berth_dev_docker"] = fig["berth_dev"]["median"] / fig["docker"]["median"]
        out[net] = fig
    return out


def runtime_floor(engine: Any, busybox_tar: Path, tmp: Path) -> dict:
    bundle = tmp / "floor"
    (bundle / "rootfs").mkdir(parents=True)
    subprocess.run(["tar", "-xf", str(busybox_tar), "-C", str(bundle / "rootfs")], check=True)
    (bundle / "config.json").write_text(json.dumps(berth_spec(engine, bundle)))
    state = tmp / "floor-state"
    times = []
    for i in range(RUNS + 1):  # the first one warms the page cache and is dropped
        name = f"berth-bench-floor-{os.getpid()}-{i}"
        t0 = time.perf_counter()
        # a foreground `runc run` deletes the container itself when its process exits
        subprocess.run(["runc", "--root", str(state), "run", "--bundle", str(bundle), name], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return {"median": statistics.median(times[1:]), "all": times[1:]}


def berth_spec(engine: Any, bundle: Path) -> dict:
    """The OCI spec berth gives ``run --network none busybox`` (Docker's capabilities, masked paths,
    seccomp profile, cgroup), made to run alone from ``bundle``: its rootfs, its own copies of the
    /etc files, runc's default cgroup path. ``runc spec``'s default has no seccomp filter and few
    mounts, and read ~15 ms below what any Docker-like container costs."""
    from berth.containers.spec import ContainerSpec
    from berth.engine.container_ops import runtime_context

    cid = engine.create_container(ContainerSpec(image="busybox", command=("sleep", "60"), network="none"))
    try:
        engine.start(cid)
        spec = json.loads((runtime_context(engine).bundle(cid) / "config.json").read_text())
    finally:
        engine.remove_container(cid, force=True)
    spec["root"] = {"path": str(bundle / "rootfs"), "readonly": False}
    spec["process"].update(terminal=False, args=CMD)
    spec["linux"].pop("cgroupsPath", None)
    for m in spec["mounts"]:
        if m["destination"] in ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf"):  # files of the record
            m["source"] = str(bundle / Path(m["destination"]).name)
            Path(m["source"]).write_text("")
    return spec


def _pss(pids: list[int], n: int, what: str) -> dict:
    if len(pids) != n:
        raise RuntimeError(f"found {len(pids)} {what} processes for {n} containers")
    kib = [pss_kib(p) for p in pids]
    return {"mean": statistics.mean(kib), "max": max(kib), "all": kib}


def monitors_berth(berth: list[str]) -> dict:
    ids = []
    try:
        for i in range(MONITORS):
            ids.append(subprocess.run([*berth, "run", "-d", "--network", "none", "--name", f"pss{i}", "busybox",
                                       "sleep", "3600"], check=True, capture_output=True, text=True).stdout.strip())
        time.sleep(1)
        return _pss([p for cid in ids for p in pids_with("conmon", cid)], MONITORS, "conmon")
    finally:
        subprocess.run([*berth, "rm", "-f", *[f"pss{i}" for i in range(MONITORS)]], capture_output=True)


def monitors_docker() -> dict:
    names = [f"berth-bench-pss{os.getpid()}-{i}" for i in range(MONITORS)]
    try:
        ids = [subprocess.run(["docker", "run", "-d", "--network", "none", "--name", name, DOCKER_IMAGE,
                               "sleep", "3600"], check=True, capture_output=True, text=True).stdout.strip()
               for name in names]
        time.sleep(1)
        return _pss([p for cid in ids for p in pids_with("containerd-shim", cid)], MONITORS, "containerd-shim")
    finally:
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True)


def bench(busybox_tar: Path, cache: Path) -> dict:
    sys.path.insert(0, str(REPO / "runtime" / "tests"))
    from rtkit import isolated_network_config

    from berth.engine import Engine

    docker = docker_available()
    out: dict = {"runs": RUNS, "command": CMD, "monitors": MONITORS}
    try:
        installed = [str(installed_berth(cache))]
        out["berth"] = f"{installed[0]} (as the engine role installs it)"
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        installed = None
        out["berth"] = f"{BERTH[0]} (the dev venv: no engine as the role installs it: {exc})"
    with tempfile.TemporaryDirectory(prefix="berth-runbench-") as tmp:
        root = Path(tmp) / "root"
        isolated_network_config(root)
        engine = Engine(root=root)
        engine.import_image(busybox_tar, "busybox")
        berth = [*BERTH, "--root", str(root)]
        if docker:
            subprocess.run(["docker", "import", str(busybox_tar), DOCKER_IMAGE], check=True, stdout=subprocess.DEVNULL)
        try:
            variants = {"berth": berth}
            if installed:
                variants = {"berth": [*installed, "--root", str(root)], "berth_dev": berth}
            out["run_latency_s"] = latency(variants, docker)
            out["runtime_floor_s"] = runtime_floor(engine, busybox_tar, Path(tmp))
            out["monitor_pss_kib"] = {"berth": monitors_berth(berth),
                                      "docker": monitors_docker() if docker else None}
        finally:
            for row in engine.containers(all=True):
                engine.remove_container(row["Id"], force=True)
            engine.networks.shutdown()
            if docker:
                subprocess.run(["docker", "rmi", "-f", DOCKER_IMAGE], capture_output=True)
    if not docker:
        out["note"] = docker_note()
    return out


def table(res: dict) -> list[str]:
    rows = []
    for net, label in (("network_none", "run --rm --network none s"), ("default_network", "run --rm (default net) s")):
        fig = res["run_latency_s"][net]
        rows.append(row(label, fig["berth"]["median"], (fig.get("docker") or {}).get("median"),
                        fig.get("ratio_berth_docker"), ".3f", "(goal <= 0.5; berth as the role installs it)"))
        if fig.get("berth_dev"):
            rows.append(row("  same, dev venv s", fig["berth_dev"]["median"], (fig.get("docker") or {}).get("median"),
                            fig.get("ratio_berth_dev_docker"), ".3f", "(.venv: editable, make venv's python)"))
    floor = res.get("runtime_floor_s")
    if floor:
        docker = (res["run_latency_s"]["network_none"].get("docker") or {}).get("median")
        rows.append(row("  floor: runc run of berth's spec s", floor["median"], docker,
                        docker and floor["median"] / docker, ".3f", "(no engine can go below this)"))
    pss = res["monitor_pss_kib"]
    dk = pss.get("docker")
    rows.append(row("monitor PSS per container MiB", pss["berth"]["mean"] / 1024, dk and dk["mean"] / 1024,
                    dk and pss["berth"]["mean"] / dk["mean"],
                    ".2f", f"(goal <= 2; largest {pss['berth']['max'] / 1024:.2f}; docker: containerd-shim)"))
    if res.get("note"):
        rows.append(f"  {res['note']}")
    return rows


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as t:
        tar = Path(t) / "busybox.tar"
        subprocess.run(["bash", str(REPO / "tests/images/busybox-rootfs.sh"), str(tar)], check=True)
        sys.path.insert(0, str(REPO / "tests"))
        from installkit import cache_dir  # $BERTH_TEST_CACHE, as run.py's cache

        result = bench(tar, cache_dir() / "bench")
    print(json.dumps(result, indent=2))
    print("\n".join(table(result)))
