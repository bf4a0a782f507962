"""Attach the caller's stdio to a container through conmon's attach socket (``run -i`` / ``run -t``).

conmon (started with ``--socket-dir-path``) creates a ``SOCK_SEQPACKET`` socket ``attach`` in the
bundle before it reports the container's pid, i.e. between ``runtime create`` and ``runtime start``:
``berth run`` connects there (``lifecycle.start(on_created=...)``) so no output is lost.

Framing: every packet conmon sends starts with one byte naming the stream (2 stdout, 3 stderr; with a
terminal everything is stdout); what we send is written raw to the container's stdin (the pty master
with ``-t``). Closing our write side (``shutdown(SHUT_WR)``) makes conmon close the container's stdin,
so ``cat`` sees EOF. conmon closes the socket when the container has exited and its output is drained.

Window size: conmon's ``ctl`` fifo in the bundle takes ``"1 <rows> <cols>\\n"`` (asynchronously); the
size before the process starts is set synchronously on the pty slave itself, which the container's
(still waiting) init holds as its fd 0.

Detach keys: Docker's ctrl-p ctrl-q leave the container running (with ``-t`` only, as in moby, so
binary data through ``-i`` is never mistaken for them); ``--detach-keys`` takes Docker's notation
(``parse_detach_keys``). conmon runs with ``--leave-stdin-open`` unless the container's stdin is
``StdinOnce`` without a terminal (a foreground ``run -i``), so after a detach the next ``attach``
can type into it again.

``attach`` to a running container connects to the same socket (conmon serves several clients; one
sees the output from the moment it connects, as ``docker attach``). Without a terminal, signals the
CLI gets are forwarded to the container (``--sig-proxy``, ``proxy_signals``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import queue
import select
import signal
import socket
import struct
import sys
import termios
import threading
import tty as ttymod
from collections.abc import Callable, Iterator
from pathlib import Path

# re-exported: the attach API, kept apart so a foreground `run` without -i/-t need not import this one
from berth.runtime.foreground import DETACH_KEYS, PROXIED_SIGNALS, parse_detach_keys, proxy_signals
from berth.structs import dataclass, field

__all__ = ["DETACH_KEYS", "PROXIED_SIGNALS", "parse_detach_keys", "proxy_signals"]

STDOUT, STDERR = 2, 3
_BUF = 65536
#: conmon reads the attach socket into a 32 KiB buffer, and a SEQPACKET read truncates a longer
#: packet (the rest is lost): send stdin in packets no larger than this
_IN_PACKET = 8192


def connect(bundle: Path) -> socket.socket:
    """Connect to ``<bundle>/attach``; the path is reached through /proc/self/fd (sun_path is 108 bytes)."""
    dfd = os.open(bundle, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    try:
        sock.connect(f"/proc/self/fd/{dfd}/attach")
    except BaseException:
        sock.close()
        raise
    finally:
        os.close(dfd)
    return sock


def window_size(fd: int) -> tuple[int, int] | None:
    """(rows, cols) of the terminal ``fd``, None when it is not one."""
    try:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return None
    return (rows, cols) if rows and cols else None


def resize(bundle: Path, rows: int, cols: int) -> None:
    """Ask conmon to resize the container's pty (``ctl`` fifo); best effort."""
    with contextlib.suppress(OSError):
        fd = os.open(bundle / "ctl", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            os.write(fd, f"1 {rows} {cols}\n".encode())
        finally:
            os.close(fd)


def resize_before_start(pid: int, rows: int, cols: int) -> bool:
    """Set the size on the pty slave the created (not started) container's init holds as fd 0."""
    try:
        fd = os.open(f"/proc/{pid}/fd/0", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not os.isatty(fd):
            return False
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    """Put the terminal ``fd`` in raw mode for the block (no-op if it is not a terminal); always restored."""
    try:
        saved = termios.tcgetattr(fd)
    except (termios.error, OSError):
        yield
        return
    try:
        ttymod.setraw(fd, termios.TCSANOW)
        yield
    finally:
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@dataclass
class _DetachScanner:
    keys: bytes = DETACH_KEYS
    matched: int = 0

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """The bytes to forward, and whether the detach sequence was typed (what follows it is dropped)."""
        out = bytearray()
        for b in data:
            if b == self.keys[self.matched]:
                self.matched += 1
                if self.matched == len(self.keys):
                    self.matched = 0
                    return bytes(out), True
                continue
            if self.matched:
                out += self.keys[:self.matched]
                self.matched = 0
                if b == self.keys[0]:
                    self.matched = 1
                    continue
            out.append(b)
        return bytes(out), False


@dataclass
class Relay:
    """Copy between the caller's fds and an attach socket until the container's output ends."""

    sock: socket.socket
    stdin_fd: int | None  # None: do not forward stdin (``-t`` without ``-i``)
    stdout_fd: int = 1
    stderr_fd: int = 2
    tty: bool = False
    detach_keys: bytes | None = DETACH_KEYS
    _scanner: _DetachScanner = field(init=False)

    def __post_init__(self) -> None:
        self._scanner = _DetachScanner(self.detach_keys or b"\0")

    def run(self) -> bool:
        """Relay; True when the user detached (the container keeps running), False at its end.

        Input is sent without blocking (conmon may be blocked writing the container's output to
        us while the container is blocked on a full stdin pipe): stdin is read only when what was
        read before has gone out.
        """
        out_q: queue.SimpleQueue = queue.SimpleQueue()
        writer = threading.Thread(target=self._write_out, args=(out_q,), daemon=True)
        writer.start()
        try:
            return self._loop(out_q)
        finally:
            out_q.put(None)
            writer.join()

    def _write_out(self, out_q: queue.SimpleQueue) -> None:
        """Write the container's output to the caller; a slow reader must not stall the socket (conmon
        gives up on an attach socket whose buffer is full, and the rest of the output is lost)."""
        ok = {STDOUT: True, STDERR: True}
        while (item := out_q.get()) is not None:
            stream, data = item
            if ok[stream]:
                ok[stream] = _write_all(self.stdout_fd if stream == STDOUT else self.stderr_fd, data)

    def _loop(self, out_q: queue.SimpleQueue) -> bool:
        stdin_open = self.stdin_fd is not None
        pending = b""  # read from stdin, not sent yet
        close_after = detach_after = False
        self.sock.setblocking(False)
        while True:
            if not pending and detach_after:
                return True
            if not pending and close_after:
                close_after = False
                with contextlib.suppress(OSError):
                    self.sock.shutdown(socket.SHUT_WR)  # conmon closes the container's stdin: `cat` ends
            rlist: list = [self.sock]
            if stdin_open and not pending and not (close_after or detach_after):
                rlist.append(self.stdin_fd)
            ready, writable, _ = select.select(rlist, [self.sock] if pending else [], [])
            if self.sock in ready:
                for _ in range(256):  # drain what is queued
                    try:
                        packet = self.sock.recv(_BUF)
                    except BlockingIOError:
                        break
                    except ConnectionResetError:
                        packet = b""
                    if not packet:
                        return False
                    out_q.put((STDERR if packet[0] == STDERR and not self.tty else STDOUT, packet[1:]))
            if pending and writable:
                try:
                    n = self.sock.send(pending[:_IN_PACKET])
                    pending = pending[n:]
                except BlockingIOError:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    pending, stdin_open, close_after = b"", False, False
            if stdin_open and self.stdin_fd in ready:
                try:
                    data = os.read(self.stdin_fd, _BUF)
                except OSError as exc:
                    if exc.errno not in (errno.EIO, errno.EBADF):
                        raise
                    data = b""
                if not data:
                    stdin_open = False
                    close_after = not self.tty  # a terminal's input just ends (Docker keeps it open)
                    continue
                if self.detach_keys:
                    data, detach_after = self._scanner.feed(data)
                pending = data


def _write_all(fd: int, data: bytes) -> bool:
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        return True
    except BlockingIOError:  # a non-blocking caller fd: fall back to waiting for it
        select.select([], [fd], [])
        return _write_all(fd, bytes(view))
    except (BrokenPipeError, OSError):
        return False


@contextlib.contextmanager
def on_winch(callback: Callable[[], None]) -> Iterator[None]:
    """Call ``callback`` on SIGWINCH for the block (main thread only; otherwise a no-op)."""
    try:
        old = signal.signal(signal.SIGWINCH, lambda *_: callback())
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, old)


def attach_streams(sock: socket.socket, bundle: Path, *, stdin: bool, tty: bool,
                   stdin_fd: int | None = None, stdout_fd: int | None = None, stderr_fd: int | None = None,
                   detach_keys: bytes | None = DETACH_KEYS) -> bool:
    """The CLI side of ``run -i/-t``: raw local terminal (with ``-it``), window size changes forwarded,
    relay until the container's output ends. True when the user detached."""
    in_fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    out_fd = sys.stdout.fileno() if stdout_fd is None else stdout_fd
    err_fd = sys.stderr.fileno() if stderr_fd is None else stderr_fd
    relay = Relay(sock, in_fd if stdin else None, out_fd, err_fd, tty=tty,
                  detach_keys=detach_keys if (stdin and tty) else None)  # moby: only with a terminal
    raw = raw_terminal(in_fd) if (tty and stdin and os.isatty(in_fd)) else contextlib.nullcontext()

    def winch() -> None:
        size = window_size(out_fd) or window_size(in_fd)
        if size:
            resize(bundle, *size)

    winch_ctx = on_winch(winch) if tty else contextlib.nullcontext()
    with raw, winch_ctx:
        return relay.run()
