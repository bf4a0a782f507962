"""Networking figures of ``make bench`` (called from ``run.py``).

A server container (the host's Python, bind-mounted read-only into the busybox image) publishes
two ports: a sink (reads a stream to EOF, answers the byte count) and a connection-rate port
(per connection: read 1 byte, answer 1 byte, close). A client on the host measures:

* ``throughput_MBps``: one TCP stream of ``BENCH_NET_MB`` MiB (default 1024), timed until the
  sink has counted every byte; median of 3;
* ``conn_per_s``: connect, 1-byte exchange, wait for the server's close, from ``CLIENTS`` client
  processes; median of 3 slices of ``BENCH_NET_SECS`` / 3 seconds (default 3 s in all);

each through the published port on 127.0.0.1 (DNAT in ``output`` plus masquerade), through the
published port on the host's own non-loopback address if it has one (DNAT, no masquerade), and,
for context, straight to the container's address (no DNAT) and to the same server run as a host
process on 127.0.0.1 (no container at all: the ceiling of this Python client and server).

Anchor: the same server and client against ``docker run -d -p``, when a Docker daemon answers
``docker info`` (``anchor.py``), measured in the same rounds as berth's; ratios are berth/docker
(higher is better for berth). ``docker run --rm`` latency is ``runbench.py``'s.

Everything runs in a throw-away engine root with its own bridge and subnet
(``rtkit.isolated_network_config``); the containers, the bridge, the firewall table and the root
are removed at the end.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from anchor import docker_available, docker_note, row

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BERTH = [sys.executable, "-m", "berth.cli.main"]
BUSYBOX_SCRIPT = REPO / "tests" / "images" / "busybox-rootfs.sh"
STREAM_MB = int(os.environ.get("BENCH_NET_MB", "1024"))
ROUNDS = 3  # medians: one measurement is at the mercy of whatever else runs on the machine
RATE_SECS = float(os.environ.get("BENCH_NET_SECS", "3"))
CLIENTS = 2  # connection-rate client processes (and server processes): the machine has few cores
# the direct path has a rate port of its own: connections through the published port on 127.0.0.1
# are masqueraded to the bridge's address, the source address of direct connections from the host
# too, so on a shared port the server's TIME_WAITs of one path refuse SYNs of the other (whose TCP
# timestamps and sequence numbers start elsewhere): 1 s SYN retransmits, a rate 3-4x too low
SINK_PORT, RATE_PORT, DIRECT_RATE_PORT = 5001, 5002, 5003
CONTAINER_PYTHON = f"/py/bin/python{sys.version_info.major}.{sys.version_info.minor}"
DOCKER_IMAGE = "berth-bench/busybox:latest"

SERVER = r"""
import os, socket, sys, threading

def listener(port, backlog):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], port))
    s.listen(backlog)
    return s

def drain(c):
    buf = bytearray(1 << 20)
    n = 0
    while True:
        k = c.recv_into(buf)
        if not k:
            break
        n += k
    c.sendall(str(n).encode())
    c.close()

def sink(s):
    while True:
        c, _ = s.accept()
        threading.Thread(target=drain, args=(c,), daemon=True).start()

def rate(s):
    while True:
        c, _ = s.accept()
        c.recv(1)
        c.send(b"x")
        c.close()

# argv: address, sink port, processes per rate port, rate ports...
sink_s = listener(int(sys.argv[2]), 16)
for port in sys.argv[4:]:
    rate_s = listener(int(port), 4096)
    for _ in range(int(sys.argv[3])):
        if os.fork() == 0:
            rate(rate_s)
sink(sink_s)
"""


# -- the client -------------------------------------------------------------------
def stream(host: str, port: int, mb: int = STREAM_MB) -> float:
    """MB/s (MiB) of one stream of ``mb`` MiB, timed until the sink reports every byte."""
    buf = memoryview(bytes(1 << 20))
    with socket.create_connection((host, port), timeout=30) as s:
        t0 = time.perf_counter()
        for _ in range(mb):
            s.sendall(buf)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while chunk := s.recv(64):
            got += chunk
        dt = time.perf_counter() - t0
    if int(got or 0) != mb << 20:
        raise RuntimeError(f"sink at {host}:{port} counted {got!r} bytes, sent {mb << 20}")
    return mb / dt


def _rate_worker(host: str, port: int, secs: float, out) -> None:
    n = errors = 0
    end = time.perf_counter() + secs
    while time.perf_counter() < end:
        try:
            with socket.create_connection((host, port), timeout=5) as s:
                s.sendall(b"x")
                if s.recv(1) != b"x":
                    raise OSError("no answer")
                s.recv(1)  # the server's close: it, not this client, keeps the TIME_WAIT
            n += 1
        except OSError:
            errors += 1
    out.put((n, errors))


def syn_retrans() -> int:
    """The host's count of retransmitted SYNs (TcpExt TCPSynRetrans): a refused or dropped SYN
    costs the client a 1 s timeout, so any during a rate run means the figure is not the path's."""
    with open("/proc/net/netstat") as f:
        lines = [line.split() for line in f if line.startswith("TcpExt:")]
    return int(dict(zip(lines[0], lines[1], strict=True)).get("TCPSynRetrans", 0))


def conn_rate(host: str, port: int, secs: float = RATE_SECS, clients: int = CLIENTS) -> tuple[float, int]:
    """Connections per second (connect, 1-byte exchange, close) from ``clients`` processes, and
    the SYNs retransmitted meanwhile."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_rate_worker, args=(host, port, secs, out)) for _ in range(clients)]
    syn0 = syn_retrans()
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    counts = [out.get(timeout=secs + 60) for _ in procs]
    for p in procs:
        p.join()
    dt = time.perf_counter() - t0
    errors = sum(e for _, e in counts)
    if errors:
        raise RuntimeError(f"{errors} failed connections to {host}:{port}")
    return sum(n for n, _ in counts) / dt, syn_retrans() - syn0


def wait_ready(host: str, port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1) as s:
                s.sendall(b"x")
                if s.recv(1) == b"x":
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server at {host}:{port} did not answer within {timeout}s")
        time.sleep(0.1)


def measure(paths: dict[str, tuple[str, int, int]]) -> dict[str, dict]:
    """``name -> (host, sink port, rate port)`` to ``name -> {throughput_MBps, conn_per_s, ...}``.

    Round-robin over the paths, ROUNDS times (streams, then rate slices of RATE_SECS / ROUNDS), the
    median of each: a burst of other work on the machine then hits one round of every path, not
    every round of one path."""
    for host, _, rate_port in paths.values():
        wait_ready(host, rate_port)
    streams: dict[str, list[float]] = {name: [] for name in paths}
    rates: dict[str, list[float]] = {name: [] for name in paths}
    retrans = dict.fromkeys(paths, 0)
    for _ in range(ROUNDS):
        for name, (host, sink_port, _) in paths.items():
            streams[name].append(stream(host, sink_port))
    for _ in range(ROUNDS):
        for name, (host, _, rate_port) in paths.items():
            rate, syns = conn_rate(host, rate_port, RATE_SECS / ROUNDS)
            rates[name].append(rate)
            retrans[name] += syns
    return {name: {"throughput_MBps": statistics.median(streams[name]), "throughput_all": streams[name],
                   "conn_per_s": statistics.median(rates[name]), "conn_per_s_all": rates[name],
                   "syn_retrans": retrans[name]} for name in paths}


def host_address() -> str | None:
    """The host's own non-loopback address (the default route's source), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("198.51.100.1", 9))  # no packet is sent: this only asks the routing table
        except OSError:
            return None
        addr = s.getsockname()[0]
    return None if addr.startswith("127.") or addr == "0.0.0.0" else addr


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("0.0.0.0", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


# -- the engines ----------------------------------------------------------------------
def python_mounts() -> list[str]:
    """``-v`` options that let a busybox container run the host's Python at CONTAINER_PYTHON."""
    binds = [(sys.base_prefix, "/py"), ("/usr/lib", "/usr/lib"), ("/lib", "/lib")]
    if os.path.isdir("/lib64"):
        binds.append(("/lib64", "/lib64"))
    out = []
    for src, dst in binds:
        out += ["-v", f"{src}:{dst}:ro"]
    # an interpreter built with --enable-shared finds libpython through an absolute RUNPATH
    return [*out, "-e", "LD_LIBRARY_PATH=/py/lib"]


def server_args(clients: int = CLIENTS) -> list[str]:
    return [*python_mounts(), "busybox", CONTAINER_PYTHON, "-c", SERVER, "0.0.0.0", str(SINK_PORT), str(clients),
            str(RATE_PORT), str(DIRECT_RATE_PORT)]


def published_paths(sink: int, rate: int, container_ip: str, host_ip: str | None) -> dict:
    paths = {"published_loopback": ("127.0.0.1", sink, rate)}
    if host_ip:
        paths["published_host_addr"] = (host_ip, sink, rate)
    paths["container_ip_direct"] = (container_ip, SINK_PORT, DIRECT_RATE_PORT)
    return paths


@contextlib.contextmanager
def berth_server(tmp: Path, busybox_tar: Path, host_ip: str | None):
    """The server in a berth container; yields (its paths, facts for the results)."""
    sys.path.insert(0, str(REPO / "runtime" / "tests"))
    from rtkit import isolated_network_config

    from berth.engine import Engine

    root = tmp / "root"
    config = isolated_network_config(root)
    engine = Engine(root=root)
    engine.import_image(busybox_tar, "busybox")
    berth = [*BERTH, "--root", str(root)]
    try:
        sink, rate = free_ports(2)
        subprocess.run([*berth, "run", "-d", "--name", "netsrv", "-p", f"{sink}:{SINK_PORT}",
                        "-p", f"{rate}:{RATE_PORT}", *server_args()], check=True, stdout=subprocess.DEVNULL)
        info = json.loads(subprocess.run([*berth, "inspect", "netsrv"], check=True, capture_output=True).stdout)[0]
        ip = info["NetworkSettings"]["IPAddress"]
        yield published_paths(sink, rate, ip, host_ip), {"bridge": config["bridge"], "subnet": config["bip"]}
    finally:
        subprocess.run([*berth, "rm", "-f", "netsrv"], capture_output=True)
        engine.networks.shutdown()


@contextlib.contextmanager
def docker_server(busybox_tar: Path, host_ip: str | None):
    """The same server in a Docker container. The bench's dockerd (bench/anchors.sh) runs with
    --iptables=false: its published ports go through docker-proxy, not DNAT."""
    subprocess.run(["docker", "import", str(busybox_tar), DOCKER_IMAGE], check=True, stdout=subprocess.DEVNULL)
    name = f"berth-bench-net-{os.getpid()}"
    try:
        sink, rate = free_ports(2)
        args = server_args()
        args[args.index("busybox")] = DOCKER_IMAGE
        subprocess.run(["docker", "run", "-d", "--name", name, "-p", f"{sink}:{SINK_PORT}",
                        "-p", f"{rate}:{RATE_PORT}", *args], check=True, stdout=subprocess.DEVNULL)
        ip = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                             name], check=True, capture_output=True, text=True).stdout.strip()
        yield published_paths(sink, rate, ip, host_ip), {}
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        subprocess.run(["docker", "rmi", "-f", DOCKER_IMAGE], capture_output=True)


def bench_host_process() -> dict:
    """The same server as a plain host process on 127.0.0.1: the client/server ceiling."""
    sink, rate = free_ports(2)
    proc = subprocess.Popen([sys.executable, "-c", SERVER, "127.0.0.1", str(sink), str(CLIENTS), str(rate)],
                            start_new_session=True)
    try:
        return measure({"host_process_loopback": ("127.0.0.1", sink, rate)})["host_process_loopback"]
    finally:
        os.killpg(proc.pid, 9)  # the server and the rate workers it forked
        proc.wait()


def bench() -> dict:
    """All networking figures (``results["network"]``). With a Docker daemon, the berth and the
    Docker server run side by side and ``measure`` goes round-robin over the paths of both."""
    t0 = time.perf_counter()
    host_ip = host_address()
    docker = docker_available()
    results: dict = {"stream_MiB": STREAM_MB, "rate_secs": RATE_SECS, "rate_clients": CLIENTS, "host_addr": host_ip}
    with tempfile.TemporaryDirectory(prefix="berth-netbench-") as tmp, contextlib.ExitStack() as stack:
        tmp = Path(tmp)
        tar = tmp / "busybox-rootfs.tar"
        subprocess.run(["bash", str(BUSYBOX_SCRIPT), str(tar)], check=True, capture_output=True)
        servers = {"berth": stack.enter_context(berth_server(tmp, tar, host_ip))}
        if docker:
            servers["docker"] = stack.enter_context(docker_server(tar, host_ip))
        figs = measure({f"{engine}/{name}": path for engine, (paths, _) in servers.items()
                        for name, path in paths.items()})
        for engine, (paths, facts) in servers.items():
            results[engine] = {**facts, "paths": {name: figs[f"{engine}/{name}"] for name in paths}}
    results["host_process_loopback"] = bench_host_process()
    if docker:
        results["ratio_berth_docker"] = ratios(results["berth"], results["docker"])
        results["docker_note"] = "Docker's published ports: docker-proxy (dockerd --iptables=false)"
    else:
        results["docker"] = None
        results["note"] = docker_note()
    results["elapsed_s"] = time.perf_counter() - t0
    return results


def ratios(berth: dict, docker: dict) -> dict:
    return {name: {k: figs[k] / docker["paths"][name][k] for k in ("throughput_MBps", "conn_per_s")}
            for name, figs in berth["paths"].items() if name in docker["paths"]}


LABELS = {
    "published_loopback": "-p via 127.0.0.1",
    "published_host_addr": "-p via host addr",
    "container_ip_direct": "  container IP (no DNAT)",
}


def table(net: dict) -> list[str]:
    """Rows for run.py's table (figure, berth, docker, ratio)."""
    dk = net.get("docker") or {}
    rt = net.get("ratio_berth_docker") or {}
    rows = []
    retrans = [f"{engine} {name} {figs['syn_retrans']}" for engine in ("berth", "docker")
               for name, figs in ((net.get(engine) or {}).get("paths") or {}).items() if figs["syn_retrans"]]
    for key, unit in (("throughput_MBps", "MB/s"), ("conn_per_s", "conn/s")):
        title = f"1 stream of {net['stream_MiB']} MiB, median of {ROUNDS}" if key == "throughput_MBps" else \
            f"{net['rate_clients']} clients, median of {ROUNDS} x {net['rate_secs'] / ROUNDS:g} s"
        rows.append(f"net {unit} ({title})")
        for name, figs in net["berth"]["paths"].items():
            rows.append(row(f"  {LABELS[name]}", figs[key], (dk.get("paths") or {}).get(name, {}).get(key),
                            rt.get(name, {}).get(key), ".0f"))
        rows.append(f"{'    host process (no container)':<34}{net['host_process_loopback'][key]:>10.0f}")
    if retrans:  # host-wide counter: another program's retransmits count too
        rows.append(f"warning: SYNs retransmitted during the conn/s runs ({', '.join(retrans)}): "
                    "1 s stalls, those rates are low")
    for key in ("docker_note", "note"):
        if net.get(key):
            rows.append(f"  {net[key]}")
    return rows


if __name__ == "__main__":
    res = bench()
    print("\n".join(table(res)))
    print(json.dumps(res, indent=2))
