"""Helpers of the networking tests: a second machine (a network namespace wired to the test's host
by a veth; the ``client_host`` fixture in conftest) and HTTP helpers. Traffic only ever goes to
loopback and these namespaces."""

from __future__ import annotations

import ipaddress
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import netkit


@dataclass
class ClientHost:
    """Another machine on the host's network: ``host_addr`` is one of the host's own addresses
    (not loopback), ``addr`` the client's."""

    ns: netkit.Netns
    host_if: str
    host_addr: str
    addr: str

    def run(self, *cmd: str, check: bool = False, timeout: float = 20) -> subprocess.CompletedProcess:
        return self.ns.run(*cmd, check=check, timeout=timeout)

    def fetch(self, url: str, timeout: int = 3) -> str | None:
        """GET ``url`` from this machine (Python's urllib: busybox wget -T crashes)."""
        code = ("import sys, urllib.request\n"
                "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read().decode())")
        r = self.run(sys.executable, "-c", code, url, str(timeout), timeout=timeout + 10)
        return r.stdout if r.returncode == 0 else None


def _free_subnet() -> ipaddress.IPv4Network:
    routes = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True, check=True).stdout
    for _ in range(100):
        net = ipaddress.IPv4Network(f"10.252.{secrets.randbelow(250)}.0/24")
        if str(net.network_address)[:-1] not in routes:
            return net
    raise RuntimeError("no free test subnet")


@contextmanager
def client_host_ns() -> Iterator[ClientHost]:
    net = _free_subnet()
    host_addr, addr = str(net.network_address + 1), str(net.network_address + 2)
    with netkit.netns("bc") as ns:
        host_if, _ = netkit.veth(None, ns, f"{host_addr}/24", f"{addr}/24", b_name="eth0")
        netkit.route(ns, "default", host_addr)
        yield ClientHost(ns, host_if, host_addr, addr)  # the veth goes with the namespace


def http_get(url: str, timeout: float = 2.0) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.read().decode()
    except OSError:
        return None


def wait_http(url: str, fetch=http_get, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = fetch(url)
        if body is not None:
            return body
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def proxy_cmd(upstream: str, port: int = 80) -> tuple[str, ...]:
    """A reverse proxy in the busybox image (its httpd has no proxy module): ``/cgi-bin/app`` answers
    with what ``upstream`` (a URL naming another container by its service name) returns."""
    script = f"#!/bin/sh\\necho Content-Type: text/plain\\necho\\nwget -q -O - {upstream}\\n"
    return ("sh", "-c", f"mkdir -p /www/cgi-bin && printf '{script}' > /www/cgi-bin/app && "
                        f"chmod +x /www/cgi-bin/app && exec httpd -f -p {port} -h /www")


#: a web server in the busybox image: answers its hostname on PORT (default 80)
def httpd_cmd(port: int = 80, body: str = "hello-$(hostname)") -> tuple[str, ...]:
    return ("sh", "-c", f"mkdir -p /www && echo {body} > /www/index.html && exec httpd -f -p {port} -h /www")


def host_python_mounts() -> tuple:
    """Binds that let a busybox container run the host's Python at ``/py/bin/python3`` (read-only):
    for test servers busybox lacks (its nc has no UDP)."""
    import os

    from berth.containers.spec import Mount

    binds = [("/py", sys.base_prefix), ("/usr/lib", "/usr/lib"), ("/lib", "/lib")]
    if os.path.isdir("/lib64"):
        binds.append(("/lib64", "/lib64"))
    return tuple(Mount("bind", target, source, read_only=True) for target, source in binds)


CONTAINER_PYTHON = f"/py/bin/python{sys.version_info.major}.{sys.version_info.minor}"

UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(512)
    s.sendto(b"echo:" + data + b" from " + peer[0].encode(), peer)
"""

UDP_ASK = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
for _ in range(20):
    s.sendto(b"ping-udp", (sys.argv[1], int(sys.argv[2])))
    try:
        print(s.recvfrom(512)[0].decode())
        break
    except OSError:
        pass
"""


def run_detached(engine, cmd, **spec) -> str:
    """``berth run -d busybox CMD`` in miniature; returns the id."""
    from berth.containers import ContainerSpec
    from berth.engine import container_ops as co

    cid = co.create(engine, ContainerSpec(image="busybox", command=cmd, **spec), detach=True)
    co.start(engine, cid)
    return cid


def run_output(engine, cmd, **spec) -> tuple[int, str]:
    """``berth run busybox CMD``: (exit code, output)."""
    from berth.containers import ContainerSpec
    from berth.engine import container_ops as co

    cid = co.create(engine, ContainerSpec(image="busybox", command=cmd, **spec))
    co.start(engine, cid)
    return co.wait(engine, cid, timeout=30), "".join(r.line for r in co.logs(engine, cid))
