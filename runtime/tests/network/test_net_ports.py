"""Published ports on the default bridge, for real: DNAT from the host's loopback, from another of
the host's addresses and from another machine (a namespace); rules follow the container's life."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from nethost import (
    CONTAINER_PYTHON,
    UDP_ASK,
    UDP_ECHO,
    free_port,
    host_python_mounts,
    http_get,
    httpd_cmd,
    run_detached,
    wait_http,
)
from rtkit import network_leftovers

from berth.containers import ContainerSpec
from berth.containers.spec import PortBinding
from berth.engine import container_ops as co
from berth.network.errors import PortAllocated


@pytest.mark.parametrize("firewall_backend", ["nftables", "iptables"])
def test_published_port_reachable_from_loopback_host_address_and_another_machine(rt, client_host, firewall_backend):
    port = free_port()
    cid = run_detached(rt, httpd_cmd(), name="web", ports=(PortBinding(80, host_port=port),))
    body = wait_http(f"http://127.0.0.1:{port}/")
    assert body.startswith("hello-")
    assert http_get(f"http://{client_host.host_addr}:{port}/") == body
    assert client_host.fetch(f"http://{client_host.host_addr}:{port}/") == body
    assert [(r.container_port, r.proto, r.host_port) for r in co.port(rt, cid)] == [(80, "tcp", port)]
    ports = co.inspect(rt, cid)["NetworkSettings"]["Ports"]
    assert ports == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]}
    assert co.ps(rt)[0]["Ports"] == [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": port, "Type": "tcp"}]


@pytest.mark.parametrize("firewall_backend", ["nftables", "iptables"])
def test_rules_follow_stop_start_restart_and_rm(rt, client_host, firewall_backend):
    port = free_port()
    cid = run_detached(rt, httpd_cmd(), ports=(PortBinding(80, host_port=port),))
    url = f"http://{client_host.host_addr}:{port}/"
    wait_http(url, client_host.fetch)
    co.stop(rt, cid, timeout=1)
    assert client_host.fetch(url, timeout=1) is None
    assert co.port(rt, cid) == [] and co.inspect(rt, cid)["NetworkSettings"]["Ports"] == {}
    assert network_leftovers(rt) == []
    co.start(rt, cid)
    wait_http(url, client_host.fetch)
    co.stop(rt, cid, timeout=1)
    co.start(rt, cid)  # what `berth restart` does
    wait_http(url, client_host.fetch)
    co.rm(rt, cid, force=True)
    assert client_host.fetch(url, timeout=1) is None
    assert network_leftovers(rt) == []


def test_containers_reach_published_ports_through_a_host_address(rt, client_host):
    """Hairpin: a container (and another one) reaching a published port via the host's address."""
    port = free_port()
    cid = run_detached(rt, httpd_cmd(), ports=(PortBinding(80, host_port=port),))
    body = wait_http(f"http://127.0.0.1:{port}/")
    url = f"http://{client_host.host_addr}:{port}/"
    assert co.exec_(rt, cid, ["wget", "-q", "-O", "-", url])[1].decode() == body  # itself
    other = run_detached(rt, ("wget", "-q", "-O", "-", url))
    assert co.wait(rt, other, timeout=20) == 0 and "".join(r.line for r in co.logs(rt, other)) == body


def test_host_ip_binding_is_not_reachable_from_elsewhere(rt, client_host):
    port = free_port()
    run_detached(rt, httpd_cmd(), ports=(PortBinding(80, host_ip="127.0.0.1", host_port=port),))
    wait_http(f"http://127.0.0.1:{port}/")
    assert client_host.fetch(f"http://{client_host.host_addr}:{port}/", timeout=1) is None


def test_random_port_range_and_publish_all(rt, busybox_tar):
    rt.import_image(busybox_tar, "busybox-web", changes=["EXPOSE 80/tcp", "EXPOSE 81/tcp"])
    lo = free_port()
    a = run_detached(rt, httpd_cmd(), ports=(PortBinding(80),))
    b = run_detached(rt, httpd_cmd(), ports=(PortBinding(80, host_port=lo, host_port_end=lo + 5),))
    cid = co.create(rt, ContainerSpec(image="busybox-web", command=httpd_cmd(), publish_all=True), detach=True)
    co.start(rt, cid)
    (ra,), (rb,) = co.port(rt, a), co.port(rt, b)
    assert 32768 <= ra.host_port <= 60999
    assert lo <= rb.host_port <= lo + 5
    rules = co.port(rt, cid)
    assert sorted(r.container_port for r in rules) == [80, 81]
    assert len({r.host_port for r in rules}) == 2
    web = next(r for r in rules if r.container_port == 80)
    for port in (ra.host_port, rb.host_port, web.host_port):
        assert wait_http(f"http://127.0.0.1:{port}/").startswith("hello-")


def test_udp_port(rt, client_host):
    port = free_port()
    run_detached(rt, (CONTAINER_PYTHON, "-c", UDP_ECHO, "5353"), ports=(PortBinding(5353, "udp", host_port=port),),
         mounts=host_python_mounts())
    answer = client_host.run(sys.executable, "-c", UDP_ASK, client_host.host_addr, str(port)).stdout.strip()
    # through the published port, and the container sees the real client (no source NAT inbound)
    assert answer == f"echo:ping-udp from {client_host.addr}"


def test_port_taken_by_another_process_is_refused_before_start(rt):
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        s.listen()
        port = s.getsockname()[1]
        spec = ContainerSpec(image="busybox", command=httpd_cmd(), ports=(PortBinding(80, host_port=port),))
        cid = co.create(rt, spec, detach=True)
        with pytest.raises(PortAllocated, match=f"0.0.0.0:{port}.*in use"):
            co.start(rt, cid)
    assert co.inspect(rt, cid)["State"]["Running"] is False
    assert network_leftovers(rt) == []
    co.start(rt, cid)  # free now
    wait_http(f"http://127.0.0.1:{port}/")


def test_port_taken_by_another_container(rt):
    port = free_port()
    run_detached(rt, httpd_cmd(), name="first", ports=(PortBinding(80, host_port=port),))
    second = co.create(rt, ContainerSpec(image="busybox", command=httpd_cmd(), name="second",
                                         ports=(PortBinding(80, host_port=port),)), detach=True)
    with pytest.raises(PortAllocated, match="already allocated"):
        co.start(rt, second)
    # another host address and protocol are not the same port
    third = run_detached(rt, httpd_cmd(), ports=(PortBinding(80, "udp", host_port=port),))
    assert co.port(rt, third)[0].host_port == port


PEER_SERVER = """
import http.server, socketserver, sys
class S(http.server.HTTPServer):
    def server_bind(self):  # HTTPServer's would look up the host name: no DNS in a test namespace
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "peer", 9000
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.client_address[0].encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
S((sys.argv[1], 9000), H).serve_forever()
"""


def test_egress_is_masqueraded_to_the_host_address(rt, client_host):
    server = subprocess.Popen(["ip", "netns", "exec", client_host.ns.name, sys.executable, "-c", PEER_SERVER,
                               client_host.addr])
    try:
        wait_http(f"http://{client_host.addr}:9000/", client_host.fetch)
        cid = run_detached(rt, ("wget", "-q", "-O", "-", f"http://{client_host.addr}:9000/"))
        assert co.wait(rt, cid, timeout=20) == 0
    finally:
        server.kill()
        server.wait()
    # the other machine sees the host's address, not the container's private one
    assert "".join(r.line for r in co.logs(rt, cid)) == client_host.host_addr


def test_network_none_and_host(rt, client_host):
    cid = co.create(rt, ContainerSpec(image="busybox", command=("ip", "-o", "link"), network="none"))
    co.start(rt, cid)
    assert co.wait(rt, cid, timeout=20) == 0
    links = "".join(r.line for r in co.logs(rt, cid))
    assert "lo:" in links and "eth0" not in links
    cid = co.create(rt, ContainerSpec(image="busybox", command=("ip", "-o", "link"), network="host"))
    co.start(rt, cid)
    assert co.wait(rt, cid, timeout=20) == 0
    assert client_host.host_if in "".join(r.line for r in co.logs(rt, cid))
    assert network_leftovers(rt) == []


def test_a_port_held_by_a_container_killed_with_its_monitor_goes_to_the_next(rt, client_host):
    """Killed together with its conmon, a container is never finalized (no exit hook runs) and keeps
    its port rule. dockerd frees a dead container's ports: a start that wants the port finalizes such
    a container first (exited, 255, unwired, as `system check --repair` would) and gets the port."""
    import os
    import signal
    import time

    port = free_port()
    old = run_detached(rt, httpd_cmd(), name="old", ports=(PortBinding(80, host_port=port),))
    wait_http(f"http://127.0.0.1:{port}/")
    st = co.runtime_context(rt).containers.state(old)
    os.kill(st.MonitorPid, signal.SIGKILL)
    os.kill(st.Pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{st.Pid}") and time.monotonic() < deadline:
        time.sleep(0.02)
    new = run_detached(rt, httpd_cmd(), name="new", ports=(PortBinding(80, host_port=port),))
    wait_http(f"http://127.0.0.1:{port}/")
    assert [(r.host_port, r.container_port) for r in co.port(rt, new)] == [(port, 80)]
    state = co.inspect(rt, old)["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 255) and co.port(rt, old) == []
    with pytest.raises(PortAllocated):  # a live holder keeps its port
        run_detached(rt, httpd_cmd(), name="third", ports=(PortBinding(80, host_port=port),))
    co.rm(rt, new, force=True)
    co.rm(rt, old)
    assert network_leftovers(rt) == []
