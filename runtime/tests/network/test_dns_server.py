"""The resolver as a real process, on loopback addresses only, with stub upstream servers.

Clients are told apart by source address: each test query comes from a socket bound to a
127.0.0.x address of its own, which the table lists (or not) as a client.
"""

from __future__ import annotations

import os
import random
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from berth.network.dns import codec, control, lock_held
from berth.paths import Paths

NET1, NET2 = "1" * 64, "2" * 64
WEB, DB = "172.18.0.2", "172.18.0.3"
CLIENT, CLIENT2, STRANGER = "127.0.0.10", "127.0.0.11", "127.0.0.12"
LISTEN, LISTEN2 = "127.0.0.1", "127.0.0.2"


def _free_port(addresses: tuple[str, ...]) -> int:
    """A port free for UDP and TCP on every address (the server binds the same on each)."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 60000)
        socks = []
        try:
            for addr in addresses:
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    s.bind((addr, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port")


class Stub:
    """An upstream DNS server: ``example.test`` A -> ``ip``, anything else NXDOMAIN; ``silent``
    never answers (a dead upstream). Records what it was asked and the replies it sent."""

    def __init__(self, addr: str, port: int, ip: str, *, silent: bool = False) -> None:
        self.addr, self.port, self.ip, self.silent = addr, port, ip, silent
        self.asked: list[tuple[str, str]] = []  # (proto, name)
        self.sent: list[bytes] = []
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((addr, port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((addr, port))
        self.tcp.listen(8)
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def __str__(self) -> str:
        return f"{self.addr}:{self.port}"

    def _reply(self, data: bytes, proto: str) -> bytes | None:
        q = codec.parse_query(data)
        self.asked.append((proto, q.question.key))
        if self.silent:
            return None
        if q.question.key == "example.test" and q.question.qtype == codec.TYPE_A:
            out = codec.response(q, codec.NOERROR, [codec.address_record(q.question.name, self.ip, 42)])
        else:
            out = codec.response(q, codec.NXDOMAIN)
        self.sent.append(out)
        return out

    def _run(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self.udp, selectors.EVENT_READ)
            sel.register(self.tcp, selectors.EVENT_READ)
            while not self._stop:
                for key, _ in sel.select(0.1):
                    if key.fileobj is self.udp:
                        data, peer = self.udp.recvfrom(65535)
                        out = self._reply(data, "udp")
                        if out:
                            self.udp.sendto(out, peer)
                    else:
                        conn, _ = self.tcp.accept()
                        with conn:
                            conn.settimeout(2)
                            n = struct.unpack("!H", conn.recv(2))[0]
                            out = self._reply(conn.recv(n), "tcp")
                            if out:
                                conn.sendall(struct.pack("!H", len(out)) + out)

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self.udp.close()
        self.tcp.close()


def ask(server: tuple[str, int], name: str, qtype: int = codec.TYPE_A, *, src: str = CLIENT,
        tcp: bool = False, timeout: float = 3.0, ident: int | None = None) -> codec.Message:
    ident = random.randrange(65536) if ident is None else ident
    data = codec.build_query(name, qtype, ident=ident)
    kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.settimeout(timeout)
        s.bind((src, 0))
        if tcp:
            s.connect(server)
            s.sendall(struct.pack("!H", len(data)) + data)
            n = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))[0]
            reply = s.recv(n, socket.MSG_WAITALL)
        else:
            s.sendto(data, server)
            reply = s.recv(65535)
    msg = codec.parse_message(reply)
    assert msg.ident == ident and msg.is_response
    return msg


def values(msg: codec.Message) -> list[str]:
    return [rr.value for rr in msg.answers]


@pytest.fixture(scope="module")
def ports() -> tuple[int, int]:
    """The resolver's port and the stubs' port."""
    return _free_port((LISTEN, LISTEN2)), _free_port(("127.0.0.3", "127.0.0.4", "127.0.0.5"))


@pytest.fixture(scope="module")
def stubs(ports: tuple[int, int]) -> Iterator[dict[str, Stub]]:
    port = ports[1]
    made = {"default": Stub("127.0.0.3", port, "192.0.2.3"), "own": Stub("127.0.0.4", port, "192.0.2.4"),
            "dead": Stub("127.0.0.5", port, "192.0.2.5", silent=True)}
    yield made
    for stub in made.values():
        stub.close()


@pytest.fixture
def paths(tmp_path: Path) -> Iterator[Paths]:
    p = Paths.for_root(tmp_path / "root")
    yield p
    control.stop(p)
    assert not lock_held(p.run_dir / "network" / "dns.lock")
    log = p.run_dir / "network" / "dns.log"
    assert "unexpected" not in (log.read_text() if log.exists() else "")


def make_table(port: int, stubs: dict[str, Stub], *, listen: tuple[str, ...] = (LISTEN,),
               web: str = WEB) -> dict[str, Any]:
    return {
        "listen": [{"address": a, "port": port} for a in listen],
        "upstream": [str(stubs["default"])],
        "clients": {CLIENT: {"networks": [NET1], "upstream": []},
                    CLIENT2: {"networks": [NET2, NET1], "upstream": [str(stubs["own"])]}},
        "names": {NET1: {"web": [web], "0123456789ab": [web], "db": [DB]},
                  NET2: {"db": ["172.19.0.3"]}},
    }


def _log(paths: Paths) -> str:
    return (paths.run_dir / "network" / "dns.log").read_text()


def _wait_for(cond: Any, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# -- tests -----------------------------------------------------------------------------------
def test_start_answer_and_forward(paths: Paths, ports: tuple[int, int], stubs: dict[str, Stub]) -> None:
    port = ports[0]
    server = (LISTEN, port)
    control.write_table(paths, make_table(port, stubs))
    t0 = time.monotonic()
    control.ensure_running(paths)
    ready = time.monotonic()
    first = ask(server, "web")
    answered = time.monotonic()
    print(f"\nensure_running: {1000 * (ready - t0):.0f} ms; first answer: {1000 * (answered - t0):.0f} ms")
    assert answered - t0 < 1.5
    assert values(first) == [WEB] and first.answers[0].ttl == 600 and first.flags & codec.FLAG_AA

    # names: case-insensitive, trailing dot, short ID; the answer echoes the question as asked
    for name in ("WEB", "web.", "0123456789AB"):
        msg = ask(server, name)
        assert values(msg) == [WEB] and msg.questions[0].name == name.rstrip(".")
    aaaa = ask(server, "web", codec.TYPE_AAAA)
    assert (aaaa.rcode, aaaa.answers) == (codec.NOERROR, ())  # NODATA, not NXDOMAIN
    assert values(ask(server, codec.reverse_name(WEB), codec.TYPE_PTR)) == ["web"]
    assert values(ask(server, "db", src=CLIENT2)) == ["172.19.0.3"]  # its first network wins

    # forwarding: the table's upstream; the reply relayed byte for byte
    fwd = ask(server, "example.test", ident=4321)
    assert values(fwd) == ["192.0.2.3"] and fwd.answers[0].ttl == 42
    assert codec.build_message(fwd) == stubs["default"].sent[-1]
    # a client's own upstream (its --dns)
    assert values(ask(server, "example.test", src=CLIENT2)) == ["192.0.2.4"]
    # an unknown client gets forwarding only, NXDOMAIN relayed as is
    stranger = ask(server, "web", src=STRANGER)
    assert stranger.rcode == codec.NXDOMAIN and ("udp", "web") in stubs["default"].asked

    # a second ensure_running starts nothing
    pid = control.running_pid(paths)
    control.ensure_running(paths)
    assert control.running_pid(paths) == pid
    assert (paths.run_dir / "network" / "dns.pid").read_text().strip() == str(pid)


def test_tcp(paths: Paths, ports: tuple[int, int], stubs: dict[str, Stub]) -> None:
    port = ports[0]
    control.write_table(paths, make_table(port, stubs))
    control.ensure_running(paths)
    assert values(ask((LISTEN, port), "Web.", tcp=True)) == [WEB]
    before = len(stubs["default"].asked)
    assert values(ask((LISTEN, port), "example.test", tcp=True)) == ["192.0.2.3"]
    assert stubs["default"].asked[before:] == [("tcp", "example.test")]  # forwarded over TCP
    # several queries on one connection, answered in order
    with socket.create_connection((LISTEN, port), timeout=3, source_address=(CLIENT, 0)) as s:
        for i, name in enumerate(("web", "db", "web")):
            data = codec.build_query(name, codec.TYPE_A, ident=i)
            s.sendall(struct.pack("!H", len(data)) + data)
        got = []
        for _ in range(3):
            n = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))[0]
            msg = codec.parse_message(s.recv(n, socket.MSG_WAITALL))
            got.append((msg.ident, values(msg)))
    assert got == [(0, [WEB]), (1, [DB]), (2, [WEB])]


def test_slow_upstream_blocks_nobody(paths: Paths, ports: tuple[int, int], stubs: dict[str, Stub]) -> None:
    port = ports[0]
    table = make_table(port, stubs)
    table["clients"][CLIENT]["upstream"] = [str(stubs["dead"]), str(stubs["own"])]
    control.write_table(paths, table)
    control.ensure_running(paths)
    result: dict[str, Any] = {}

    def slow() -> None:
        t = time.monotonic()
        result["msg"] = ask((LISTEN, port), "example.test", timeout=5)
        result["took"] = time.monotonic() - t

    thread = threading.Thread(target=slow)
    thread.start()
    _wait_for(lambda: ("udp", "example.test") in stubs["dead"].asked)
    t = time.monotonic()
    assert values(ask((LISTEN, port), "web")) == [WEB]
    assert time.monotonic() - t < 0.5  # while the forward waits on the dead upstream
    thread.join()
    # the dead upstream timed out (~2 s), the next one answered
    assert values(result["msg"]) == ["192.0.2.4"] and 1.5 < result["took"] < 4


def test_all_upstreams_failing_is_servfail(paths: Paths, ports: tuple[int, int], stubs: dict[str, Stub]) -> None:
    port = ports[0]
    table = make_table(port, stubs)
    # 127.0.0.6 has nothing listening: the kernel answers port unreachable at once
    table["clients"][CLIENT]["upstream"] = [f"127.0.0.6:{ports[1]}"]
    control.write_table(paths, table)
    control.ensure_running(paths)
    assert ask((LISTEN, port), "example.test").rcode == codec.SERVFAIL
    assert "127.0.0.6" in _log(paths)


def test_reload_table_and_listen_set(paths: Paths, ports: tuple[int, int], stubs: dict[str, Stub]) -> None:
    port = ports[0]
    control.write_table(paths, make_table(port, stubs))
    control.ensure_running(paths)
    pid = control.running_pid(paths)
    assert values(ask((LISTEN, port), "web")) == [WEB]

    # occupy the second address: the server cannot bind it, logs, goes on
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind((LISTEN2, port))
    control.write_table(paths, make_table(port, stubs, listen=(LISTEN, LISTEN2), web="172.18.0.9"))
    control.reload(paths)  # returns once the server serves the new table
    assert values(ask((LISTEN, port), "web")) == ["172.18.0.9"]
    assert f"cannot listen on {LISTEN2}:{port}" in _log(paths)
    assert control.running_pid(paths) == pid

    # freed: the next reload binds it
    blocker.close()
    control.reload(paths)
    assert f"listening on {LISTEN2}:{port} now" in _log(paths)
    assert values(ask((LISTEN2, port), "web")) == ["172.18.0.9"]
    assert values(ask((LISTEN2, port), "web", tcp=True)) == ["172.18.0.9"]

    # the first address goes away: closed
    control.write_table(paths, make_table(port, stubs, listen=(LISTEN2,)))
    control.reload(paths)
    _wait_for(lambda: _bindable(LISTEN, port))
    assert values(ask((LISTEN2, port), "web")) == [WEB]
    assert control.running_pid(paths) == pid

    # a table the server cannot read (written behind write_table's back): it keeps the last
    # good one and reload says why
    (paths.run_dir / "network" / "dns.json").write_text('{"listen": [{"address": "nope"}]}')
    with pytest.raises(control.ResolverError, match=r"rejected its table.*nope"):
        control.reload(paths)
    assert values(ask((LISTEN2, port), "web")) == [WEB]
    control.write_table(paths, make_table(port, stubs, listen=(LISTEN2,)))
    control.reload(paths)
    assert control.running_pid(paths) == pid


def _bindable(addr: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((addr, port))
        except OSError:
            return False
        return True


def test_exits_when_the_table_empties_and_restarts(paths: Paths, ports: tuple[int, int],
                                                   stubs: dict[str, Stub]) -> None:
    port = ports[0]
    netdir = paths.run_dir / "network"
    control.write_table(paths, make_table(port, stubs))
    control.ensure_running(paths)
    control.write_table(paths, {"listen": [], "upstream": [], "clients": {}, "names": {}})
    control.reload(paths)  # returns once it has exited
    assert not lock_held(netdir / "dns.lock")
    assert control.running_pid(paths) is None and not (netdir / "dns.pid").exists()
    # nothing to serve: reload and ensure_running start nothing
    control.reload(paths)
    control.ensure_running(paths)
    assert control.running_pid(paths) is None
    # a table again: reload starts the server
    control.write_table(paths, make_table(port, stubs))
    control.reload(paths)
    assert control.running_pid(paths) is not None
    assert values(ask((LISTEN, port), "web")) == [WEB]

    # empty then full at once (a restart of the last container): a server must end up serving
    for _ in range(5):
        control.write_table(paths, {"listen": []})
        control.reload(paths)
        control.write_table(paths, make_table(port, stubs))
        control.reload(paths)
        assert values(ask((LISTEN, port), "web")) == [WEB]


def test_sigterm_and_stop(paths: Paths, ports: tuple[int, int], stubs: dict[str, Stub]) -> None:
    port = ports[0]
    netdir = paths.run_dir / "network"
    control.write_table(paths, make_table(port, stubs))
    control.ensure_running(paths)
    pid = control.running_pid(paths)
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    _wait_for(lambda: not lock_held(netdir / "dns.lock"))
    assert not (netdir / "dns.pid").exists() and "stopped" in _log(paths)
    assert _bindable(LISTEN, port)
    control.ensure_running(paths)
    assert control.running_pid(paths) not in (None, pid)
    control.stop(paths)
    assert control.running_pid(paths) is None and not (netdir / "dns.pid").exists()
    control.stop(paths)  # nothing running: fine


def test_one_server_per_root(paths: Paths, ports: tuple[int, int], stubs: dict[str, Stub]) -> None:
    port = ports[0]
    control.write_table(paths, make_table(port, stubs))
    control.ensure_running(paths)
    pid = control.running_pid(paths)
    # started by hand while one runs: it sees the lock and leaves at once
    second = subprocess.run([sys.executable, "-m", "berth.network.dns", str(paths.root)],
                            capture_output=True, timeout=10)
    assert second.returncode == 0
    assert control.running_pid(paths) == pid
    assert values(ask((LISTEN, port), "web")) == [WEB]


def test_garbage_is_ignored(paths: Paths, ports: tuple[int, int], stubs: dict[str, Stub]) -> None:
    port = ports[0]
    control.write_table(paths, make_table(port, stubs))
    control.ensure_running(paths)
    pid = control.running_pid(paths)
    rng = random.Random(7)
    good = codec.build_query("web", codec.TYPE_A, ident=1)
    reply = codec.response(codec.parse_query(good))
    junk = [b"", b"\x00", b"\xff" * 11, reply, struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c"]
    junk += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))) for _ in range(150)]
    for _ in range(150):
        buf = bytearray(good)
        buf[rng.randrange(len(buf))] = rng.randrange(256)
        junk.append(bytes(buf))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((CLIENT, 0))
        for data in junk:
            s.sendto(data, (LISTEN, port))
    # over TCP too: a bad length prefix, a cut-off message
    for raw in (b"\xff\xff" + b"abc", b"\x00\x05\x00", b"\x00\x0c" + b"\x00" * 12):
        with socket.create_connection((LISTEN, port), timeout=3) as c:
            c.sendall(raw)
            c.shutdown(socket.SHUT_WR)
            c.recv(100)
    # a parseable header with a broken question gets FORMERR
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.bind((CLIENT, 0))
        s.sendto(junk[4], (LISTEN, port))
        while (msg := codec.parse_message(s.recv(65535))).ident != 1 or msg.rcode != codec.FORMERR:
            pass
    assert values(ask((LISTEN, port), "web")) == [WEB]
    assert control.running_pid(paths) == pid


def test_bad_table_is_refused_early(paths: Paths) -> None:
    with pytest.raises(control.TableError):
        control.write_table(paths, {"listen": [{"address": "not-an-ip"}]})
    assert control.running_pid(paths) is None
