"""``run -it`` / ``run -i`` / ``exec -it`` from a real terminal (a pty) and from pipes (real runc + conmon)."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from berth.engine import container_ops as co
from berth.runtime.attach import _DetachScanner


def berth(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "berth.cli.main", "--root", str(root), *args]


def _set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _make_ctty() -> None:  # runs in the child after setsid: the pty becomes its controlling terminal
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyProc:
    """A command whose stdin/stdout/stderr are the slave of a fresh pty (its controlling terminal)."""

    def __init__(self, argv: list[str], rows: int = 24, cols: int = 80) -> None:
        self.master, slave = os.openpty()
        _set_size(slave, rows, cols)
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                                     preexec_fn=_make_ctty)
        os.close(slave)
        self.buf = b""
        self.eof = False

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the slave is closed everywhere
            data = b""
        if not data:
            self.eof = True
        self.buf += data

    def expect(self, needle: bytes, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.buf:
            if self.eof or time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not seen; output so far: {self.buf!r}")
            self._read(0.2)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self._read(0.2)
        return self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def pty_procs():
    procs: list[PtyProc] = []

    def spawn(argv: list[str], **kw: int) -> PtyProc:
        p = PtyProc(argv, **kw)
        procs.append(p)
        return p

    yield spawn
    for p in procs:
        p.close()


def test_run_it_shell_through_a_pty_exit_code_propagates(rt, pty_procs) -> None:
    p = pty_procs(berth(rt.paths.root, "run", "-it", "--name", "sh1", "busybox", "sh"))
    p.expect(b"# ")
    p.send(b"echo hi-$((1+2))\n")
    p.expect(b"hi-3")
    p.send(b"exit 7\n")
    assert p.wait() == 7
    assert co.inspect(rt, "sh1")["State"]["ExitCode"] == 7
    attrs = termios.tcgetattr(p.master)  # the terminal is back in cooked mode (raw mode restored)
    assert attrs[3] & termios.ICANON and attrs[3] & termios.ECHO


def test_run_it_window_size_initial_and_resized(rt, pty_procs) -> None:
    p = pty_procs(berth(rt.paths.root, "run", "-it", "--rm", "busybox", "stty", "size"), rows=33, cols=101)
    p.expect(b"33 101")
    assert p.wait() == 0

    p = pty_procs(berth(rt.paths.root, "run", "-it", "--rm", "busybox", "sh"), rows=30, cols=90)
    p.expect(b"# ")
    _set_size(p.master, 40, 120)  # SIGWINCH to the CLI, which tells conmon
    time.sleep(0.5)
    p.send(b"stty size\n")
    p.expect(b"40 120")
    p.send(b"exit\n")
    assert p.wait() == 0
    assert co.ps(rt, all=True) == []  # --rm honoured


def test_run_it_detach_keys_leave_it_running(rt, pty_procs) -> None:
    p = pty_procs(berth(rt.paths.root, "run", "-it", "--name", "bg", "busybox", "sh"))
    p.expect(b"# ")
    p.send(b"\x10\x11")
    assert p.wait() == 0
    assert co.inspect(rt, "bg")["State"]["Running"] is True


def test_run_i_from_a_pipe_stdin_eof_closes_container_stdin(rt) -> None:
    proc = subprocess.run(berth(rt.paths.root, "run", "-i", "--rm", "busybox", "cat"), input=b"abc\n",
                          capture_output=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, b"abc\n"), proc.stderr
    # more than conmon's buffers, binary (ctrl-p ctrl-q included: no detach without -t), stderr apart
    data = os.urandom(3_000_000) + b"\x10\x11end"
    proc = subprocess.run(berth(rt.paths.root, "run", "-i", "busybox", "sh", "-c", "cat; echo oops >&2; exit 3"),
                          input=data, capture_output=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == data
    assert proc.stderr == b"oops\n"
    assert [r["Names"] for r in co.ps(rt, all=True)] != []  # no --rm: kept


def test_exec_it_through_a_pty(rt, pty_procs) -> None:
    cid = co.create(rt, _sleeper())
    co.start(rt, cid)
    p = pty_procs(berth(rt.paths.root, "exec", "-it", cid, "sh", "-c", "tty; exit 4"))
    p.expect(b"/dev/pts/")
    assert p.wait() == 4

    p = pty_procs(berth(rt.paths.root, "exec", "-it", cid, "sh"))
    p.expect(b"# ")
    p.send(b"echo in-$((2*3))\n")
    p.expect(b"in-6")
    p.send(b"exit 2\n")
    assert p.wait() == 2


def test_exec_t_from_pipes_and_the_api(rt) -> None:
    cid = co.create(rt, _sleeper())
    co.start(rt, cid)
    proc = subprocess.run(berth(rt.paths.root, "exec", "-t", cid, "tty"), capture_output=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"/dev/pts/")
    code, out, _ = co.exec_(rt, cid, ["sh", "-c", "stty size; exit 5"], tty=True)
    assert (code, out) == (5, b"24 80\r\n")


def _sleeper():
    from berth.containers import ContainerSpec

    return ContainerSpec(image="busybox", command=("sleep", "300"))


def test_detach_scanner() -> None:
    s = _DetachScanner()
    assert s.feed(b"ab\x10") == (b"ab", False)
    assert s.feed(b"c") == (b"\x10c", False)
    assert s.feed(b"\x10\x10\x11rest") == (b"\x10", True)


def test_run_it_without_a_terminal_is_refused_before_anything_is_created(rt) -> None:
    proc = subprocess.run(berth(rt.paths.root, "run", "-it", "busybox", "sh"), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1 and "the input device is not a TTY" in proc.stderr
    assert co.ps(rt, all=True) == []
    # -t alone (no stdin to read) is fine without a terminal, as in Docker
    proc = subprocess.run(berth(rt.paths.root, "run", "--rm", "-t", "busybox", "echo", "ok"), capture_output=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0 and b"ok" in proc.stdout
