"""The name resolver of user networks (Docker's embedded DNS, podman's aardvark-dns).

Containers on a user-defined bridge network resolve each other by container name, alias and
12-char short ID; every other name is forwarded upstream, so outside names resolve as on the host.

Design
------
- **One process per engine** (``python -m berth.network.dns ROOT``), in the host's network
  namespace, listening on UDP and TCP at each user network's gateway address (port 53). The
  containers' resolv.conf says ``nameserver <gateway>``.
- **Table** ``run_dir/network/dns.json`` (written by the engine, format in ``table``): what to
  listen on, which networks each client address is on, the names of each network, and the
  forwarding servers. A query's *source address* picks the client, its networks (in order) pick
  the answer: the first network knowing the name answers with all its addresses (A or AAAA;
  NOERROR with no answer, "NODATA", for the other family and other types, so resolvers do not
  fail). PTR queries for a container address answer its name. Local answers have TTL 600.
- **Forwarding**: the client's own ``upstream`` (its ``--dns``), else the table's, else the host's
  resolv.conf nameservers (read at each load; loopback ones such as 127.0.0.53 work since the
  server is on the host). Tried in order, about 2 s each; the first reply is relayed unchanged
  (same ID; an upstream's SERVFAIL/REFUSED makes it try the next one); SERVFAIL when all fail.
  TCP queries are forwarded over TCP. Unknown clients get forwarding only.
- **Concurrency**: one selector thread reads every UDP socket and answers local names inline;
  forwarded queries go to a small pool of daemon threads, TCP connections get a thread each
  (bounded), so a slow upstream never delays a local answer.
- **Lifecycle**: the server holds an exclusive flock on ``dns.lock`` for its whole life (the
  single-instance guarantee; flocks die with the process, so a kill -9 leaves nothing stale).
  Only the lock holder writes ``dns.pid`` (once it listens) and ``dns.loaded`` (the digest of the
  dns.json it serves, a per-load stamp, and the error if it rejected that table). SIGHUP reloads
  the table and rebinds the listen set (an address that cannot be bound is logged and retried at
  the next reload and every 5 s); ``control.reload`` waits for the new stamp, so once it returns
  the new names answer. A changed dns.json or resolv.conf is also noticed within 5 s without a
  signal. When a reload finds no listen entries the server exits by itself: it releases the lock
  and reads the table once more, resuming if it is non-empty again (a table written between its
  read and its exit, whose SIGHUP it swallowed) and the lock is still free. SIGTERM exits
  cleanly, removing dns.pid. Sockets use IP_FREEBIND so a gateway address may be bound before
  its bridge is up. Log: ``dns.log`` (stderr of the process, rotated at start beyond 1 MiB).
- **Robustness**: every packet is parsed with bounds and pointer-loop checks; a malformed query
  gets FORMERR when it has a header, is dropped otherwise; responses are never answered (no
  loops); upstreams equal to one of our own listen addresses are dropped for the same reason.
- ``control`` is what the engine calls: ``write_table``, ``ensure_running``, ``reload``, ``stop``.
  Start-up is a fork+exec of the interpreter (which forks once more so the server never
  lingers as its starter's zombie); the server reports readiness over a pipe, so
  ``ensure_running`` returns as soon as the sockets are bound (~60 ms).

Modules: ``codec`` (wire format), ``table`` (dns.json), ``server`` (the process), ``control``.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from pathlib import Path

from berth.structs import dataclass


@dataclass(frozen=True)
class Files:
    """The resolver's files under ``run_dir/network``."""

    dir: Path

    @classmethod
    def for_run_dir(cls, run_dir: Path) -> Files:
        return cls(Path(run_dir) / "network")

    @property
    def table(self) -> Path:
        return self.dir / "dns.json"

    @property
    def pid(self) -> Path:
        return self.dir / "dns.pid"

    @property
    def lock(self) -> Path:
        return self.dir / "dns.lock"

    @property
    def log(self) -> Path:
        return self.dir / "dns.log"

    @property
    def loaded(self) -> Path:
        """Digest of the dns.json the server serves (its reload acknowledgement), and the error
        when that table was rejected: ``<digest>\n[error: <message>\n]``."""
        return self.dir / "dns.loaded"


def table_digest(data: bytes | None) -> str:
    """Tells table versions apart (a rename may reuse an inode within one mtime tick)."""
    return "none" if data is None else f"{len(data)}-{zlib.crc32(data):08x}"


def lock_held(path: Path) -> bool:
    """Whether some process holds the exclusive lock on ``path`` (that is: a server is running).

    The probe takes a shared lock for an instant; a server starting at that very moment retries
    its own non-blocking attempt for a while, so the probe cannot make it give up."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return int(text) if text.isascii() and text.isdigit() and int(text) > 0 else None
