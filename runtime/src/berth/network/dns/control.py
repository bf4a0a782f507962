"""What the engine calls: write the table, start, reload and stop the resolver process.

"Running" means: some process holds the exclusive flock on dns.lock. The pid to signal is read
from dns.pid, which only the lock holder writes (once it listens) and removes (before it lets go
of the lock), so a pid read while the lock is held names a live server, never a recycled pid.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any

from berth.errors import BerthError
from berth.fsutil import atomic_write_json, read_json
from berth.network.dns import Files, lock_held, read_pid, table_digest
from berth.network.dns.table import TableError, parse, read
from berth.paths import Paths

READY_TIMEOUT = 2.0  # start-up to listening takes ~60 ms; the margin is for a machine under load
STOP_TIMEOUT = 5.0
LOG_MAX = 1 << 20  # dns.log is rotated to dns.log.1 at a start beyond this size

__all__ = ["ResolverError", "TableError", "ensure_running", "reload", "running_pid", "stop", "write_table"]


class ResolverError(BerthError):
    """The resolver process could not be started, signalled or stopped."""


def _files(paths: Paths) -> Files:
    return Files.for_run_dir(paths.run_dir)


def write_table(paths: Paths, table: dict[str, Any]) -> None:
    """Validate ``table`` (a bad one fails here, in the engine, not in the server) and replace
    dns.json atomically. Does not signal the server: call ``reload``."""
    parse(table)
    files = _files(paths)
    files.dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(files.table, table)


def running_pid(paths: Paths) -> int | None:
    """The pid of this engine's resolver, None when none is running."""
    return _holder(_files(paths))


def ensure_running(paths: Paths) -> None:
    """Start the resolver unless it runs; returns once it listens. Nothing is started while the
    table has no listen address (the server would exit at once)."""
    files = _files(paths)
    if _holder(files) is None and _has_listen(files):
        _start(paths, files)


def reload(paths: Paths) -> None:
    """Make the server serve the current table: SIGHUP it and wait until it has loaded it (so a
    container started next finds its name), or start it if it is not running. An emptied table
    makes the server exit; this returns once it has. Cheap when the table is empty and nothing
    runs (the usual state of an engine without user networks): a flock probe and a file read."""
    files = _files(paths)
    if not _signal_and_wait(files) and _has_listen(files):
        _start(paths, files)


def stop(paths: Paths) -> None:
    """SIGTERM the server and wait for it to be gone (SIGKILL after a while)."""
    files = _files(paths)
    pid = _holder(files)
    if pid is None:
        return
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 1.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not lock_held(files.lock):
                if sig == signal.SIGKILL:
                    files.pid.unlink(missing_ok=True)  # a killed server could not remove it
                return
            time.sleep(0.01)
    raise ResolverError(f"the DNS resolver (pid {pid}) does not exit", pid=pid)


# -- internals -------------------------------------------------------------------------------
def _has_listen(files: Files) -> bool:
    try:
        table = read_json(files.table)
    except ValueError:
        return True  # let the server report what is wrong with it
    return bool(isinstance(table, dict) and table.get("listen"))


def _holder(files: Files, timeout: float = READY_TIMEOUT) -> int | None:
    """The running server's pid, or None. A server that holds the lock without a pid file is
    between its start and its first bind, or about to exit: wait for either to finish."""
    deadline = time.monotonic() + timeout
    while lock_held(files.lock):
        pid = read_pid(files.pid)
        if pid is not None:
            return pid
        if time.monotonic() >= deadline:
            raise ResolverError(f"the DNS resolver holds {files.lock} but wrote no pid file; see {files.log}")
        time.sleep(0.005)
    return None


def _loaded(files: Files) -> tuple[str, str, str]:
    """(digest, "pid generation", error) from dns.loaded; empty strings when there is none."""
    try:
        lines = files.loaded.read_text().splitlines()
    except FileNotFoundError:
        return "", "", ""
    digest, _, stamp = (lines[0] if lines else "").partition(" ")
    return digest, stamp, lines[1] if len(lines) > 1 else ""


def _signal_and_wait(files: Files) -> bool:
    """SIGHUP the running server and wait until it has reloaded and serves the current dns.json:
    True; False when no server runs (any more: an empty table makes it exit)."""
    pid = _holder(files)
    if pid is None:
        return False
    before = _loaded(files)[1]
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + READY_TIMEOUT
    while lock_held(files.lock):
        digest, stamp, error = _loaded(files)  # all empty while it exits or resumes: look again
        if stamp and stamp != before and digest == table_digest(read(files.table)):
            if error:
                raise ResolverError(f"the DNS resolver rejected its table: {error}", pid=pid)
            return True
        if time.monotonic() >= deadline:
            raise ResolverError(f"the DNS resolver (pid {pid}) did not load its new table within "
                                f"{READY_TIMEOUT:g} s; see {files.log}", pid=pid)
        time.sleep(0.002)
    return False


def _log_tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_bytes()[-4096:].decode(errors="replace")
    except OSError:
        return ""
    return " | ".join(text.strip().splitlines()[-lines:])


def _read_status(fd: int, timeout: float) -> tuple[int | None, str | None]:
    """The server's pid and final status line from the ready pipe; status None on a timeout,
    "" when the pipe closed without one (the server died)."""
    deadline = time.monotonic() + timeout
    buf = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            status = None
            break
        chunk = os.read(fd, 4096)
        buf += chunk
        if not chunk or buf.count(b"\n") >= 2:
            status = ""
            break
    lines = buf.decode(errors="replace").splitlines()
    head = lines[0][4:] if lines and lines[0].startswith("pid ") else ""
    pid = int(head) if head.isascii() and head.isdigit() else None
    if status is not None and len(lines) >= 2:
        status = lines[1]
    return pid, status


def _start(paths: Paths, files: Files) -> None:
    import subprocess

    files.dir.mkdir(parents=True, exist_ok=True)
    _rotate(files.log)
    env = dict(os.environ)
    # the child must import this very berth, whatever sys.path trick made it importable here
    src = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    argv = [sys.executable or "python3", "-m", "berth.network.dns", str(paths.root), "--detach"]
    r, w = os.pipe()
    try:
        try:
            with open(files.log, "ab") as log:
                proc = subprocess.Popen([*argv, "--ready-fd", str(w)], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=log, pass_fds=(w,),
                                        start_new_session=True, env=env, cwd="/")
        except OSError as e:
            raise ResolverError(f"cannot start the DNS resolver: {e}") from e
        os.close(w)
        w = -1
        pid, status = _read_status(r, READY_TIMEOUT)
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    try:
        proc.wait(timeout=1.0)  # the intermediate process: it exits right after its fork
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if status == "ready":
        return
    if status == "empty":
        return  # the table was emptied meanwhile: nothing to serve, nothing to wait for
    if status == "busy":  # another start won the race: make sure that one serves this table
        if _signal_and_wait(files) or not _has_listen(files):
            return
        raise ResolverError(f"the DNS resolver started by someone else is gone; see {files.log}")
    if status is None:
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)  # half-started is worse than not started
        raise ResolverError(f"the DNS resolver did not start within {READY_TIMEOUT:g} s; see {files.log}",
                            log=str(files.log))
    detail = status[len("error: "):] if status.startswith("error: ") else _log_tail(files.log)
    raise ResolverError(f"the DNS resolver failed to start: {detail or 'no message'} (log: {files.log})",
                        log=str(files.log))


def _rotate(log: Path) -> None:
    try:
        if log.stat().st_size > LOG_MAX:
            os.replace(log, log.with_name(log.name + ".1"))
    except OSError:
        pass
