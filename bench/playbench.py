"""The 41-task playbook (issue 7): 1 network, 20 volumes, 20 containers (each on the network,
with its volume mounted), on localhost with the local connection.

Figures, each the median of ``runs`` ``ansible-playbook`` runs (wall time of the whole run):
* ``first``: converge on an empty engine root (every resource created; containers started);
* ``again``: the idempotent re-converge (must report changed=0);
* ``check``: the same playbook with ``--check`` on the converged host;
* ``ping``: 41 ``ansible.builtin.ping`` tasks, the floor (what Ansible itself costs per task),
  run right after each ``again``.
The goal of the issue: ``again`` <= 1.15x ``ping``. Beside the wall times, each run's CPU time
(user + system of ``ansible-playbook`` and everything it started: ``*_cpu``): on a shared machine
other load stretches wall times far more than CPU times, so the CPU ratios say what a wall ratio
taken under load cannot. With Docker and community.docker installed
(``bench/anchors.sh start``; the collection is looked for where ``anchor.collections_path`` says),
the same playbook written for community.docker is measured the same way, in the same rounds
(anchor: ``again`` <= 0.8x and ``first`` <= 0.7x community.docker's).
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import typing
from pathlib import Path

from anchor import NOT_INSTALLED, collections_path, docker_available, docker_note, row

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
COUNT = 20
# no host route covers them (the tests use 10.250-10.252); Docker's (bench/anchors.sh) is its own
SUBNET = {"berth": "10.253.77.0/24", "docker": "10.253.81.0/24"}


def tasks(kind: str, image: str) -> list[dict]:
    """The 41 tasks, for ``berth`` (berth.core) or ``docker`` (community.docker)."""
    ns = "berth.core" if kind == "berth" else "community.docker"
    prefix = "" if kind == "berth" else "docker_"
    network = {"name": "benchnet", "ipam_config": [{"subnet": SUBNET[kind]}]}
    out = [{"name": "network", f"{ns}.{prefix}network": network}]
    out += [{"name": f"volume {i}", f"{ns}.{prefix}volume": {"name": f"benchvol{i}"}} for i in range(COUNT)]
    out += [{"name": f"container {i}", f"{ns}.{prefix}container": {
        "name": f"bench{i}", "image": image, "command": ["sleep", "3600"], "state": "started",
        "volumes": [f"benchvol{i}:/data"], "networks": [{"name": "benchnet"}], "restart_policy": "no"}}
        for i in range(COUNT)]
    return out


def write_play(path: Path, task_list: list[dict]) -> Path:
    path.write_text(json.dumps([{"name": "bench", "hosts": "all", "gather_facts": False, "tasks": task_list}]))
    return path


class Run(typing.NamedTuple):
    """One ``ansible-playbook`` run: wall time, CPU time (user + system, its whole process tree), output."""

    wall: float
    cpu: float
    stdout: str


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def play(inventory: Path, playbook: Path, env: dict, *extra: str) -> Run:
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run([str(PLAYBOOK), "-i", str(inventory), str(playbook), *extra], capture_output=True,
                          text=True, env=env, check=False)
    took, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if proc.returncode != 0:
        raise RuntimeError(f"{playbook.name} {' '.join(extra)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return Run(took, cpu, proc.stdout)


def recap_changed(output: str) -> int:
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output))


class Contestant:
    """One engine's playbook: its inventory, environment and reset (empty the host of its resources)."""

    def __init__(self, inventory: Path, playbook: Path, env: dict, reset) -> None:
        self.inventory, self.playbook, self.env, self.reset = inventory, playbook, env, reset
        self.runs: dict[str, list[Run]] = {"first": [], "again": [], "check": []}

    def round(self, after_again=None) -> None:
        self.reset()
        self.runs["first"].append(play(self.inventory, self.playbook, self.env))
        again = play(self.inventory, self.playbook, self.env)
        if recap_changed(again.stdout):
            raise RuntimeError(f"{self.playbook.name}: re-converge reported changes:\n{again.stdout[-3000:]}")
        self.runs["again"].append(again)
        if after_again:
            after_again()
        self.runs["check"].append(play(self.inventory, self.playbook, self.env, "--check"))

    @property
    def times(self) -> dict[str, list[float]]:
        return {k: [r.wall for r in v] for k, v in self.runs.items()}

    @property
    def cpu(self) -> dict[str, list[float]]:
        return {k: [r.cpu for r in v] for k, v in self.runs.items()}

    def figures(self) -> dict:
        return {**{f"{k}_s": statistics.median(v) for k, v in self.times.items()},
                **{f"{k}_cpu_s": statistics.median(v) for k, v in self.cpu.items()},
                "all": self.times, "all_cpu": self.cpu}


def bench(busybox_tar: Path, runs: int) -> dict:
    """Rounds of: berth's playbook (first, again, the ping floor right after again, check) and,
    when installed, community.docker's, the engines in alternating order (ABBA...) so other load
    on the machine hits all of them alike. Figures: the median over the rounds; ratios: of the
    medians, and (``*_rounds``) each round's own, which shows how much the load moved them."""
    from berth.engine import Engine

    with tempfile.TemporaryDirectory(prefix="playbench-") as tmp:
        tmp = Path(tmp)
        root = tmp / "root"
        (root / "etc").mkdir(parents=True)
        (root / "etc" / "config.json").write_text(json.dumps({"bridge": "bbench0", "bip": "10.253.76.1/24"}))
        collections = tmp / "collections"
        (collections / "ansible_collections" / "berth").mkdir(parents=True)
        (collections / "ansible_collections" / "berth" / "core").symlink_to(REPO)
        inventory = tmp / "inventory.ini"
        inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable} "
                             f"berth_python={sys.executable} berth_root={root}\n")
        env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_NOCOLOR": "1",
               "ANSIBLE_HOME": str(tmp / "ansible-home"), "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp")}
        env.pop("BERTH_ROOT", None)
        engine = Engine(root=root)
        engine.import_image(busybox_tar, "busybox:bench")

        def reset() -> None:
            for row in engine.containers(all=True):
                engine.remove_container(row["Id"], force=True)
            for i in range(COUNT):
                if (root / "volumes" / f"benchvol{i}").exists():
                    engine.volumes.remove(f"benchvol{i}")
            if any(n.Name == "benchnet" for n in engine.networks.store.list()):
                engine.networks.remove_network("benchnet")

        ping = write_play(tmp / "ping.json", [{"name": f"ping {i}", "ansible.builtin.ping": {}} for i in range(41)])
        engines = {"berth": Contestant(inventory, write_play(tmp / "berth.json", tasks("berth", "busybox:bench")),
                                       env, reset)}
        out: dict = {"tasks": 41, "runs": runs}
        docker = _docker(tmp, env, busybox_tar)
        if isinstance(docker, Contestant):
            engines["community.docker"] = docker
        else:
            out["community.docker"] = {"skipped": docker}
        pings: list[Run] = []
        try:
            for i in range(runs):
                for name in (list(engines) if i % 2 == 0 else list(reversed(engines))):
                    engines[name].round((lambda: pings.append(play(inventory, ping, env))) if name == "berth"
                                        else None)
        finally:
            reset()
            engine.networks.shutdown()
            if "community.docker" in engines:
                engines["community.docker"].reset()
                subprocess.run(["docker", "rmi", "-f", "busybox:bench"], capture_output=True)
        ping_wall, ping_cpu = [r.wall for r in pings], [r.cpu for r in pings]
        out["ping_s"] = statistics.median(ping_wall)
        out["ping_all"] = ping_wall
        out["ping_cpu_s"] = statistics.median(ping_cpu)
        out["ping_all_cpu"] = ping_cpu
        for name, contestant in engines.items():
            out[name] = contestant.figures()
        bt, bc = engines["berth"].times, engines["berth"].cpu
        for key in ("again", "check"):
            out[f"ratio_{key}_ping"] = out["berth"][f"{key}_s"] / out["ping_s"]
            out[f"ratio_{key}_ping_rounds"] = [a / p for a, p in zip(bt[key], ping_wall, strict=True)]
            out[f"ratio_{key}_ping_cpu"] = out["berth"][f"{key}_cpu_s"] / out["ping_cpu_s"]
            out[f"ratio_{key}_ping_cpu_rounds"] = [a / p for a, p in zip(bc[key], ping_cpu, strict=True)]
        if "community.docker" in engines:
            dt = engines["community.docker"].times
            for key in ("first", "again", "check"):
                out[f"ratio_{key}_docker"] = out["berth"][f"{key}_s"] / out["community.docker"][f"{key}_s"]
                out[f"ratio_{key}_docker_rounds"] = [b / d for b, d in zip(bt[key], dt[key], strict=True)]
        return out


def _docker(tmp: Path, env: dict, busybox_tar: Path) -> Contestant | str:
    """The same playbook with community.docker against the Docker daemon, when both are there
    (else why not)."""
    if not docker_available():
        return docker_note()
    anchor_collections = collections_path()
    if anchor_collections is None:
        return f"community.docker: {NOT_INSTALLED}"
    env = {**env, "ANSIBLE_COLLECTIONS_PATH": f"{env['ANSIBLE_COLLECTIONS_PATH']}:{anchor_collections}"}
    if "DOCKER_HOST" in os.environ:  # docker_available() may have set it: the bench's own dockerd
        env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    doc = subprocess.run([str(PLAYBOOK.parent / "ansible-doc"), "-l", "community.docker"], capture_output=True,
                         text=True, env=env)
    if "docker_container" not in doc.stdout:
        return f"community.docker: ansible-doc does not list it in {anchor_collections}"
    subprocess.run(["docker", "import", str(busybox_tar), "busybox:bench"], check=True, stdout=subprocess.DEVNULL)
    inventory = tmp / "docker-inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")

    def reset() -> None:
        subprocess.run(["docker", "rm", "-f", *[f"bench{i}" for i in range(COUNT)]], capture_output=True)
        subprocess.run(["docker", "volume", "rm", *[f"benchvol{i}" for i in range(COUNT)]], capture_output=True)
        subprocess.run(["docker", "network", "rm", "benchnet"], capture_output=True)

    return Contestant(inventory, write_play(tmp / "docker.json", tasks("docker", "busybox:bench")), env, reset)


def table(result: dict) -> list[str]:
    b = result["berth"]
    d = result["community.docker"]
    rows = [f"{'41-task playbook: ping floor s':<34}{result['ping_s']:>10.2f}",
            "  (docker column: community.docker)"]
    goals = {"first": "goal <= 0.7", "again": "goal <= 0.8"}

    def spread(key: str) -> str:
        ratios = result.get(f"ratio_{key}_rounds")
        return f"rounds {min(ratios):.2f}-{max(ratios):.2f}" if ratios else ""

    for key, label in (("first", "first converge"), ("again", "re-converge (no change)"), ("check", "check mode")):
        anchor = d.get(f"{key}_s")
        notes = ", ".join(x for x in (goals.get(key, ""), spread(f"{key}_docker")) if x) if anchor else ""
        rows.append(row(f"  {label} s", b[f"{key}_s"], anchor, anchor and b[f"{key}_s"] / anchor, ".2f",
                        f"({notes})" if notes else ""))
    rows.append(f"{'  re-converge / ping':<34}{result['ratio_again_ping']:>10.2f}   "
                f"(goal <= 1.15, {spread('again_ping')})")
    rows.append(f"{'  check mode / ping':<34}{result['ratio_check_ping']:>10.2f}   ({spread('check_ping')})")
    if "ratio_again_ping_cpu" in result:
        rows.append(f"{'  CPU: re-converge / ping':<34}{result['ratio_again_ping_cpu']:>10.2f}   "
                    f"({spread('again_ping_cpu')}; ping {result['ping_cpu_s']:.2f} s)")
        rows.append(f"{'  CPU: check mode / ping':<34}{result['ratio_check_ping_cpu']:>10.2f}   "
                    f"({spread('check_ping_cpu')})")
    if d.get("skipped"):
        rows.append(f"  {d['skipped']}")
    return rows


if __name__ == "__main__":
    busybox = Path(tempfile.mkdtemp()) / "busybox.tar"
    subprocess.run(["bash", str(REPO / "tests/images/busybox-rootfs.sh"), str(busybox)], check=True)
    result = bench(busybox, int(os.environ.get("BENCH_RUNS", "3")))
    print(json.dumps(result, indent=2))
    print("\n".join(table(result)))
