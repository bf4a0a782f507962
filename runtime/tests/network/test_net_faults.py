"""Crash safety of networking: kill -9 of ``berth run`` at each step of the wiring, a simulated
reboot, then ``system check --repair`` / ``system restore``: no orphan namespace, veth or rule, and
the container works again. Run on both firewall backends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from nethost import free_port, httpd_cmd, proxy_cmd, wait_http
from rtkit import network_leftovers, simulate_reboot

from berth.containers import ContainerSpec
from berth.containers.spec import PortBinding, RestartPolicy
from berth.engine import container_ops as co
from berth.runtime.restore import restore_engine

RUNTIME_TESTS = Path(__file__).resolve().parent.parent

_CHILD = """
import os, sys
sys.path.insert(0, {tests!r})
from berth.engine import Engine
from berth.engine import container_ops as co
import berth.network.netns, berth.network.links, berth.network.manager
point, root, cid = {point!r}, {root!r}, {cid!r}

def then_die(obj, attr):
    orig = getattr(obj, attr)
    def wrapper(*a, **k):
        orig(*a, **k)
        os.kill(os.getpid(), 9)
    setattr(obj, attr, wrapper)

target = {{"netns-pinned": (berth.network.netns, "create"),
          "veth-added": (berth.network.links.HostLinks, "add_veth"),
          "inside-configured": (berth.network.links, "configure_inside"),
          "firewall-applied": (berth.network.manager.NetworkManager, "apply_firewall"),
          "dns-synced": (berth.network.manager.NetworkManager, "_apply_dns")}}[point]
then_die(*target)
co.start(Engine(root=root), cid)
print("completed", flush=True)
"""

POINTS = ["netns-pinned", "veth-added", "inside-configured", "firewall-applied", "dns-synced"]


@pytest.mark.parametrize("point", POINTS)
def test_kill_during_network_setup_then_repair(rt, point):
    rt.networks.create_network("faultnet", subnet="10.251.190.0/24")
    port = free_port()
    cid = co.create(rt, ContainerSpec(image="busybox", command=httpd_cmd(), network="faultnet",
                                      ports=(PortBinding(80, host_port=port),)), detach=True)
    code = _CHILD.format(tests=str(RUNTIME_TESTS), point=point, root=str(rt.paths.root), cid=cid)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    report = rt.system_check(repair=True)
    kinds = {p.kind for p in report.problems}
    assert "network-stale-endpoint" in kinds or "network-orphan-netns" in kinds, report.problems
    assert all(p.repaired for p in report.problems), report.problems
    assert network_leftovers(rt) == []
    assert [p for p in rt.system_check().problems] == []
    co.start(rt, cid)  # the port and the address are free again
    wait_http(f"http://127.0.0.1:{port}/")


@pytest.mark.parametrize("firewall_backend", ["nftables", "iptables"])
def test_simulated_reboot_restores_ports_and_names(rt, firewall_backend, client_host):
    rt.networks.create_network("bootnet", subnet="10.251.191.0/24")
    port = free_port()
    app = co.create(rt, ContainerSpec(image="busybox", command=httpd_cmd(5000, "app-up"), name="app",
                                      network="bootnet", restart=RestartPolicy("always")), detach=True)
    proxy = co.create(rt, ContainerSpec(
        image="busybox", name="proxy", network="bootnet", restart=RestartPolicy("always"),
        ports=(PortBinding(80, host_port=port),),
        command=proxy_cmd("http://app:5000/")), detach=True)
    for cid in (app, proxy):
        co.start(rt, cid)
    url = f"http://{client_host.host_addr}:{port}/cgi-bin/app"
    assert wait_http(url, client_host.fetch).strip() == "app-up"
    simulate_reboot(rt, [app, proxy])
    assert client_host.fetch(url, timeout=1) is None
    restore_engine(rt)
    assert wait_http(url, client_host.fetch).strip() == "app-up"
    assert rt.system_check().problems == []
