"""The 41-task playbook (issue 7): 1 network, 20 volumes, 20 containers (each on the network,
with its volume mounted), on localhost with the local connection.

Figures, each the median of ``runs`` ``ansible-playbook`` runs (wall time of the whole run):
* ``first``: converge on an empty engine root (every resource created; containers started);
* ``again``: the idempotent re-converge (must report changed=0);
* ``check``: the same playbook with ``--check`` on the converged host;
* ``ping``: 41 ``ansible.builtin.ping`` tasks, the floor (what Ansible itself costs per task).
The goal of the issue: ``again`` <= 1.15x ``ping``. With Docker and community.docker installed,
the same playbook written for community.docker is measured the same way (anchor: ``again`` <=
0.8x and ``first`` <= 0.7x community.docker's).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
COUNT = 20
SUBNET = "10.253.77.0/24"  # no host route covers it (the tests use 10.250-10.252)


def tasks(kind: str, image: str) -> list[dict]:
    """The 41 tasks, for ``berth`` (berth.core) or ``docker`` (community.docker)."""
    ns = "berth.core" if kind == "berth" else "community.docker"
    prefix = "" if kind == "berth" else "docker_"
    out = [{"name": "network", f"{ns}.{prefix}network": {"name": "benchnet", "ipam_config": [{"subnet": SUBNET}]}}]
    out += [{"name": f"volume {i}", f"{ns}.{prefix}volume": {"name": f"benchvol{i}"}} for i in range(COUNT)]
    out += [{"name": f"container {i}", f"{ns}.{prefix}container": {
        "name": f"bench{i}", "image": image, "command": ["sleep", "3600"], "state": "started",
        "volumes": [f"benchvol{i}:/data"], "networks": [{"name": "benchnet"}], "restart_policy": "no"}}
        for i in range(COUNT)]
    return out


def write_play(path: Path, task_list: list[dict]) -> Path:
    path.write_text(json.dumps([{"name": "bench", "hosts": "all", "gather_facts": False, "tasks": task_list}]))
    return path


def play(inventory: Path, playbook: Path, env: dict, *extra: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run([str(PLAYBOOK), "-i", str(inventory), str(playbook), *extra], capture_output=True,
                          text=True, env=env, check=False)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{playbook.name} {' '.join(extra)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return took, proc.stdout


def recap_changed(output: str) -> int:
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output))


def measure(inventory: Path, playbook: Path, env: dict, runs: int, reset) -> dict:
    first, again, check = [], [], []
    for _ in range(runs):
        reset()
        took, _ = play(inventory, playbook, env)
        first.append(took)
        took, out = play(inventory, playbook, env)
        again.append(took)
        if recap_changed(out):
            raise RuntimeError(f"re-converge reported changes:\n{out[-3000:]}")
        took, _ = play(inventory, playbook, env, "--check")
        check.append(took)
    return {"first_s": statistics.median(first), "again_s": statistics.median(again),
            "check_s": statistics.median(check), "all": {"first": first, "again": again, "check": check}}


def bench(busybox_tar: Path, runs: int) -> dict:
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
        pings = [play(inventory, ping, env)[0] for _ in range(runs)]
        out: dict = {"tasks": 41, "ping_s": statistics.median(pings)}
        try:
            out["berth"] = measure(inventory, write_play(tmp / "berth.json", tasks("berth", "busybox:bench")), env,
                                   runs, reset)
        finally:
            reset()
            engine.networks.shutdown()
        out["ratio_again_ping"] = out["berth"]["again_s"] / out["ping_s"]
        out["ratio_check_ping"] = out["berth"]["check_s"] / out["ping_s"]
        out["community.docker"] = _docker(tmp, runs) or {"skipped": "docker daemon or community.docker not available"}
        anchor = out["community.docker"]
        if "again_s" in anchor:
            out["ratio_again_docker"] = out["berth"]["again_s"] / anchor["again_s"]
            out["ratio_first_docker"] = out["berth"]["first_s"] / anchor["first_s"]
        return out


def _docker(tmp: Path, runs: int) -> dict | None:
    """The same playbook with community.docker against a Docker daemon, when both exist."""
    if not shutil.which("docker") or subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        return None
    doc = subprocess.run([str(PLAYBOOK.parent / "ansible-doc"), "-l", "community.docker"], capture_output=True,
                         text=True)
    if "docker_container" not in doc.stdout:
        return None
    inventory = tmp / "docker-inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")

    def reset() -> None:
        names = [f"bench{i}" for i in range(COUNT)]
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True)
        subprocess.run(["docker", "volume", "rm", *[f"benchvol{i}" for i in range(COUNT)]], capture_output=True)
        subprocess.run(["docker", "network", "rm", "benchnet"], capture_output=True)

    try:
        return measure(inventory, write_play(tmp / "docker.json", tasks("docker", "busybox")), dict(os.environ),
                       runs, reset)
    finally:
        reset()


def table(result: dict) -> list[str]:
    b = result["berth"]
    d = result["community.docker"]
    rows = [f"{'41-task playbook (ping floor) s':<34}{result['ping_s']:>10.2f}"]
    for key, label in (("first_s", "first converge"), ("again_s", "re-converge (no change)"),
                       ("check_s", "check mode")):
        anchor = d.get(key)
        ratio = b[key] / anchor if anchor else float("nan")
        rows.append(f"{'  ' + label + ' s':<34}{b[key]:>10.2f}{(anchor or float('nan')):>10.2f}{ratio:>8.2f}")
    rows.append(f"{'  re-converge / ping':<34}{result['ratio_again_ping']:>10.2f}   (goal <= 1.15)")
    return rows


if __name__ == "__main__":
    busybox = Path(tempfile.mkdtemp()) / "busybox.tar"
    subprocess.run(["bash", str(REPO / "tests/images/busybox-rootfs.sh"), str(busybox)], check=True)
    result = bench(busybox, int(os.environ.get("BENCH_RUNS", "3")))
    print(json.dumps(result, indent=2))
    print("\n".join(table(result)))
