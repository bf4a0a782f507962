"""Helpers of the container tests: ``berth run`` in miniature, logs, leftover mounts."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

from berth.engine import Engine
from berth.engine import container_ops as co


def mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(str(path))]



def isolated_network_config(root: Path, **extra) -> dict:
    """Write an engine config whose networking cannot meet the host's or another test's: its own
    default-bridge device and a /24 no host route covers, its own pool for user networks.
    (The firewall table and veth names are already per root.)"""
    from berth.network.links import HostLinks

    with HostLinks() as links:
        routes = links.routes_v4()
    for _ in range(100):
        subnet = ipaddress.IPv4Network(f"10.250.{secrets.randbelow(250)}.0/24")
        if not any(subnet.overlaps(r) for r in routes):
            break
    config = {"bridge": f"bt{secrets.token_hex(3)}", "bip": f"{subnet.network_address + 1}/24",
              "default-address-pools": [{"base": "10.251.0.0/16", "size": 24}], **extra}
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "config.json").write_text(json.dumps(config))
    return config


def isolated_engine(root: Path, **config) -> Engine:
    """An engine at ``root`` with networking of its own (``isolated_network_config``)."""
    isolated_network_config(root, **config)
    return Engine(root=root)


def teardown_engine(engine: Engine) -> None:
    """Force-remove every container, check nothing is left mounted, in runc or wired, then take down
    the engine's bridges, firewall table and resolver."""
    from berth.engine import container_ops as co

    for row in co.ps(engine, all=True):
        co.rm(engine, row["Id"], force=True)
    assert mounts_under(engine.paths.root) == []
    runc_root = engine.paths.run_dir / "runc"
    assert not runc_root.exists() or list(runc_root.iterdir()) == []
    assert network_leftovers(engine) == []
    engine.networks.shutdown()


def network_leftovers(engine: Engine) -> list[str]:
    """What an engine with no running container must not have: wiring, pins, veths, rules."""
    mgr = engine.networks
    out = [f"endpoint {p.name}" for p in sorted(mgr.endpoints.dir.glob("*"))] if mgr.endpoints.dir.is_dir() else []
    pins = engine.paths.run_dir / "netns"
    out += [f"netns {p.name}" for p in sorted(pins.iterdir())] if pins.is_dir() else []
    from berth.network.links import HostLinks

    with HostLinks() as links:
        out += [f"veth {n}" for n in links.names(mgr.veth_prefix)]
    return out


def run(engine: Engine, *cmd: str, **spec_args) -> tuple[str, int]:
    """``berth run`` in miniature: create, start, wait; returns (cid, exit code)."""
    from berth.containers import ContainerSpec

    cid = co.create(engine, ContainerSpec(image="busybox", command=cmd or None, **spec_args))
    co.start(engine, cid)
    return cid, co.wait(engine, cid, timeout=30)


def output(engine: Engine, cid: str) -> str:
    return "".join(rec.line for rec in co.logs(engine, cid))


def until(pred, timeout: float = 15.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def simulate_reboot(engine: Engine, cids: list[str]) -> None:
    """What a reboot does to running containers: monitors and processes killed (no exit hook runs),
    mounts gone, /run cleared, cgroups gone; and the kernel's network state: namespaces, veths,
    bridges, firewall rules, the resolver process."""
    from berth.network.dns import control
    from berth.network.links import HostLinks
    from berth.runtime.liveness import is_alive

    ctx = co.runtime_context(engine)
    for cid in cids:
        st = ctx.containers.state(cid)
        conmon = int((ctx.bundle(cid) / "conmon.pid").read_text())
        assert st.Pid > 0 and conmon > 0  # never os.kill(0, ...): that is our own process group
        os.kill(conmon, signal.SIGKILL)  # the monitor first, so no exit hook runs
        until(lambda conmon=conmon: not Path(f"/proc/{conmon}").exists()
              or "Z" in Path(f"/proc/{conmon}/stat").read_text().rsplit(")", 1)[1].split()[0], what="conmon")
        os.kill(st.Pid, signal.SIGKILL)
        until(lambda st=st: not is_alive(st.Pid, st.PidStartTime), what="container death")
    for cid in cids:
        subprocess.run(["umount", "-l", str(ctx.rootfs(cid))], check=False, capture_output=True)
        for cg in Path("/sys/fs/cgroup").glob(f"*/berth/{cid}"):
            with contextlib.suppress(OSError):
                cg.rmdir()
    mgr = engine.networks
    control.stop(engine.paths)
    pins = engine.paths.run_dir / "netns"
    for pin in pins.iterdir() if pins.is_dir() else ():
        subprocess.run(["umount", "-l", str(pin)], check=False, capture_output=True)
    with HostLinks() as links:
        for name in links.names(mgr.veth_prefix):
            links.delete(name)
        for net in mgr.store.list():
            if net.Bridge:
                links.delete(net.Bridge)
    mgr.firewall.remove(mgr.ident)
    subprocess.run(["rm", "-rf", str(engine.paths.run_dir)], check=True)
    assert mounts_under(engine.paths.root) == []
