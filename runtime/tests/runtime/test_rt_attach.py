"""``run -it`` / ``run -i`` / ``exec -it`` from a real terminal (a pty) and from pipes (real runc + conmon)."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from rtkit import output, until

from berth.engine import container_ops as co
from berth.runtime.attach import _DetachScanner, parse_detach_keys
from berth.runtime.exec import ExecFailed


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


def test_detach_scanner_and_docker_key_notation() -> None:
    s = _DetachScanner()
    assert s.feed(b"ab\x10") == (b"ab", False)
    assert s.feed(b"c") == (b"\x10c", False)
    assert s.feed(b"\x10\x10\x11rest") == (b"\x10", True)
    assert parse_detach_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse_detach_keys("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_,a,Z") == b"\x00\x1b\x1c\x1d\x1e\x1faZ"
    for bad in ("", "ctrl-", "ctrl-1", "ab", "ctrl-pq", "\u00e9"):
        with pytest.raises(ValueError, match="--detach-keys"):
            parse_detach_keys(bad)


def test_run_it_without_a_terminal_is_refused_before_anything_is_created(rt) -> None:
    proc = subprocess.run(berth(rt.paths.root, "run", "-it", "busybox", "sh"), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1 and "the input device is not a TTY" in proc.stderr
    assert co.ps(rt, all=True) == []
    # -t alone (no stdin to read) is fine without a terminal, as in Docker
    proc = subprocess.run(berth(rt.paths.root, "run", "--rm", "-t", "busybox", "echo", "ok"), capture_output=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0 and b"ok" in proc.stdout


# -- attach, start -a, detach keys, sig-proxy ---------------------------------------------------------
def _status(rt, name: str) -> dict:
    return co.inspect(rt, name)["State"]


def test_attach_detach_and_attach_again_stdin_stays_open(rt, pty_procs) -> None:
    assert subprocess.run(berth(rt.paths.root, "run", "-dit", "--name", "sh1", "busybox", "sh"),
                          capture_output=True, timeout=60).returncode == 0
    p = pty_procs(berth(rt.paths.root, "attach", "sh1"))
    time.sleep(0.3)  # attached: what the shell prints from now on reaches us
    p.send(b"echo one-$((1+1))\n")
    p.expect(b"one-2")
    p.send(b"\x10\x11")  # ctrl-p ctrl-q
    p.expect(b"read escape sequence")
    assert p.wait() == 1  # as `docker attach` after a detach
    assert _status(rt, "sh1")["Running"] is True
    p = pty_procs(berth(rt.paths.root, "attach", "sh1"))  # conmon kept the shell's input open
    time.sleep(0.3)
    p.send(b"echo two-$((2+2))\n")
    p.expect(b"two-4")
    p.send(b"exit 5\n")
    assert p.wait() == 5  # the container's exit code
    assert _status(rt, "sh1")["ExitCode"] == 5


def test_custom_detach_keys_and_the_default_ones_pass_through(rt, pty_procs) -> None:
    subprocess.run(berth(rt.paths.root, "run", "-dit", "--name", "cat1", "busybox", "cat", "-v"), check=True,
                   capture_output=True, timeout=60)
    p = pty_procs(berth(rt.paths.root, "attach", "--detach-keys", "ctrl-a,x", "cat1"))
    time.sleep(0.3)
    p.send(b"\x10\x11hello\n")  # ctrl-p ctrl-q are ordinary input now: cat -v shows the ^P
    p.expect(b"^Phello")
    p.send(b"\x01x")
    assert p.wait() == 1 and _status(rt, "cat1")["Running"] is True

    p = pty_procs(berth(rt.paths.root, "run", "-it", "--detach-keys", "ctrl-x,ctrl-y", "--name", "sh2", "busybox",
                        "sh"))
    p.expect(b"# ")
    p.send(b"\x18\x19")
    assert p.wait() == 0 and _status(rt, "sh2")["Running"] is True
    bad = subprocess.run(berth(rt.paths.root, "run", "--detach-keys", "ctrl-1", "busybox", "true"),
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 125 and 'invalid --detach-keys value "ctrl-1"' in bad.stderr
    assert [r["Names"] for r in co.ps(rt, all=True) if r["Names"] == ["/sh3"]] == []


def test_start_ai_with_a_terminal_and_start_a_without(rt, pty_procs) -> None:
    subprocess.run(berth(rt.paths.root, "create", "-it", "--name", "s1", "busybox", "sh"), check=True,
                   capture_output=True, timeout=60)
    p = pty_procs(berth(rt.paths.root, "start", "-ai", "s1"))
    p.expect(b"# ")
    p.send(b"echo started-$((3*3))\n")
    p.expect(b"started-9")
    p.send(b"exit 3\n")
    assert p.wait() == 3

    subprocess.run(berth(rt.paths.root, "create", "--name", "s2", "busybox", "sh", "-c",
                         "echo out; echo err >&2; exit 4"), check=True, capture_output=True, timeout=60)
    proc = subprocess.run(berth(rt.paths.root, "start", "-a", "s2"), capture_output=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (4, b"out\n", b"err\n")

    subprocess.run(berth(rt.paths.root, "create", "-i", "--name", "s3", "busybox", "cat"), check=True,
                   capture_output=True, timeout=60)
    proc = subprocess.run(berth(rt.paths.root, "start", "-ai", "s3"), input=b"through stdin\n",
                          capture_output=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, b"through stdin\n")  # StdinOnce: EOF closes cat's input

    many = subprocess.run(berth(rt.paths.root, "start", "-a", "s2", "s3"), capture_output=True, text=True,
                          timeout=60)
    assert many.returncode == 125 and "cannot start and attach multiple containers" in many.stderr


_TRAP = 'trap "echo got-$SIG; exit 42" INT TERM; echo ready; while true; do sleep 0.1; done'


def _proxied(argv: list[str], sig: int) -> tuple[int, bytes]:
    """Run ``argv`` (its own session: no terminal), send ``sig`` to it once its output says "ready"."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    assert proc.stdout is not None
    out = b""
    try:
        deadline = time.monotonic() + 30
        while b"ready" not in out and time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 0.2)[0]:
                out += os.read(proc.stdout.fileno(), 4096)
        assert b"ready" in out, out
        os.kill(proc.pid, sig)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out + rest


def test_sig_proxy_forwards_signals_without_a_terminal(rt) -> None:
    # `run` in the foreground: SIGINT to berth reaches the container, whose trap exits 42
    code, out = _proxied(berth(rt.paths.root, "run", "--name", "fg", "busybox", "sh", "-c", _TRAP), signal.SIGINT)
    assert (code, out) == (42, b"ready\ngot-\n")
    # `attach`: SIGTERM likewise
    subprocess.run(berth(rt.paths.root, "run", "-d", "--name", "bg", "busybox", "sh", "-c", _TRAP), check=True,
                   capture_output=True, timeout=60)
    until(lambda: "ready" in output(rt, "bg"), what="ready")
    proc = subprocess.Popen(berth(rt.paths.root, "attach", "bg"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    time.sleep(1.0)  # attached
    os.kill(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (42, b"got-\n"), err
    # --sig-proxy=false: berth itself is interrupted, the container goes on
    subprocess.run(berth(rt.paths.root, "run", "-d", "--name", "bg2", "busybox", "sh", "-c", _TRAP), check=True,
                   capture_output=True, timeout=60)
    proc = subprocess.Popen(berth(rt.paths.root, "attach", "--sig-proxy=false", "bg2"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130 and _status(rt, "bg2")["Running"] is True


def test_attach_refusals(rt) -> None:
    subprocess.run(berth(rt.paths.root, "create", "--name", "idle", "busybox", "true"), check=True,
                   capture_output=True, timeout=60)
    proc = subprocess.run(berth(rt.paths.root, "attach", "idle"), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "You cannot attach to a stopped container, start it first" in proc.stderr
    subprocess.run(berth(rt.paths.root, "run", "-dit", "--name", "tty1", "busybox", "sh"), check=True,
                   capture_output=True, timeout=60)
    proc = subprocess.run(berth(rt.paths.root, "attach", "tty1"), capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 1 and "the input device is not a TTY" in proc.stderr
    for args, needle in ((["--sig-proxy=maybe"], 'invalid --sig-proxy value "maybe"'),
                         (["--detach-keys", "ctrl-"], 'invalid --detach-keys value "ctrl-"')):
        proc = subprocess.run(berth(rt.paths.root, "attach", *args, "tty1"), capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 125 and needle in proc.stderr
    assert _status(rt, "tty1")["Running"] is True


# -- exec -t as a conmon session: detach keys, -d -t --------------------------------------------------
def _exec_shells(rt, cid: str) -> int:
    _, out, _ = co.exec_(rt, cid, ["sh", "-c", "ps -o args | grep -c '^sh -i$' || true"])
    return int(out.decode().strip())


def test_exec_it_detach_keys_leave_the_process_running(rt, pty_procs) -> None:
    cid = co.create(rt, _sleeper())
    co.start(rt, cid)
    p = pty_procs(berth(rt.paths.root, "exec", "-it", cid, "sh", "-i"))
    p.expect(b"# ")
    p.send(b"echo in-exec-$((5*5))\n")
    p.expect(b"in-exec-25")
    p.send(b"\x10\x11")
    assert p.wait() == 0
    assert _exec_shells(rt, cid) == 1  # the shell goes on without us

    p = pty_procs(berth(rt.paths.root, "exec", "-it", "--detach-keys", "ctrl-e,e", cid, "sh", "-i"))
    p.expect(b"# ")
    p.send(b"\x05e")
    assert p.wait() == 0 and _exec_shells(rt, cid) == 2
    proc = subprocess.run(berth(rt.paths.root, "exec", "-it", cid, "sh"), capture_output=True, text=True,
                          timeout=60, input="echo hi\n")
    assert proc.returncode == 1 and "the input device is not a TTY" in proc.stderr


def test_exec_detached_with_a_terminal(rt) -> None:
    cid = co.create(rt, _sleeper())
    co.start(rt, cid)
    proc = subprocess.run(berth(rt.paths.root, "exec", "-d", "-t", cid, "sh", "-c", "tty > /tmp/t; sleep 30"),
                          capture_output=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    until(lambda: co.exec_(rt, cid, ["cat", "/tmp/t"])[1].startswith(b"/dev/pts/"), what="the detached exec's tty")
    assert co.exec_(rt, cid, ["sh", "-c", "ps -o args | grep -c '^sleep 30$'"])[1] == b"1\n"
    assert co.exec_(rt, cid, ["true"], tty=True, detach=True) == (0, b"", b"")  # the API as well
    with pytest.raises(ExecFailed, match="executable file not found") as info:
        co.exec_(rt, cid, ["no-such-command"], tty=True, detach=True)
    assert info.value.exit_code == 127
