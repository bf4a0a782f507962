"""The harness of the collection's integration tests: localhost as an inventory host with an
engine root of its own (``berth_root``), the modules run by this interpreter (``berth_python``),
``ansible-playbook`` runs whose task results a callback records.

Playbooks: ``integration/targets/<module>/*.yml``. Networking: each engine gets its own default
bridge and 10.252.x.0/24 subnets no host route covers (engine tests use 10.250/10.251).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from berth.engine import Engine

HERE = Path(__file__).resolve().parent / "integration"
TARGETS = HERE / "targets"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
BUSYBOX_SCRIPT = HERE.parent / "images" / "busybox-rootfs.sh"
ENGINE_MISSING = "the berth engine is not installed on localhost: apply role berth.core.engine"

#: seconds each playbook run took, printed at the end of the session
TIMINGS: list[tuple[str, float]] = []


class Run:
    """One ``ansible-playbook`` run: exit status, output, and each task's result by task name."""

    def __init__(self, rc: int, output: str, records: list[dict]) -> None:
        self.rc = rc
        self.output = output
        self.results = {r["task"]: r["result"] for r in records}
        self.status = {r["task"]: r["status"] for r in records}

    def __getitem__(self, task: str) -> dict:
        return self.results[task]

    def failed(self, task: str) -> str:
        """The failed task's message."""
        assert self.status.get(task) == "failed", f"{task} did not fail: {self.results.get(task)}\n{self.output}"
        return self.results[task]["msg"]


class Host:
    """localhost as an inventory host with an engine root of its own."""

    def __init__(self, tmp: Path, collections_root: Path) -> None:
        self.tmp = tmp
        self.root = tmp / "root"
        self.collections_root = collections_root
        self.subnets = _free_subnets(8)
        self.bridge = f"bi{secrets.token_hex(3)}"
        (self.root / "etc").mkdir(parents=True)
        (self.root / "etc" / "config.json").write_text(json.dumps({
            "bridge": self.bridge, "bip": f"{self.subnets[0].network_address + 1}/24",
            "default-address-pools": [{"base": str(self.subnets[1]), "size": 24}]}))
        self.inventory = tmp / "inventory.ini"
        self.inventory.write_text(
            "[berth]\n"
            f"localhost ansible_connection=local ansible_python_interpreter={sys.executable} "
            f"berth_python={sys.executable} berth_root={self.root}\n")
        self.engine = Engine(root=self.root)

    def play(self, playbook: str, *, check: bool = False, diff: bool = False, **extra_vars) -> Run:
        record = self.tmp / f"record-{secrets.token_hex(4)}.jsonl"
        cmd = [str(ANSIBLE_PLAYBOOK), "-i", str(self.inventory), str(TARGETS / playbook),
               "-e", json.dumps(extra_vars)]
        cmd += ["--check"] if check else []
        cmd += ["--diff"] if diff else []
        env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(self.collections_root),
               "ANSIBLE_CALLBACK_PLUGINS": str(HERE / "callback_plugins"), "ANSIBLE_CALLBACKS_ENABLED": "berth_record",
               "BERTH_RECORD": str(record), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
               "ANSIBLE_LOCAL_TEMP": str(self.tmp / "ansible-local"), "ANSIBLE_HOME": str(self.tmp / "ansible-home"),
               "ANSIBLE_REMOTE_TMP": str(self.tmp / "ansible-remote")}
        env.pop("BERTH_ROOT", None)
        started = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=self.tmp, timeout=300, check=False)
        TIMINGS.append((f"{playbook}{' --check' if check else ''}", time.monotonic() - started))
        records = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
        return Run(proc.returncode, proc.stdout + proc.stderr, records)

    # -- the host as the engine sees it
    def volumes(self) -> dict:
        return {v["Name"]: v for v in self.engine.volumes.list()}

    def networks(self) -> dict:
        return {n.Name: self.engine.networks.inspect(n.Id) for n in self.engine.networks.store.list()}

    def members(self, network: str) -> list[str]:
        return sorted(c["Name"] for c in self.networks()[network]["Containers"].values())


def _free_subnets(count: int) -> list[ipaddress.IPv4Network]:
    from berth.network.links import HostLinks

    with HostLinks() as links:
        routes = links.routes_v4()
    out: list[ipaddress.IPv4Network] = []
    while len(out) < count:
        candidate = ipaddress.IPv4Network(f"10.252.{secrets.randbelow(250) + 2}.0/24")
        if candidate not in out and not any(candidate.overlaps(r) for r in routes):
            out.append(candidate)
    return out


def make_container(h: Host, busybox_tar: Path, name: str, *, start: bool = False, **spec) -> str:
    from berth.containers import ContainerSpec

    if not h.engine.images():
        h.engine.import_image(busybox_tar, "busybox")
    cid = h.engine.create_container(ContainerSpec(image="busybox", name=name, command=("sleep", "300"), **spec))
    if start:
        h.engine.start(cid)
    return cid
