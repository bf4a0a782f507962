"""Edge cases found in review: each was a real defect once."""

from __future__ import annotations

import os
import signal

import pytest
from nethost import run_detached, run_output
from rtkit import until

from berth.containers import ContainerSpec
from berth.containers.spec import PortBinding
from berth.engine import container_ops as co
from berth.network.dns import control
from berth.network.errors import InvalidNetworkConfig, NetworkInUse


def test_a_killed_resolver_is_found_by_check_and_restarted(rt):
    rt.networks.create_network("dnsnet", subnet="10.251.170.0/24")
    run_detached(rt, ("sleep", "60"), name="svc", network="dnsnet")
    pid = control.running_pid(rt.paths)
    os.kill(pid, signal.SIGKILL)
    until(lambda: control.running_pid(rt.paths) is None, what="resolver death")
    report = rt.system_check(repair=True)
    assert [p.kind for p in report.problems] == ["network-dns-down"] and report.problems[0].repaired
    _lookup_svc(rt)
    os.kill(control.running_pid(rt.paths), signal.SIGKILL)  # and a plain start brings it back too
    until(lambda: control.running_pid(rt.paths) is None, what="resolver death")
    _lookup_svc(rt)


def _lookup_svc(rt) -> None:
    """``nslookup svc`` from a new container on dnsnet; a failure says how it failed (refused, a
    timeout, NXDOMAIN) and what the resolver logged (a bind it could not make, a reload)."""
    code, out = run_output(rt, ("nslookup", "svc"), network="dnsnet")
    log = rt.paths.run_dir / "network" / "dns.log"
    assert code == 0, f"nslookup svc: exit {code}: {out!r}; dns.log: {log.read_text() if log.exists() else ''!r}"


def test_network_rm_refuses_a_network_with_a_lease_of_a_create_in_progress(rt):
    net = rt.networks.create_network("racy", subnet="10.251.171.0/24")
    rt.networks.ipam.allocate(net, "f" * 64)  # a create that has leased but not yet published its record
    with pytest.raises(NetworkInUse, match="ffffffffffff"):
        rt.networks.remove_network("racy")
    rt.networks.ipam.release(net, "f" * 64)
    rt.networks.remove_network("racy")


def test_bad_bridge_name_and_ipv6_publish_are_refused_up_front(rt):
    with pytest.raises(InvalidNetworkConfig, match="bridge name"):
        rt.networks.create_network("q", options={"com.docker.network.bridge.name": 'br"q'})
    with pytest.raises(InvalidNetworkConfig, match="IPv4"):
        co.create(rt, ContainerSpec(image="busybox", command=("true",), ports=(PortBinding(80, host_ip="::"),)))
    assert co.ps(rt, all=True) == []


def test_network_named_by_id_stays_primary_after_connect(rt):
    zz = rt.networks.create_network("zz", subnet="10.251.172.0/24")
    rt.networks.create_network("aa", subnet="10.251.173.0/24")
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "60"), network=zz.Id[:10]), detach=True)
    rt.connect(cid, "aa")
    co.start(rt, cid)
    code, out, _ = co.exec_(rt, cid, ["ip", "-o", "-4", "addr", "show", "eth0"])
    assert code == 0 and "10.251.172." in out.decode()  # the --network one is eth0, with the default route
    code, out, _ = co.exec_(rt, cid, ["ip", "route"])
    assert "default via 10.251.172.1" in out.decode()


def test_add_host_gateway(rt):
    code, out = run_output(rt, ("cat", "/etc/hosts"), extra_hosts=(("host.docker.internal", "host-gateway"),))
    gateway = rt.networks.store.get("bridge").Gateway
    assert code == 0 and f"{gateway}\thost.docker.internal" in out


def test_disconnecting_the_primary_network_moves_the_default_route(rt):
    rt.networks.create_network("first", subnet="10.251.174.0/24")
    rt.networks.create_network("second", subnet="10.251.175.0/24")
    cid = run_detached(rt, ("sleep", "60"), network="first")
    rt.connect(cid, "second")
    rt.disconnect(cid, "first")
    code, out, _ = co.exec_(rt, cid, ["ip", "route"])
    assert code == 0 and "default via 10.251.175.1" in out.decode()


def test_outside_names_are_forwarded_to_the_containers_dns_servers(rt):
    """A container on a user network resolves a name no container has through the engine's
    resolver, which asks the container's --dns server (here a stub on the host's loopback)."""
    from test_dns_server import Stub  # the upstream stub of the resolver's own tests

    stub = Stub("127.0.0.77", 53, "192.0.2.77")
    try:
        rt.networks.create_network("fwdnet", subnet="10.251.176.0/24")
        code, out = run_output(rt, ("nslookup", "example.test"), network="fwdnet", dns=("127.0.0.77",))
    finally:
        stub.close()
    assert "Address: 192.0.2.77" in out, (code, out)  # (the stub has no AAAA: nslookup then exits 1)
    assert ("udp", "example.test") in stub.asked
