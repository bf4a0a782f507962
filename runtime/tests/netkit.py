"""Throwaway network namespaces for tests that need a real kernel network stack.

Tests build small topologies out of named namespaces (``ip netns``), veth pairs and bridges, and
never configure anything in the test runner's own namespace (the host's network stays as it was,
and nothing here can collide with a real interface or route)::

    with netkit.netns("host") as host, netkit.netns("client") as client:
        netkit.veth(host, client, "192.168.77.1/24", "192.168.77.2/24")
        with netkit.echo_server(client, "tcp", 9000):
            assert netkit.request(host, "192.168.77.2", 9000) == "192.168.77.1 hello"

Two ways to act inside a namespace:

- ``ns.run(*argv)``: a command through ``ip netns exec`` (a process, fully inside);
- ``ns.call(fn, *args)``: a Python callable in a short-lived thread that has ``setns``-ed into
  the namespace. Sockets it opens stay in that namespace after the thread ends, and processes it
  starts (``subprocess``) are born inside it: this is how clients, servers and code under test
  (e.g. a firewall backend running ``nft``) run without a Python interpreter per step.
  ``call`` checks it really is inside before running ``fn``.

The echo servers answer every request with ``"<peer address> <request>"``, so a test sees both
that it got through and which source address the server saw (NAT).

Everything needs root (``available()`` says why not, for a ``pytest.skip``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import ipaddress
import itertools
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
_counter = itertools.count()


def _ip_binary() -> str | None:
    return shutil.which("ip", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))


def available() -> str | None:
    """None if namespaces can be made here, else the reason (for ``pytest.skip``)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if _ip_binary() is None:
        return "the ip command (iproute2) is not installed"
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    ip = _ip_binary()
    if ip is None:
        raise RuntimeError("the ip command (iproute2) is not installed")
    proc = subprocess.run([ip, *args], capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {proc.stderr.strip()}")
    return proc


_libc: ctypes.CDLL | None = None


def _setns(path: Path) -> None:
    global _libc  # loaded once per test process
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns({path})")
    finally:
        os.close(fd)


@dataclass
class Netns:
    """A named network namespace (``/run/netns/<name>``)."""

    name: str
    path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.path = NETNS_DIR / self.name

    # -- commands ----------------------------------------------------------------------------
    def run(self, *argv: str, check: bool = True, input: str | None = None,
            timeout: float = 30, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``ip netns exec <name> argv...``; raises ``RuntimeError`` with stderr if ``check``."""
        ip = _ip_binary()
        assert ip is not None
        proc = subprocess.run([ip, "netns", "exec", self.name, *argv], input=input, capture_output=True,
                              text=True, timeout=timeout, env=env)
        if check and proc.returncode != 0:
            raise RuntimeError(f"[{self.name}] {' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
        return proc

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``ip -n <name> args...``."""
        return _ip("-n", self.name, *args, check=check)

    def python(self, code: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """This interpreter running ``code`` inside the namespace, with the test's sys.path
        (so ``berth`` and the test helpers import)."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        return self.run(sys.executable, "-c", code, *args, check=check, env=env)

    # -- in-process --------------------------------------------------------------------------
    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a fresh thread inside this namespace; its result or its
        exception comes back to the caller."""
        box: dict[str, Any] = {}

        def body() -> None:
            try:
                _setns(self.path)
                # never run code meant for a throwaway namespace in the runner's own one
                here = os.stat(f"/proc/self/task/{threading.get_native_id()}/ns/net").st_ino
                if here != os.stat(self.path).st_ino:
                    raise RuntimeError(f"setns into {self.name} did not take effect")
                box["value"] = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the caller's thread
                box["error"] = exc

        t = threading.Thread(target=body, name=f"netns-{self.name}")
        t.start()
        t.join()
        if "error" in box:
            raise box["error"]
        return box["value"]

    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM) -> socket.socket:
        """A socket that lives in this namespace (usable from any thread)."""
        return self.call(socket.socket, family, kind)

    def sysctl(self, key: str, value: str) -> None:
        """Set a sysctl in this namespace: ``net.ipv4.ip_forward`` or a ``/proc/sys/...`` path
        (use the path form for interface names containing dots)."""
        path = key if key.startswith("/") else "/proc/sys/" + key.replace(".", "/")
        self.call(Path(path).write_text, f"{value}\n")

    def read_sysctl(self, key: str) -> str:
        path = key if key.startswith("/") else "/proc/sys/" + key.replace(".", "/")
        return self.call(Path(path).read_text).strip()


@contextlib.contextmanager
def netns(prefix: str = "nk") -> Iterator[Netns]:
    """A new namespace named ``<prefix>-<pid>-<n>`` with ``lo`` up; deleted on exit, with every
    process still running inside it killed first (a left-over server would keep it alive)."""
    ns = Netns(f"{prefix}-{os.getpid()}-{next(_counter)}")
    _ip("netns", "add", ns.name)
    try:
        ns.ip("link", "set", "lo", "up")
        yield ns
    finally:
        _destroy(ns)


def _destroy(ns: Netns) -> None:
    pids = _ip("netns", "pids", ns.name, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), 9)
    _ip("netns", "delete", ns.name, check=False)


def _where(ns: Netns | None) -> list[str]:
    return ["-n", ns.name] if ns is not None else []


def veth(a: Netns | None, b: Netns | None, a_addr: str | None = None, b_addr: str | None = None, *,
         a_name: str | None = None, b_name: str | None = None, a_master: str | None = None,
         b_master: str | None = None, hairpin: bool = False) -> tuple[str, str]:
    """A veth pair between ``a`` and ``b`` (None = the test's own namespace: use sparingly, the
    runner's namespace should stay untouched), both ends up. Optional ``x_addr`` ("10.0.0.1/24")
    is assigned, optional ``x_master`` enslaves that end to a bridge in its namespace, with
    ``hairpin`` mode on if asked (the bridge may then send a frame back out of the port it came
    in by: needed when br_netfilter bridges a DNATed packet back to its sender, as a container
    reaching itself through a published port is). Returns the two device names. The pair
    disappears with either namespace."""
    n = next(_counter)
    a_name = a_name or f"nka{os.getpid() % 100000}x{n}"[:15]
    b_name = b_name or f"nkb{os.getpid() % 100000}x{n}"[:15]
    # create both ends in a, then move b's end: "ip link add ... netns" is one atomic step
    _ip(*_where(a), "link", "add", a_name, "type", "veth", "peer", "name", b_name,
        *(["netns", b.name] if b is not None else []))
    if b is None and a is not None:
        _ip("-n", a.name, "link", "set", b_name, "netns", str(os.getpid()))  # into the runner's namespace
    for ns, name, addr, master in ((a, a_name, a_addr, a_master), (b, b_name, b_addr, b_master)):
        if master:
            _ip(*_where(ns), "link", "set", name, "master", master)
            if hairpin:
                _ip(*_where(ns), "link", "set", name, "type", "bridge_slave", "hairpin", "on")
        if addr:
            _ip(*_where(ns), "addr", "add", addr, "dev", name)
        _ip(*_where(ns), "link", "set", name, "up")
    return a_name, b_name


def bridge(ns: Netns, name: str, addr: str | None = None) -> str:
    """A bridge device in ``ns``, up, with ``addr`` ("10.77.0.1/24") if given."""
    ns.ip("link", "add", name, "type", "bridge")
    if addr:
        ns.ip("addr", "add", addr, "dev", name)
    ns.ip("link", "set", name, "up")
    return name


def route(ns: Netns, dest: str, via: str) -> None:
    """``ip route add dest via via`` in ``ns`` (``dest`` may be "default")."""
    ns.ip("route", "add", dest, "via", via)


# -- echo servers and clients --------------------------------------------------------------------
@dataclass
class EchoServer:
    """A TCP or UDP server in a namespace, served by a thread of the test process."""

    ns: Netns
    proto: str
    host: str
    port: int
    sock: socket.socket
    stop: threading.Event = field(default_factory=threading.Event)
    seen: list[str] = field(default_factory=list)  # peer addresses, in arrival order

    def serve(self) -> None:
        self.sock.settimeout(0.05)  # poll the stop flag: closing a socket does not wake accept()
        while not self.stop.is_set():
            try:
                if self.proto == "udp":
                    data, peer = self.sock.recvfrom(65535)
                    self.seen.append(peer[0])
                    self.sock.sendto(_answer(peer[0], data), peer)
                else:
                    conn, peer = self.sock.accept()
                    self.seen.append(peer[0])
                    threading.Thread(target=_serve_tcp, args=(conn, peer[0]), daemon=True).start()
            except (TimeoutError, OSError):
                continue


def _answer(peer: str, data: bytes) -> bytes:
    return peer.encode() + b" " + data


def _serve_tcp(conn: socket.socket, peer: str) -> None:
    with conn:
        conn.settimeout(5)
        chunks = []
        with contextlib.suppress(OSError):
            while chunk := conn.recv(65536):  # the client half-closes after its request
                chunks.append(chunk)
            conn.sendall(_answer(peer, b"".join(chunks)))


@contextlib.contextmanager
def echo_server(ns: Netns, proto: str = "tcp", port: int = 0, host: str = "0.0.0.0") -> Iterator[EchoServer]:
    """Serve ``proto`` ("tcp"/"udp") on ``host:port`` inside ``ns`` (port 0: any free one, see
    ``.port``); listening before the block starts, stopped and closed after it."""
    family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    sock = ns.socket(family, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    if proto == "tcp":
        sock.listen(64)
    server = EchoServer(ns, proto, host, sock.getsockname()[1], sock)
    thread = threading.Thread(target=server.serve, name=f"echo-{ns.name}-{proto}-{server.port}", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        thread.join(timeout=5)
        sock.close()


def request(ns: Netns, host: str, port: int, proto: str = "tcp", payload: str = "hello",
            timeout: float = 2.0, source: str | None = None) -> str | None:
    """Send ``payload`` from inside ``ns`` to an echo server; its answer ("<peer> <payload>"),
    or None if nothing came back in time (refused, dropped, unreachable)."""
    family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    sock = ns.socket(family, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM)
    with sock:
        sock.settimeout(timeout)
        try:
            if source:
                sock.bind((source, 0))
            if proto == "udp":
                sock.sendto(payload.encode(), (host, port))
                return sock.recv(65535).decode()
            sock.connect((host, port))
            sock.sendall(payload.encode())
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks).decode() or None
        except OSError:  # TimeoutError, ConnectionRefusedError, unreachable...
            return None


def peer_seen(ns: Netns, host: str, port: int, proto: str = "tcp", timeout: float = 2.0) -> str | None:
    """The source address the echo server at ``host:port`` saw for a request from ``ns``."""
    answer = request(ns, host, port, proto, timeout=timeout)
    return answer.split(" ", 1)[0] if answer else None
