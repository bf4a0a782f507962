"""User-defined bridge networks: create/inspect/rm, IPAM, name resolution, connect/disconnect,
internal networks, and the seeds' compose topology (a proxy reaching an app by service name)."""

from __future__ import annotations

import ipaddress
import multiprocessing

import pytest
from nethost import free_port, httpd_cmd, proxy_cmd, run_detached, run_output, wait_http
from rtkit import network_leftovers

from berth.containers import ContainerSpec
from berth.containers.spec import PortBinding
from berth.engine import Engine
from berth.engine import container_ops as co
from berth.network.errors import (
    AddressInUse,
    InvalidNetworkConfig,
    NetworkExists,
    NetworkInUse,
    NetworkNotFound,
    SubnetExhausted,
)


def test_network_create_inspect_rm(rt):
    nets = rt.networks
    assert [n.Name for n in nets.store.list()] == ["bridge", "host", "none"]
    net = nets.create_network("front", subnet="10.251.200.0/24", gateway="10.251.200.254",
                              ip_range="10.251.200.128/25", labels={"tier": "web"},
                              options={"com.docker.network.bridge.name": "brfront"})
    view = nets.inspect("front")
    assert view["IPAM"]["Config"] == [{"Subnet": "10.251.200.0/24", "Gateway": "10.251.200.254",
                                       "IPRange": "10.251.200.128/25"}]
    assert view["Labels"] == {"tier": "web"} and view["Driver"] == "bridge" and view["Id"] == net.Id
    assert nets.inspect(net.Id[:6])["Name"] == "front"
    with pytest.raises(NetworkExists):
        nets.create_network("front")
    with pytest.raises(InvalidNetworkConfig, match="overlaps"):
        nets.create_network("other", subnet="10.251.200.0/25")
    with pytest.raises(InvalidNetworkConfig, match="gateway"):
        nets.create_network("other", subnet="10.251.201.0/24", gateway="10.251.202.1")
    with pytest.raises(InvalidNetworkConfig, match="subnet"):
        nets.create_network("other", subnet="10.251.201.1/24")
    with pytest.raises(NetworkInUse, match="pre-defined"):
        nets.remove_network("bridge")
    auto = nets.create_network("auto")  # from the pool, clear of the others
    assert ipaddress.IPv4Network(auto.Subnet).subnet_of(ipaddress.IPv4Network("10.251.0.0/16"))
    cid = run_detached(rt, ("sleep", "30"), network="front")
    addr = ipaddress.IPv4Address(co.inspect(rt, cid)["NetworkSettings"]["Networks"]["front"]["IPAddress"])
    assert addr in ipaddress.IPv4Network("10.251.200.128/25")
    assert list(nets.inspect("front")["Containers"]) == [cid]
    with pytest.raises(NetworkInUse, match="active endpoints"):
        nets.remove_network("front")
    co.rm(rt, cid, force=True)
    assert sorted(nets.prune()) == ["auto", "front"]
    with pytest.raises(NetworkNotFound):
        nets.inspect("front")
    assert network_leftovers(rt) == []


def test_ipam_static_ip_in_use_outside_and_exhausted(rt):
    rt.networks.create_network("tiny", subnet="10.251.210.0/29")  # 6 hosts: gateway + 5
    a = co.create(rt, ContainerSpec(image="busybox", command=("true",), network="tiny", ip="10.251.210.3"))
    assert co.inspect(rt, a)["NetworkSettings"]["Networks"]["tiny"]["IPAddress"] == "10.251.210.3"
    with pytest.raises(AddressInUse, match=r"10\.251\.210\.3"):
        co.create(rt, ContainerSpec(image="busybox", command=("true",), network="tiny", ip="10.251.210.3"))
    with pytest.raises(InvalidNetworkConfig, match=r"10\.9\.9\.9"):
        co.create(rt, ContainerSpec(image="busybox", command=("true",), network="tiny", ip="10.9.9.9"))
    others = [co.create(rt, ContainerSpec(image="busybox", command=("true",), network="tiny")) for _ in range(4)]
    with pytest.raises(SubnetExhausted, match="tiny"):
        co.create(rt, ContainerSpec(image="busybox", command=("true",), network="tiny", name="one-too-many"))
    assert "one-too-many" not in {r["Names"][0].lstrip("/") for r in co.ps(rt, all=True)}  # nothing half-made
    co.rm(rt, others[0])  # release on rm
    co.create(rt, ContainerSpec(image="busybox", command=("true",), network="tiny"))
    with pytest.raises(NetworkNotFound):
        co.create(rt, ContainerSpec(image="busybox", command=("true",), network="nosuchnet"))


def _create_on(root: str, n: int, q) -> None:
    try:
        eng = Engine(root=root)
        cid = co.create(eng, ContainerSpec(image="busybox", command=("sleep", "60"), name=f"p{n}", network="par"),
                        detach=True)
        co.start(eng, cid)
        q.put(("ok", co.inspect(eng, cid)["NetworkSettings"]["Networks"]["par"]["IPAddress"]))
    except Exception as exc:  # reported to the test
        q.put(("err", repr(exc)))


def test_twenty_parallel_runs_get_distinct_addresses(rt):
    rt.networks.create_network("par", subnet="10.251.220.0/24")
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_create_on, args=(str(rt.paths.root), n, q)) for n in range(20)]
    for p in procs:
        p.start()
    results = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    assert [r for r in results if r[0] != "ok"] == []
    addrs = [r[1] for r in results]
    assert len(set(addrs)) == 20
    assert len(rt.networks.endpoints.all()) == 20


def test_names_resolve_on_user_networks_only(rt):
    rt.networks.create_network("appnet", subnet="10.251.230.0/24")
    web = run_detached(rt, ("sleep", "60"), name="web", network="appnet", network_aliases=("www", "api"))
    ip = co.inspect(rt, web)["NetworkSettings"]["Networks"]["appnet"]["IPAddress"]
    for name in ("web", "www", "API", web[:12]):
        code, out = run_output(rt, ("nslookup", name), network="appnet")
        assert code == 0 and ip in out, (name, out)
    assert "name = web" in run_output(rt, ("nslookup", ip), network="appnet")[1]  # reverse: the container's name
    code, out = run_output(rt, ("ping", "-c1", "-W2", "web"), network="appnet")  # libc resolver, then traffic
    assert code == 0 and f"({ip})" in out
    code, _ = run_output(rt, ("ping", "-c1", "-W1", "web"))  # the default bridge resolves no names (as Docker)
    assert code != 0
    rt.rename_container("web", "web2")
    assert ip in run_output(rt, ("nslookup", "web2"), network="appnet")[1]
    assert run_output(rt, ("nslookup", "web"), network="appnet")[0] != 0
    co.rm(rt, web, force=True)
    assert run_output(rt, ("nslookup", "web2"), network="appnet")[0] != 0


def test_connect_and_disconnect_a_running_container(rt):
    rt.networks.create_network("n1", subnet="10.251.240.0/24")
    rt.networks.create_network("n2", subnet="10.251.241.0/24")
    peer = run_detached(rt, ("sleep", "60"), name="peer", network="n2")
    mover = run_detached(rt, ("sleep", "60"), name="mover", network="n1")
    assert run_output(rt, ("ping", "-c1", "-W1", "mover"), network="n2")[0] != 0
    rt.connect("mover", "n2", aliases=("moved",))
    nets = co.inspect(rt, mover)["NetworkSettings"]["Networks"]
    assert set(nets) == {"n1", "n2"}
    assert run_output(rt, ("ping", "-c1", "-W2", "moved"), network="n2")[0] == 0
    rt.disconnect("mover", "n2")
    assert set(co.inspect(rt, mover)["NetworkSettings"]["Networks"]) == {"n1"}
    assert run_output(rt, ("ping", "-c1", "-W1", "moved"), network="n2")[0] != 0
    with pytest.raises(NetworkNotFound):
        rt.disconnect("mover", "n2")
    co.rm(rt, peer, force=True)
    co.rm(rt, mover, force=True)
    assert network_leftovers(rt) == []


def test_internal_network_has_no_egress(rt, client_host):
    rt.networks.create_network("sealed", subnet="10.251.250.0/24", internal=True)
    run_detached(rt, ("sleep", "60"), name="inner", network="sealed")
    assert run_output(rt, ("ping", "-c1", "-W1", client_host.addr), network="sealed")[0] != 0
    assert run_output(rt, ("ping", "-c1", "-W2", "inner"), network="sealed")[0] == 0  # inside: fine
    assert run_output(rt, ("ping", "-c1", "-W2", client_host.addr))[0] == 0  # the default bridge has egress


def test_compose_topology_proxy_reaches_app_by_service_name(rt, client_host):
    """Seed 004's compose case by hand: nginx-like proxy -> flask-web:5000 on one user network."""
    rt.networks.create_network("compose_default", subnet="10.251.199.0/24")
    run_detached(rt, httpd_cmd(5000, "hello-from-flask-web"), name="flask-web", network="compose_default")
    port = free_port()
    run_detached(rt, proxy_cmd("http://flask-web:5000/"), name="nginx", network="compose_default",
         ports=(PortBinding(80, host_port=port),))
    assert wait_http(f"http://127.0.0.1:{port}/cgi-bin/app").strip() == "hello-from-flask-web"
    assert client_host.fetch(f"http://{client_host.host_addr}:{port}/cgi-bin/app").strip() == "hello-from-flask-web"
