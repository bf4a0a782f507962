"""conmon: the small per-container monitor (one ~1 MB process per container, no Python).

conmon double-forks and detaches, runs ``<runtime> create``, owns the
container's stdio (writing it to a k8s-file log), reaps it, writes its exit
code to ``<exit_dir>/<id>`` and then runs the engine's exit command. We learn
the container's pid (or the runtime's error) from conmon's sync pipe
(``_OCI_SYNCPIPE``), then the engine runs ``<runtime> start``.

conmon 2.1.6 has no json-file log driver: the log is k8s-file
(``<RFC3339Nano> <stream> <P|F> <text>``) and ``berth.runtime.logs`` presents
it with Docker's semantics.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
from pathlib import Path

from berth.fsutil import which
from berth.runtime.driver import RuncDriver
from berth.runtime.errors import OCIRuntimeFailure
from berth.structs import dataclass

SYNC_TIMEOUT = 60.0


def monitored_by(args: list[str]) -> str | None:
    """The container a process's command line (``/proc/<pid>/cmdline`` split) monitors, if it is
    a conmon of ours (``spawn``'s ``-c ID``); else None."""
    if not args or os.path.basename(args[0]) != "conmon" or "-c" not in args[:-1]:
        return None
    return args[args.index("-c") + 1]


def monitor_alive(pid: int, cid: str) -> bool:
    """Whether ``pid`` is still the conmon of ``cid`` (a pid reused since is someone else)."""
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = [a.decode(errors="replace") for a in f.read().split(b"\0")]
    except OSError:
        return False
    return monitored_by(args) == cid


def find_conmon() -> str:
    for cand in (which("conmon"), "/usr/bin/conmon", "/usr/libexec/podman/conmon"):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise OCIRuntimeFailure("conmon is not installed (apt-get install conmon)")


@dataclass(frozen=True)
class MonitorRequest:
    cid: str
    name: str
    bundle: Path  # holds config.json (the OCI spec); conmon also puts its ctl/winsz fifos here
    pidfile: Path
    conmon_pidfile: Path
    exit_dir: Path
    socket_dir: Path
    log_path: Path
    exit_command: tuple[str, ...]
    log_size_max: int = -1
    tty: bool = False
    stdin: bool = False
    #: keep the container's stdin open when an attached client goes (detach, or ``attach`` of a
    #: container whose stdin is not ``StdinOnce``); else conmon closes it after the first client
    leave_stdin_open: bool = False


def spawn(req: MonitorRequest, driver: RuncDriver, conmon: str | None = None) -> Creating:
    """Start conmon, which runs ``<runtime> create`` in the background (tens of ms of Go): the caller
    may work meanwhile, then ``Creating.wait()`` for (container pid, conmon pid)."""
    for d in (req.exit_dir, req.socket_dir):
        d.mkdir(parents=True, exist_ok=True)
    args = [conmon or find_conmon(), "--api-version", "1", "-c", req.cid, "-u", req.cid, "-n", req.name,
            "-r", driver.path, "-b", str(req.bundle), "-p", str(req.pidfile), "-P", str(req.conmon_pidfile),
            "--exit-dir", str(req.exit_dir), "--socket-dir-path", str(req.socket_dir),
            "-l", f"k8s-file:{req.log_path}", "--log-size-max", str(req.log_size_max)]
    for arg in driver.global_args():
        args += ["--runtime-arg", arg]
    if req.tty:
        args.append("--terminal")
    if req.stdin:
        args.append("--stdin")
        if req.leave_stdin_open:
            args.append("--leave-stdin-open")
    if req.exit_command:
        args += ["--exit-command", req.exit_command[0]]
        for arg in req.exit_command[1:]:
            args += ["--exit-command-arg", arg]
    rfd, wfd = os.pipe()
    try:
        env = {**os.environ, "_OCI_SYNCPIPE": str(wfd)}
        # conmon's first process exits right after forking the monitor. It is reaped with conmon's
        # answer (Creating), not here: its start-up (~2 ms) then overlaps the caller's own work.
        first = subprocess.Popen(args, pass_fds=(wfd,), env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except BaseException:
        os.close(rfd)
        raise
    finally:
        os.close(wfd)
    return Creating(rfd, req, driver, first)


class Creating:
    """A container the runtime is creating under a fresh conmon.

    Used as a context manager: leaving the block on an error still waits for the runtime's
    answer, so that the caller's cleanup (``runtime delete``) cannot run before the create it
    undoes has finished (a create that lands after its delete is a container nobody owns)."""

    def __init__(self, sync_fd: int, req: MonitorRequest, driver: RuncDriver,
                 first: subprocess.Popen[bytes] | None = None) -> None:
        self._fd = sync_fd
        self._req = req
        self._driver = driver
        self._first = first  # conmon's first process, to reap
        self._answer: tuple[int, str] | None = None

    def __enter__(self) -> Creating:
        return self

    def __exit__(self, *exc: object) -> None:
        self._read()

    def _read(self) -> tuple[int, str]:
        if self._answer is None:
            try:
                self._answer = _read_sync(self._fd)
            finally:
                os.close(self._fd)
                if self._first is not None:  # it exited long ago, unless conmon hangs (then no wait)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self._first.wait(timeout=1.0)
        return self._answer

    def wait(self) -> tuple[int, int]:
        """(container pid, conmon pid) once created; raise OCIRuntimeFailure with the runtime's reason."""
        pid, message = self._read()
        driver = self._driver
        if pid <= 0:
            from berth.runtime.driver import last_error

            message = (last_error(message) or message).removeprefix(f"{driver.name} create failed: ")
            raise OCIRuntimeFailure(f"{driver.name} create failed: {message or 'conmon exited without a reason'}",
                                    runtime=driver.name)
        try:
            conmon_pid = int(self._req.conmon_pidfile.read_text().strip())
        except (OSError, ValueError):
            conmon_pid = 0
        return pid, conmon_pid


def _read_sync(fd: int) -> tuple[int, str]:
    """One JSON line: {"data": pid} or {"data": -1, "message": "..."}; EOF means conmon died early.

    conmon keeps its end open for the container's life, so read a line, not to EOF.
    """
    buf = b""
    while b"\n" not in buf:
        ready, _, _ = select.select([fd], [], [], SYNC_TIMEOUT)
        if not ready:
            return -1, f"conmon did not report within {SYNC_TIMEOUT:.0f}s"
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
    line = buf.split(b"\n", 1)[0].strip()
    if not line:
        return -1, ""
    try:
        msg = json.loads(line)
    except ValueError:
        return -1, line.decode(errors="replace")
    return int(msg.get("data", -1)), str(msg.get("message", "")).strip()
