"""make bench: measured figures for berth, beside their anchors when installed.

Writes bench/results.json and prints a table. Figures:
* pull_cold: ``berth pull`` of a ~330 MB (uncompressed), 3-layer image from a
  loopback registry into an empty store; median of N runs. Anchor: ``docker
  pull`` of the same image (needs a running Docker daemon), ratio berth/docker,
  the two in turn.
  Context (not an anchor): ``skopeo copy`` to a dir, i.e. download + verify
  with no extraction, a floor for any engine.
* pull_warm: the same pull again (everything present): the idempotent path (and docker's).
* cli_startup: ``berth --help``.
* build: a cold build and a no-change rebuild of a 5-step Dockerfile (``buildbench.py``). Anchor:
  ``docker build`` of the same context when a Docker daemon answers.
* run: ``run --rm busybox sh -c exit`` latency with ``--network none`` and the default network,
  and the monitor's PSS per running container (``runbench.py``; needs root, runc and conmon).
  Anchor: ``docker run --rm`` (and containerd-shim's PSS) when a Docker daemon answers.
* network: published-port throughput and connection rate (``netbench.py``). Anchor: the same
  against ``docker run -p`` when a Docker daemon answers.
* playbook: the 41-task playbook (1 network, 20 volumes, 20 containers) first converge,
  re-converge and check mode, beside 41 ``ansible.builtin.ping`` tasks (``playbench.py``). Anchor:
  the same playbook with community.docker when Docker and the collection are installed.

Anchors: ``bench/anchors.sh start`` (``anchor.py`` says where the bench looks); without them every
figure is still measured and the docker column says n/a. The load average is recorded around each
figure: the machine may be shared.

``BENCH_ONLY`` (comma-separated, from ``pull cli run network build playbook``) measures only those
figures, e.g. ``BENCH_ONLY=playbook make bench``; the default is all of them.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "runtime" / "tests"))
sys.path.insert(0, str(HERE))

import buildbench  # noqa: E402
import netbench  # noqa: E402
import playbench  # noqa: E402
import runbench  # noqa: E402
from anchor import docker_available, docker_note, row, use_bench_docker, versions  # noqa: E402
from imagegen import layer_tar  # noqa: E402
from registry_fixture import start_registry  # noqa: E402

BERTH = [sys.executable, "-m", "berth.cli.main"]
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
LAYER_BYTES = int(os.environ.get("BENCH_LAYER_MB", "110")) << 20
CACHE = Path(os.environ.get("BERTH_TEST_CACHE", Path.home() / ".cache" / "berth")) / "bench"
IMAGE = "bench/pull3:v1"
FIGURES = ("pull", "cli", "run", "network", "build", "playbook")
ONLY = [f.strip() for f in os.environ.get("BENCH_ONLY", "").split(",") if f.strip()]


def wanted(figure: str) -> bool:
    return not ONLY or figure in ONLY


def timed(cmd: list[str], **kw) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t0


def source_engine() -> Path:
    """A store holding the bench image, built once and cached."""
    from berth.engine import Engine

    root = CACHE / f"src-{LAYER_BYTES >> 20}"
    eng = Engine(root=root)
    try:
        eng.image_id(IMAGE)
        return root
    except Exception:
        pass
    shutil.rmtree(root, ignore_errors=True)
    from imagekit import make_image_from_tars

    tars = [layer_tar(seed=i + 1, total_bytes=LAYER_BYTES) for i in range(3)]
    make_image_from_tars(eng.store, IMAGE, tars, cmd=["/bin/sh"])
    return root


def with_busybox(bench):
    """``bench(path of a busybox rootfs tar)``, made for it and removed after."""
    with tempfile.TemporaryDirectory() as tmp:
        busybox = Path(tmp) / "busybox.tar"
        subprocess.run(["bash", str(REPO / "tests/images/busybox-rootfs.sh"), str(busybox)], check=True)
        return bench(busybox)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> int:
    unknown = sorted(set(ONLY) - set(FIGURES))
    if unknown:
        print(f"BENCH_ONLY: unknown figure(s) {', '.join(unknown)} (of {', '.join(FIGURES)})", file=sys.stderr)
        return 2
    use_bench_docker()
    # without bytecode caching every CLI call compiles each berth module that has no up-to-date
    # .pyc first (those being edited, new ones): it shows in every latency, and an installed
    # engine (pip compiles on install) does not pay it. The bench's own commands write them.
    inherited = os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    results: dict = {"machine": {"cpus": os.cpu_count(), "bytecode_cache": True,
                                 "PYTHONDONTWRITEBYTECODE_inherited": inherited,
                                 "load_start": load()}, "runs": RUNS, "load": {}, "anchors": versions(),
               "figures": [f for f in FIGURES if wanted(f)]}
    if wanted("pull"):
        pull_bench(results)
    if wanted("cli"):
        startup = [timed([str(REPO / ".venv/bin/berth"), "--help"]) for _ in range(5)]
        results["cli_startup_s"] = statistics.median(startup)
    failed = False
    tools = ("runc", "conmon", "busybox")
    skipped = None
    if os.geteuid() != 0 or not all(shutil.which(t) or os.access(f"/usr/sbin/{t}", os.X_OK) for t in tools):
        skipped = "needs root, runc, conmon and busybox"
    # each figure on its own: a failing one is written as its error, and the others still run
    figures = {"run": lambda: with_busybox(lambda bb: runbench.bench(bb, CACHE)),
               "network": netbench.bench,
               "build": lambda: with_busybox(lambda bb: buildbench.bench(BERTH, bb, RUNS, docker_available())),
               "playbook": lambda: with_busybox(lambda bb: playbench.bench(bb, RUNS))}
    for key, bench in figures.items():
        if not wanted(key):
            continue
        if skipped:
            results[key] = {"skipped": skipped}
            continue
        before = load()
        try:
            results[key] = bench()
        except Exception as exc:
            results[key] = {"error": f"{type(exc).__name__}: {exc}"}
            failed = True
        results["load"][key] = {"before": before, "after": load()}
    results["machine"]["load_end"] = load()

    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    for line in table(results):
        print(line)
    print(f"results: {HERE / 'results.json'}")
    return 1 if failed else 0


def pull_bench(results: dict) -> None:
    """pull_cold_s, pull_warm_s (and the image measured) into ``results``."""
    src = source_engine()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        reg = start_registry(tmp / "registry")
        try:
            ref = f"{reg.host}/{IMAGE}"
            subprocess.run([*BERTH, "--root", str(src), "tag", IMAGE, ref], check=True)
            subprocess.run([*BERTH, "--root", str(src), "push", "-q", ref], check=True, stdout=subprocess.DEVNULL)
            info = json.loads(subprocess.run([*BERTH, "--root", str(src), "image", "inspect", ref],
                                             check=True, capture_output=True).stdout)[0]
            results["image"] = {"ref": ref, "size": info["Size"], "layers": len(info["RootFS"]["Layers"])}

            docker = docker_available()
            cold: list[float] = []
            dk: list[float] = []

            def berth_pull(i: int) -> None:
                cold.append(timed([*BERTH, "--root", str(tmp / f"cold{i}"), "pull", "-q", ref]))

            def docker_pull(_: int) -> None:
                subprocess.run(["docker", "rmi", "-f", ref], capture_output=True)
                dk.append(timed(["docker", "pull", "-q", ref]))

            for i in range(RUNS):  # berth and docker in turn, alternating which goes first
                steps = [berth_pull, docker_pull] if docker else [berth_pull]
                for step in (steps if i % 2 == 0 else reversed(steps)):
                    step(i)
                if i < RUNS - 1:
                    shutil.rmtree(tmp / f"cold{i}")
            warm = [timed([*BERTH, "--root", str(tmp / f"cold{RUNS - 1}"), "pull", "-q", ref]) for _ in range(RUNS)]
            results["pull_cold_s"] = {"berth": statistics.median(cold), "all": cold}
            results["pull_warm_s"] = {"berth": statistics.median(warm), "all": warm}
            if docker:
                dwarm = [timed(["docker", "pull", "-q", ref]) for _ in range(RUNS)]
                subprocess.run(["docker", "rmi", "-f", ref], capture_output=True)
                results["pull_cold_s"].update(docker=statistics.median(dk), docker_all=dk,
                                              ratio_berth_docker=statistics.median(cold) / statistics.median(dk))
                results["pull_warm_s"].update(docker=statistics.median(dwarm), docker_all=dwarm,
                                              ratio_berth_docker=statistics.median(warm) / statistics.median(dwarm))
            else:
                results["pull_cold_s"]["docker"] = None
                results["pull_cold_s"]["note"] = docker_note()

            if shutil.which("skopeo"):
                sk = []
                for i in range(RUNS):
                    dest = tmp / f"skopeo{i}"
                    sk.append(timed(["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{ref}",
                                     f"dir:{dest}"]))
                    shutil.rmtree(dest)
                results["pull_cold_s"]["skopeo_dir_no_extract"] = statistics.median(sk)
        finally:
            reg.stop()


def table(results: dict) -> list[str]:
    rows = [f"{'figure':<34}{'berth':>10}{'docker':>10}{'ratio':>8}",
            f"load average (1, 5, 15 min) at start {results['machine']['load_start']}, "
            f"at end {results['machine']['load_end']}"]
    if "pull_cold_s" in results:
        pc, pw = results["pull_cold_s"], results["pull_warm_s"]
        rows.append(row(f"pull cold ({results['image']['size'] >> 20} MB, 3 layers) s", pc["berth"],
                        pc.get("docker"), pc.get("ratio_berth_docker"), ".2f"))
        if "skopeo_dir_no_extract" in pc:
            rows.append(f"{'  skopeo to dir (no extract) s':<34}{pc['skopeo_dir_no_extract']:>10.2f}")
        rows.append(row("pull warm (up to date) s", pw["berth"], pw.get("docker"), pw.get("ratio_berth_docker")))
        if pc.get("note"):
            rows.append(f"  {pc['note']}")
    if "cli_startup_s" in results:
        rows.append(f"{'berth --help s':<34}{results['cli_startup_s']:>10.3f}")
    for key, mod, present in (("run", runbench, "run_latency_s"), ("network", netbench, "berth"),
                              ("build", buildbench, "cold_s"), ("playbook", playbench, "berth")):
        fig = results.get(key)
        if fig is None:  # not measured (BENCH_ONLY)
            continue
        load_ = results["load"].get(key)
        rows.append(f"-- {key}" + (f" (load before {load_['before']}, after {load_['after']})" if load_ else ""))
        rows += mod.table(fig) if present in fig else [f"{key}: {fig.get('skipped') or fig.get('error')}"]
    return rows

if __name__ == "__main__":
    sys.exit(main())
