"""``system check [--repair]`` for networking: run state and kernel state against the records.

Each problem is a dict with the keys of ``berth.store.check.Problem``. Repairs reuse the normal
operations (``detach``, the firewall apply, IPAM release), so a repair is never a second,
subtly different code path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from berth.fsutil import read_json
from berth.locks import try_lock
from berth.network import netns
from berth.network.dns import control
from berth.network.firewall.model import FirewallState
from berth.network.manager import NetworkManager


def check_network(mgr: NetworkManager, running: Callable[[str], bool], op_lock: Callable[[str], Path],
                  repair: bool = False) -> list[dict[str, Any]]:
    """``running(cid)``: is its process alive; ``op_lock(cid)``: its operation lock (see
    ``RuntimeContext.op_lock``), so a container being started is left alone."""
    problems: list[dict[str, Any]] = []

    def problem(kind: str, subject: str, detail: str, fix: Callable[[], object]) -> None:
        repaired = False
        if repair:
            try:
                fix()
                repaired = True
            except Exception as exc:  # reported, and the check goes on
                detail = f"{detail} (repair failed: {exc})"
        problems.append({"kind": kind, "subject": subject, "detail": detail, "repaired": repaired})

    eps = mgr.endpoints.all()
    for cid in sorted(eps):
        # judged under the container's op lock, skipped if an operation (a start) holds it
        with try_lock(op_lock(cid)) as free:
            if free and not running(cid):
                problem("network-stale-endpoint", cid[:12], f"container {cid[:12]} is not running but its "
                        "network is wired", lambda cid=cid: mgr.detach(cid))
    if repair:
        eps = mgr.endpoints.all()

    pins = mgr.paths.run_dir / "netns"
    if pins.is_dir():
        for p in sorted(pins.iterdir()):
            with try_lock(op_lock(p.name)) as free:
                if not free or p.name in eps or running(p.name):
                    continue
                problem("network-orphan-netns", p.name[:12], f"network namespace {p} has no container",
                        lambda p=p: netns.remove(p))

    known = {a.interface.host_if for ep in eps.values() for a in ep.attached}
    for name in _host_veths(mgr):
        if name not in known:
            problem("network-orphan-veth", name, f"veth {name} belongs to no running container",
                    lambda name=name: _delete_link(name))

    with mgr.run_lock():  # the same lock every apply takes
        eps = mgr.endpoints.all()
        # nothing ever applied (no container started since boot): nothing of ours may be there
        state = mgr.firewall_state(eps) if eps or mgr.applied_file().exists() else FirewallState(ident=mgr.ident)
        if not _firewall_in_sync(mgr, state):
            problem("network-firewall-drift", mgr.ident, "the firewall rules differ from the running containers' "
                    "networks and published ports", lambda: mgr.apply_firewall(state, force=True))

    table = read_json(mgr.paths.run_dir / "network" / "dns.json") or {}
    if table.get("listen") and control.running_pid(mgr.paths) is None:
        problem("network-dns-down", mgr.ident, "the resolver of user networks is not running: containers "
                "cannot resolve names", lambda: control.ensure_running(mgr.paths))

    for net in mgr.store.list():
        if not net.is_bridge:
            continue
        for ip, owner in sorted(mgr.ipam.leases(net).items()):
            if not mgr.containers.exists(owner):
                problem("network-stale-lease", f"{net.Name}/{ip}", f"address {ip} on {net.Name} is leased to "
                        f"removed container {owner[:12]}",
                        lambda net=net, owner=owner: mgr.ipam.release(net, owner))
    return problems


def _host_veths(mgr: NetworkManager) -> list[str]:
    from berth.network.links import HostLinks

    with HostLinks() as links:
        return links.names(mgr.veth_prefix)


def _delete_link(name: str) -> None:
    from berth.network.links import HostLinks

    with HostLinks() as links:
        links.delete(name)


def _firewall_in_sync(mgr: NetworkManager, state) -> bool:
    from berth.network.firewall.errors import FirewallError

    try:
        return mgr.firewall.in_sync(state)
    except FirewallError:
        return True  # no firewall tool on this host: nothing of ours can be there
