"""The resolver process: sockets, the select loop, forwarding, reloads and exit.

Answering is ``answer()`` (pure: table + packet + client -> reply bytes, a ``Forward`` or None);
the rest is plumbing. The selector thread owns the sockets and the table reference; worker
threads only read the (immutable) table they were handed and send on sockets that may close
under them (their OSError is then ignored: the client retries).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import selectors
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from berth.network.dns import Files, codec, table_digest
from berth.network.dns.table import EMPTY, HOST_RESOLV_CONF, Table, TableError, Upstream, loads, read
from berth.structs import dataclass

LOCAL_TTL = 600  # Docker's
UPSTREAM_TIMEOUT = 2.0  # per upstream; resolvers time out at 5 s, so two tries fit
TCP_IDLE = 10.0  # an idle client connection is closed after this
MAX_TCP = 64  # concurrent client TCP connections; more are refused
FORWARD_WORKERS = 32
FORWARD_BACKLOG = 512  # queued forwards beyond this are dropped (a flood must not eat memory)
TICK = 5.0  # retry failed binds, notice a changed table or resolv.conf without a signal
LOCK_WAIT = 0.3  # a control probe holds the lock shared for an instant: do not give up on it
UDP_BURST = 64  # datagrams read from one socket before the others get their turn

# Linux values; the socket module only has them from Python 3.12
IP_FREEBIND = 15
IPV6_FREEBIND = 78


def log(message: str) -> None:
    try:
        sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} dns[{os.getpid()}] {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # no log is better than a dead resolver


class _Throttle:
    """Logs a given kind of message at most once a minute (a dead upstream is asked a lot)."""

    def __init__(self, every: float = 60.0) -> None:
        self._every = every
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, key: str, message: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -self._every) < self._every:
                return
            self._last[key] = now
        log(message)


warn = _Throttle()


# -- answering -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Forward:
    """A query to pass on to ``upstreams``."""

    query: codec.Query
    upstreams: tuple[Upstream, ...]


def _local(table: Table, q: codec.Query, client: str) -> list[codec.Record] | None:
    """The local answer to ``q`` (possibly empty: NODATA), None when it is not a local name."""
    question = q.question
    if question.qclass not in (codec.CLASS_IN, codec.CLASS_ANY) or any(b"." in x for x in question.labels):
        return None
    key = question.key
    if question.qtype == codec.TYPE_PTR:
        ip = codec.reverse_ip(key)
        name = table.reverse(client, ip) if ip is not None else None
        if name is not None:
            return [codec.ptr_record(question.name, name, LOCAL_TTL)]
    ips = table.resolve(client, key)
    if ips is None:
        return None
    if question.qtype == codec.TYPE_A:
        wanted = [ip for ip in ips if ":" not in ip]
    elif question.qtype == codec.TYPE_AAAA:
        wanted = [ip for ip in ips if ":" in ip]
    elif question.qtype == codec.TYPE_ANY:
        wanted = list(ips)
    else:
        wanted = []  # MX, TXT, ... of a container: it exists, with no such data
    return [codec.address_record(question.name, ip, LOCAL_TTL) for ip in wanted]


def answer(table: Table, data: bytes, client: str, *, tcp: bool) -> bytes | Forward | None:
    """What to do with ``data`` from ``client``: reply bytes, a ``Forward``, or None (drop)."""
    try:
        q = codec.parse_query(data)
    except codec.FormatError as e:
        if e.ident is None:
            return None  # no header or a response: nothing to answer (and never answer responses)
        flags = codec.header_flags(data)
        rcode = codec.NOTIMP if (flags >> 11) & 0xF != codec.OPCODE_QUERY else codec.FORMERR
        return codec.error_response(e.ident, flags, rcode)
    if q.opcode != codec.OPCODE_QUERY:
        return codec.response(q, codec.NOTIMP)
    if q.edns is not None and q.edns.version != 0:
        return codec.response(q, codec.BADVERS)
    max_size = None if tcp else q.max_udp
    records = _local(table, q, client)
    if records is not None:
        return codec.response(q, codec.NOERROR, records, authoritative=True, max_size=max_size)
    upstreams = table.upstreams(client)
    if not upstreams:
        return codec.response(q, codec.SERVFAIL)
    return Forward(q, upstreams)


# -- forwarding ------------------------------------------------------------------------------
def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    """``n`` bytes, or None at a clean EOF before the first byte; a short read raises."""
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            if buf:
                raise ConnectionError("connection closed mid-message")
            return None
        buf += chunk
    return buf


def _ask_udp(up: Upstream, data: bytes, ident: int) -> bytes:
    with socket.socket(up.family, socket.SOCK_DGRAM) as s:
        # connected: the kernel drops datagrams from anyone else, and ICMP errors surface here;
        # a fresh socket per query gets a fresh random source port (spoofing resistance)
        s.connect((up.host, up.port))
        s.send(data)
        deadline = time.monotonic() + UPSTREAM_TIMEOUT
        while True:
            s.settimeout(max(deadline - time.monotonic(), 0.001))
            reply = s.recv(65535)
            if codec.reply_id(reply) == ident:
                return reply  # anything else is a late reply to someone else: keep waiting


def _ask_tcp(up: Upstream, data: bytes, ident: int) -> bytes:
    deadline = time.monotonic() + UPSTREAM_TIMEOUT  # connecting included
    with socket.create_connection((up.host, up.port), timeout=UPSTREAM_TIMEOUT) as s:
        s.settimeout(max(deadline - time.monotonic(), 0.001))
        s.sendall(struct.pack("!H", len(data)) + data)
        while True:
            s.settimeout(max(deadline - time.monotonic(), 0.001))
            head = _recv_exact(s, 2)
            if head is None:
                raise ConnectionError("upstream closed the connection")
            reply = _recv_exact(s, struct.unpack("!H", head)[0]) or b""
            if codec.reply_id(reply) == ident:
                return reply


def forward(fwd: Forward, *, tcp: bool) -> bytes:
    """The first upstream reply, unchanged; an upstream SERVFAIL/REFUSED tries the next one (as
    glibc would) and is relayed only if nobody does better; SERVFAIL of our own if all fail."""
    ask = _ask_tcp if tcp else _ask_udp
    fallback: bytes | None = None
    for up in fwd.upstreams:
        try:
            reply = ask(up, fwd.query.raw, fwd.query.ident)
        except (OSError, ConnectionError) as e:  # timeouts are OSErrors too
            warn(f"upstream {up}", f"upstream {up} ({'tcp' if tcp else 'udp'}) failed: {e or type(e).__name__}")
            continue
        if reply[3] & 0xF in (codec.SERVFAIL, codec.REFUSED):
            fallback = fallback or reply
            continue
        return reply
    return fallback or codec.response(fwd.query, codec.SERVFAIL)


class Pool:
    """A few daemon threads (started as needed) running queued jobs; a full backlog refuses.

    Not concurrent.futures: its threads are joined at interpreter exit, which would hold a
    SIGTERM'd server for as long as its slowest upstream."""

    def __init__(self, workers: int, backlog: int) -> None:
        self._workers, self._backlog = workers, backlog
        self._jobs: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = self._idle = self._pending = 0

    def submit(self, fn: Callable[..., None], *args: Any) -> bool:
        with self._lock:
            if self._pending >= self._backlog:
                return False
            self._pending += 1
            spawn = self._pending > self._idle and self._threads < self._workers
            if spawn:
                self._threads += 1
        self._jobs.put((fn, args))
        if spawn:
            threading.Thread(target=self._work, name="dns-forward", daemon=True).start()
        return True

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            fn, args = self._jobs.get()
            with self._lock:
                self._idle -= 1
                self._pending -= 1
            try:
                fn(*args)
            except Exception as e:  # a bug in one job must not shrink the pool
                warn(f"job {type(e).__name__}", f"forwarding failed: {type(e).__name__}: {e}")


# -- the process -----------------------------------------------------------------------------
def _file_id(path: Path) -> tuple[int, int, int, int] | None:
    """Identity of a file's content as far as a stat tells (dns.json is replaced by rename)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


class Server:
    def __init__(self, net_dir: Path, *, resolv_conf: Path = HOST_RESOLV_CONF) -> None:
        self.files = Files(net_dir)
        self.resolv_conf = resolv_conf
        self.table: Table = EMPTY
        self._loaded_id: tuple[object, object] | None = None
        self._bound: dict[tuple[str, int], tuple[socket.socket, socket.socket]] = {}
        self._failed: set[tuple[str, int]] = set()
        self._sel = selectors.DefaultSelector()
        self._lock_fd = -1
        self._pool = Pool(FORWARD_WORKERS, FORWARD_BACKLOG)
        self._tcp_slots = threading.BoundedSemaphore(MAX_TCP)
        self._hup = self._term = False
        self._ready_fd: int | None = None
        self._generation = 0

    # -- entry point ------------------------------------------------------------------------
    def run(self, ready_fd: int | None = None) -> int:
        """Serve until SIGTERM or an empty table; ``ready_fd`` gets one status line:
        ``ready``, ``busy`` (another server runs), ``empty`` (nothing to serve) or ``error: ...``."""
        self._ready_fd = ready_fd
        self._install_signals()
        if not self._acquire_lock():
            self._report("busy")
            return 0
        # only the lock holder touches dns.pid and dns.loaded: a killed predecessor's are ours
        self._forget()
        digest, table, error = self._load()
        if table is None:
            log(f"cannot start: {error}")
            self._report(f"error: {error}")
            return 1
        if not table.listen:
            log("nothing to serve (no listen address in the table)")
            self._report("empty")
            return 0
        self._serve(table, digest)
        self._report("ready")
        log(f"serving on {self._describe()}")
        try:
            self._loop()
        finally:
            self._close_all()
            if self._lock_fd >= 0:
                self._forget()
        log("stopped")
        return 0

    def _loop(self) -> None:
        next_tick = time.monotonic() + TICK
        while not self._term:
            for key, _ in self._sel.select(timeout=max(next_tick - time.monotonic(), 0)):
                kind, sock = key.data
                try:
                    if kind == "udp":
                        self._on_udp(sock)
                    elif kind == "tcp":
                        self._on_accept(sock)
                    else:
                        self._drain_wakeup(sock)
                except Exception as e:  # never die of one packet
                    warn(f"loop {type(e).__name__}", f"unexpected {type(e).__name__}: {e}")
            if self._term:
                return
            tick = time.monotonic() >= next_tick
            if tick:
                next_tick = time.monotonic() + TICK
            try:
                if self._hup or (tick and self._changed()):
                    self._hup = False
                    if not self._reload() and not self._exit_or_resume():
                        return
                elif tick and self._failed:
                    for key in sorted(self._failed):
                        self._bind(key)
            except Exception as e:  # keep serving what we have
                warn(f"reload {type(e).__name__}", f"unexpected {type(e).__name__} in a reload: {e}")

    # -- signals and readiness -----------------------------------------------------------------
    def _install_signals(self) -> None:
        r, w = socket.socketpair()
        r.setblocking(False)
        w.setblocking(False)
        self._wake_w = w  # keep a reference: the wakeup fd must stay open
        signal.set_wakeup_fd(w.fileno(), warn_on_full_buffer=False)
        self._sel.register(r, selectors.EVENT_READ, ("wake", r))

        def on_hup(signum: int, frame: object) -> None:
            self._hup = True

        def on_term(signum: int, frame: object) -> None:
            self._term = True

        signal.signal(signal.SIGHUP, on_hup)
        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    @staticmethod
    def _drain_wakeup(sock: socket.socket) -> None:
        try:
            while sock.recv(512):
                pass
        except BlockingIOError:
            pass

    def _report(self, status: str) -> None:
        if self._ready_fd is None:
            return
        try:
            os.write(self._ready_fd, f"pid {os.getpid()}\n{status}\n".encode())
        except OSError:
            pass  # the starter gave up waiting: it will see the pid file
        finally:
            os.close(self._ready_fd)
            self._ready_fd = None

    # -- lock and pid file -------------------------------------------------------------------
    def _acquire_lock(self, wait: float = LOCK_WAIT) -> bool:
        self.files.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.files.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.01)
                continue
            self._lock_fd = fd
            return True

    def _release_lock(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    @staticmethod
    def _write(path: Path, text: str) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        try:
            tmp.write_text(text)
            os.replace(tmp, path)  # readers never see a half-written file
        except OSError as e:  # control times out and points at the log: say why here
            log(f"cannot write {path}: {e}")

    def _forget(self) -> None:
        self.files.loaded.unlink(missing_ok=True)
        self.files.pid.unlink(missing_ok=True)

    # -- table -------------------------------------------------------------------------------
    def _ids(self) -> tuple[object, object]:
        return _file_id(self.files.table), _file_id(self.resolv_conf)

    def _changed(self) -> bool:
        return self._ids() != self._loaded_id

    def _load(self) -> tuple[str, Table | None, str]:
        """(digest of dns.json, its table or None, why not)."""
        # identity taken before reading: a write racing the read shows as a change at the next
        # tick; also taken for a bad file, which is not worth re-reading every tick
        self._loaded_id = self._ids()
        try:
            data = read(self.files.table)
        except OSError as e:
            return table_digest(None), None, f"cannot read {self.files.table}: {e}"
        try:
            return table_digest(data), loads(data, resolv_conf=self.resolv_conf, source=self.files.table), ""
        except TableError as e:
            return table_digest(data), None, str(e)

    def _acknowledge(self, digest: str, error: str = "") -> None:
        """dns.loaded: what ``control.reload`` waits for. The generation changes at every load, so
        a reload of unchanged content (to retry a bind) is acknowledged too."""
        self._generation += 1
        self._write(self.files.loaded, f"{digest} {os.getpid()} {self._generation}\n"
                                       + (f"error: {error}\n" if error else ""))

    def _serve(self, table: Table, digest: str) -> None:
        self._apply(table)
        self._write(self.files.pid, f"{os.getpid()}\n")
        self._acknowledge(digest)

    def _reload(self) -> bool:
        """Load the table again; False when it has nothing to listen on."""
        digest, table, error = self._load()
        if table is None:
            log(f"reload failed, keeping the previous table: {error}")
            self._acknowledge(digest, error)
            return True
        if not table.listen:
            return False
        self._serve(table, digest)
        log(f"reloaded: {len(table.clients)} clients, {sum(len(n) for n in table.names.values())} names; "
            f"serving on {self._describe()}")
        return True

    def _exit_or_resume(self) -> bool:
        """The table is empty: let go of everything. A table the engine wrote between our read
        and the unlock may have had its SIGHUP sent to us, who would ignore it: look once more
        after the unlock, and resume if it is non-empty and no new server took the lock."""
        log("table has no listen address: exiting")
        self._forget()
        self._close_all()
        self._release_lock()
        digest, table, _ = self._load()
        if table is None or not table.listen or not self._acquire_lock():
            return False
        self._serve(table, digest)
        log(f"table filled again: resuming on {self._describe()}")
        return True

    def _apply(self, table: Table) -> None:
        self.table = table
        want = set(table.listen)
        for key in [k for k in self._bound if k not in want]:
            self._unbind(key)
        self._failed &= want
        for key in sorted(want - set(self._bound)):
            self._bind(key)

    def _describe(self) -> str:
        up = [f"{a}:{p}" for a, p in sorted(self._bound)]
        down = [f"{a}:{p} (not bound)" for a, p in sorted(self._failed)]
        return ", ".join(up + down) or "nothing"

    # -- sockets -----------------------------------------------------------------------------
    def _bind(self, key: tuple[str, int]) -> None:
        addr, port = key
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        socks: list[socket.socket] = []
        try:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(family, kind)
                socks.append(s)
                if family == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    s.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
                else:
                    # bindable before the bridge has its gateway address: no ordering with links
                    s.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
                if kind == socket.SOCK_STREAM:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT of a predecessor
                s.bind((addr, port))
                if kind == socket.SOCK_STREAM:
                    s.listen(64)
                s.setblocking(False)
        except OSError as e:
            for s in socks:
                s.close()
            if key not in self._failed:
                log(f"cannot listen on {addr}:{port}: {e.strerror or e}; retrying at the next reload")
            self._failed.add(key)
            return
        udp, tcp = socks
        if key in self._failed:
            self._failed.discard(key)
            log(f"listening on {addr}:{port} now")
        self._sel.register(udp, selectors.EVENT_READ, ("udp", udp))
        self._sel.register(tcp, selectors.EVENT_READ, ("tcp", tcp))
        self._bound[key] = (udp, tcp)

    def _unbind(self, key: tuple[str, int]) -> None:
        for s in self._bound.pop(key):
            self._sel.unregister(s)
            s.close()

    def _close_all(self) -> None:
        for key in list(self._bound):
            self._unbind(key)

    # -- serving -----------------------------------------------------------------------------
    def _on_udp(self, sock: socket.socket) -> None:
        for _ in range(UDP_BURST):
            try:
                data, addr = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # e.g. an ICMP error queued on the socket: nothing to read
            out = answer(self.table, data, addr[0], tcp=False)
            if isinstance(out, Forward):
                if not self._pool.submit(self._forward_udp, sock, out, addr):
                    warn("backlog", "forwarding backlog full: dropping queries")
            elif out is not None:
                self._send(sock, out, addr)

    @staticmethod
    def _send(sock: socket.socket, data: bytes, addr: Any) -> None:
        with contextlib.suppress(OSError):  # closed by a reload, or the client is gone: it retries
            sock.sendto(data, addr)

    def _forward_udp(self, sock: socket.socket, fwd: Forward, addr: Any) -> None:
        self._send(sock, forward(fwd, tcp=False), addr)

    def _on_accept(self, listener: socket.socket) -> None:
        try:
            conn, addr = listener.accept()
        except OSError:
            return
        if not self._tcp_slots.acquire(blocking=False):
            conn.close()
            warn("tcp", f"more than {MAX_TCP} TCP clients: refusing connections")
            return
        try:
            threading.Thread(target=self._tcp_client, args=(conn, addr[0]), name="dns-tcp", daemon=True).start()
        except RuntimeError:
            conn.close()
            self._tcp_slots.release()

    def _tcp_client(self, conn: socket.socket, client: str) -> None:
        """One client connection: length-prefixed queries answered in order until EOF or idle."""
        try:
            conn.settimeout(TCP_IDLE)
            while True:
                head = _recv_exact(conn, 2)
                if head is None:
                    return
                data = _recv_exact(conn, struct.unpack("!H", head)[0])
                if data is None:
                    return
                out = answer(self.table, data, client, tcp=True)
                if isinstance(out, Forward):
                    out = forward(out, tcp=True)
                if out is None:
                    return  # garbage on a stream: the framing cannot be trusted any more
                conn.sendall(struct.pack("!H", len(out)) + out)
        except (OSError, ConnectionError):
            pass
        except Exception as e:
            warn(f"tcp {type(e).__name__}", f"unexpected {type(e).__name__} on a TCP connection: {e}")
        finally:
            conn.close()
            self._tcp_slots.release()


def serve(net_dir: Path, *, ready_fd: int | None = None) -> int:
    return Server(net_dir).run(ready_fd)
