"""OCI runtime drivers (runc, crun) behind one interface, and their auto-detection.

Each engine root has its own runtime state dir (``--root <run_dir>/<name>``),
so several engines on one machine never see each other's containers.
conmon runs ``create`` itself (it must own the container's stdio); the engine
calls the rest.
"""

from __future__ import annotations

import json
import os
import select
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from berth.fsutil import which
from berth.runtime.errors import OCIRuntimeFailure

_GONE = ("does not exist", "not exist", "no such file")


class RuncDriver:
    name = "runc"

    def __init__(self, path: str, state_root: Path) -> None:
        self.path = path
        self.state_root = state_root

    def global_args(self) -> list[str]:
        return ["--root", str(self.state_root)]

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([self.path, *self.global_args(), *args], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            msg = last_error(proc.stderr) or f"exit status {proc.returncode}"
            raise OCIRuntimeFailure(f"{self.name} {args[0]} failed: {msg}", runtime=self.name, args=list(args))
        return proc

    def has_state(self, cid: str) -> bool:
        """Whether the runtime still knows the container (a dir check, no process)."""
        return (self.state_root / cid).exists()

    def start(self, cid: str, pid: int = 0) -> None:
        """Let a created container run. ``runc start`` opens the exec fifo the container's init
        blocks on, reads the byte init writes when it is let go, and removes the fifo (runc's
        ``linuxContainer.exec``). Given the init's pid we do that here and spare a Go process
        (~5 ms of each ``run``); a fifo that is not where runc keeps it means ``runc start``."""
        if pid <= 0 or not self._start_by_fifo(cid, pid):
            self._run("start", cid)

    def _start_by_fifo(self, cid: str, pid: int) -> bool:
        from berth.runtime.liveness import start_time

        path = self.state_root / cid / "exec.fifo"
        try:  # non-blocking: the open of a fifo with no writer must not hang on a dead init
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                return False
            # init's open for writing completes now that we read: it writes "0" and execs. As runc,
            # look every 100 ms whether init died first (then no byte ever comes).
            while not select.select([fd], [], [], 0.1)[0]:
                if not start_time(pid):
                    break
            try:
                byte = os.read(fd, 1)
            except BlockingIOError:
                byte = b""
        finally:
            os.close(fd)
        if byte != b"0":
            raise OCIRuntimeFailure(f"{self.name} start failed: container process is already dead", runtime=self.name)
        path.unlink(missing_ok=True)
        return True

    def state(self, cid: str) -> dict[str, Any] | None:
        proc = self._run("state", cid, check=False)
        if proc.returncode != 0:
            return None
        return json.loads(proc.stdout)

    def kill(self, cid: str, signal: str, *, all_processes: bool = False) -> None:
        args = ["kill", *(["--all"] if all_processes else []), cid, signal]
        proc = self._run(*args, check=False)
        if proc.returncode != 0 and not _is_gone(proc.stderr):
            raise OCIRuntimeFailure(f"{self.name} kill failed: {last_error(proc.stderr)}", runtime=self.name)

    def delete(self, cid: str, *, force: bool = False) -> None:
        """Forget the container; idempotent."""
        self.begin_delete(cid, force=force)()

    def begin_delete(self, cid: str, *, force: bool = False) -> Callable[[], None]:
        """Start ``delete`` (a Go process, ~10 ms) and return the call that waits for it and raises
        its failure: the caller can undo other things meanwhile. An exited container is forgotten
        in place, with no process (``_forget_stopped``)."""
        if not self.has_state(cid) or self._forget_stopped(cid):
            return _nothing
        proc = subprocess.Popen([self.path, *self.global_args(), "delete", *(["--force"] if force else []), cid],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)

        def finish() -> None:
            _, stderr = proc.communicate()
            if proc.returncode != 0 and not _is_gone(stderr):
                raise OCIRuntimeFailure(f"{self.name} delete failed: {last_error(stderr)}", runtime=self.name)

        return finish

    def _forget_stopped(self, cid: str) -> bool:
        """What ``runc delete`` does for a container whose init has exited (libcontainer's
        ``destroy``: remove its cgroups, then its state dir), without a Go process: ~7 ms of each
        run's finalize. False, for ``runc delete`` to do it, when anything is unusual: init alive,
        hooks, Intel RDT, a cgroup that still holds processes or children, a state it cannot read."""
        from berth.fsutil import rmtree
        from berth.runtime.liveness import start_time

        state_dir = self.state_root / cid
        try:
            with open(state_dir / "state.json", "rb") as f:
                state = json.load(f)
            pid, started = int(state["init_process_pid"]), int(state["init_process_start"])
            paths = state["cgroup_paths"]
        except (OSError, ValueError, KeyError, TypeError):
            return False
        if pid <= 0 or start_time(pid) == started or not isinstance(paths, dict):
            return False  # still running (a zombie counts as exited, as for runc)
        if (state.get("config") or {}).get("hooks") or state.get("intel_rdt_path"):
            return False
        for path in paths.values():
            try:
                os.rmdir(path)
            except FileNotFoundError:
                continue
            except (OSError, TypeError):
                return False  # EBUSY, ENOTEMPTY: runc delete --force sees to what is left
        rmtree(state_dir)
        return True


def _nothing() -> None:
    pass


class CrunDriver(RuncDriver):
    name = "crun"

    def start(self, cid: str, pid: int = 0) -> None:  # crun's fifo goes the other way: crun start writes
        self._run("start", cid)

    def _forget_stopped(self, cid: str) -> bool:  # crun keeps another state: crun delete does it
        return False


_DRIVERS: dict[str, type[RuncDriver]] = {"runc": RuncDriver, "crun": CrunDriver}


def _is_gone(stderr: str) -> bool:
    low = stderr.lower()
    return any(s in low for s in _GONE)


def last_error(stderr: str) -> str:
    """runc logs JSON-ish or logfmt lines; the last non-empty one carries the cause."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    if not lines:
        return ""
    last = lines[-1]
    if 'msg="' in last:
        return last.split('msg="', 1)[1].rsplit('"', 1)[0]
    return last.removeprefix("time=").strip()


def cgroup_version() -> int:
    """2 on a pure cgroup v2 host; 1 on v1 and hybrid (what crun refuses)."""
    return 2 if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else 1


def detect_runtime(run_dir: Path, preferred: str | None = None) -> RuncDriver:
    """The configured runtime, else crun on cgroup v2 (faster start), else runc."""
    order = [preferred] if preferred else (["crun", "runc"] if cgroup_version() == 2 else ["runc"])
    for name in order:
        exe = which(name) or (f"/usr/sbin/{name}" if os.access(f"/usr/sbin/{name}", os.X_OK) else None)
        if exe and name in _DRIVERS:
            return _DRIVERS[name](exe, run_dir / name)
    raise OCIRuntimeFailure(f"no OCI runtime found (looked for {', '.join(order)}): install runc",
                            runtime=preferred or "")
