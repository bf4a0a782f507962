"""``exec``: run another process in a running container, with ``runc exec --process``.

The process is built like the container's own (moby's exec): the
environment is PATH and HOSTNAME, then the container's ``Env``, then ``-e``
over them by key; the user is ``-u`` or the container's ``User``, looked up
in the container's own /etc/passwd and /etc/group (inside its rootfs, never
the host's); the working dir is ``-w`` or the container's ``WorkingDir``; the
capabilities, rlimits and no-new-privileges flag are those the container's
init process got (read back from its OCI bundle). HOME is set by runc from
the user's passwd entry when the environment does not carry one.

Standard streams are captured (``capture=True``) or inherited from the
caller (the CLI). Without a terminal the stdin of the process is
``/dev/null`` unless ``interactive``; ``runc exec`` runs it (``--detach`` for
``-d``, its output then goes nowhere, as Docker's).

A pseudo-terminal for the CLI (``-t``, and ``-d -t``) is an exec session of
conmon (``conmon --exec``, as podman's): conmon holds the pty master, so the
process outlives the CLI. In the foreground the CLI attaches to the session's
socket before the process starts (``_OCI_ATTACHPIPE`` / ``_OCI_STARTPIPE``), relays
it with the local terminal raw and window size changes forwarded (``runtime.attach``),
and ``--detach-keys`` (ctrl-p ctrl-q) leave it running, as ``docker exec -it``
does; the exit code comes back on conmon's sync pipe. With ``-d -t`` nobody
attaches and its output is dropped. Sessions live in ``<bundle>/exec/<id>/``;
finished ones are swept at the next exec and go with the container. The API's
``tty=True`` with captured output keeps runc's own terminal handling (a private
pty relayed by ``_run_in_pty``).

Exit codes: the process's own (128+N when killed by signal N, as runc
reports it); a process that could not start raises ``ExecFailed`` with
Docker's 127 (command not found) / 126 (not executable) / 125.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from berth.errors import BerthError, InvalidArgument
from berth.runtime.context import RuntimeContext
from berth.runtime.errors import ContainerNotRunning
from berth.structs import dataclass, field

#: how long an exec session's conmon may take to exit after reporting the exit code (it has only
#: a socket to unlink left to do) before its directory is left to ``sweep_sessions``
CONMON_EXIT_TIMEOUT = 10.0


@dataclass(frozen=True)
class ExecOptions:
    cmd: tuple[str, ...]
    user: str | None = None  # None: the container's User
    workdir: str | None = None  # None: the container's WorkingDir
    env: tuple[str, ...] = ()  # KEY=VALUE (a bare KEY is dropped, as ``-e KEY`` with KEY unset)
    detach: bool = False
    interactive: bool = False  # keep stdin open (inherited, or the bytes given to run_exec)
    tty: bool = False
    privileged: bool = False
    detach_keys: bytes | None = None  # None: Docker's ctrl-p ctrl-q (with -it only)


@dataclass
class ExecResult:
    exit_code: int
    stdout: bytes = b""
    stderr: bytes = b""
    pid: int = 0  # host pid of the process (detached exec)
    extra: dict[str, Any] = field(default_factory=dict)


class ExecFailed(BerthError):
    """The process could not be started in the container; ``exit_code`` is Docker's 126/127/125."""

    exit_code = 126

    def __init__(self, message: str, code: int, **data: object) -> None:
        super().__init__(message, **data)
        self.exit_code = code


def running_pid(ctx: RuntimeContext, cid: str) -> int:
    """The container's init pid; ``ContainerNotRunning`` (a Conflict) if it is not running."""
    from berth.runtime.liveness import is_alive

    st = ctx.containers.state(cid)
    if not is_alive(st.Pid, st.PidStartTime):
        raise ContainerNotRunning(f"container {cid} is not running", container=cid)
    if st.Paused:
        raise ContainerNotRunning(f"container {cid} is paused, unpause the container before exec", container=cid)
    return st.Pid


def _env_entries(env: Sequence[str]) -> list[str]:
    """``-e KEY=VALUE`` as given; ``-e KEY`` takes the caller's value, or is dropped if unset (Docker CLI)."""
    out = []
    for entry in env:
        if "=" in entry:
            out.append(entry)
        elif entry in os.environ:
            out.append(f"{entry}={os.environ[entry]}")
    return out


def build_process(ctx: RuntimeContext, cid: str, opts: ExecOptions) -> dict[str, Any]:
    """The OCI ``process`` object of the exec (what ``runc exec --process`` reads)."""
    from berth.containers.users import lookup_user
    from berth.runtime.caps import effective_caps, host_caps
    from berth.runtime.oci import _replace_or_append_env, process_env

    if not opts.cmd:
        raise InvalidArgument("exec: no command given", container=cid)
    record = ctx.containers.config(cid)
    cfg, hc = record["Config"], record["HostConfig"]
    workdir = opts.workdir if opts.workdir else (cfg.get("WorkingDir") or "/")
    if not workdir.startswith("/"):
        raise InvalidArgument(f"the working directory '{workdir}' is invalid, it needs to be an absolute path",
                              value=workdir)
    user = lookup_user(ctx.rootfs(cid), opts.user if opts.user else cfg.get("User"))
    env = _replace_or_append_env(process_env({**cfg, "Tty": opts.tty}), _env_entries(opts.env))
    init = _init_process(ctx, cid)
    if opts.privileged:
        caps = list(host_caps())
    elif init.get("capabilities"):
        caps = list(init["capabilities"].get("bounding") or [])
    else:
        caps = effective_caps(hc.get("CapAdd") or [], hc.get("CapDrop") or [], bool(hc.get("Privileged")))
    process: dict[str, Any] = {
        "terminal": opts.tty,
        "user": {"uid": user.uid, "gid": user.gid,
                 **({"additionalGids": list(user.additional_gids)} if user.additional_gids else {})},
        "args": list(opts.cmd),
        "env": env,
        "cwd": workdir,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": bool(init.get("noNewPrivileges", False)),
    }
    if init.get("rlimits"):
        process["rlimits"] = init["rlimits"]
    if opts.tty:  # runc sizes the pty before the process starts (its own resize comes later: a race)
        rows, cols = _caller_size() or (24, 80)
        process["consoleSize"] = {"height": rows, "width": cols}
    return process


def _caller_size() -> tuple[int, int] | None:
    from berth.runtime.attach import window_size

    for fd in (0, 1, 2):
        size = window_size(fd)
        if size:
            return size
    return None


def _init_process(ctx: RuntimeContext, cid: str) -> dict[str, Any]:
    try:
        spec = json.loads((ctx.bundle(cid) / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    return spec.get("process") or {}


def run_exec(ctx: RuntimeContext, cid: str, opts: ExecOptions, *, capture: bool = True,
             stdin: bytes | None = None) -> ExecResult:
    """Run the exec and wait for it (or, ``detach``, only for its start)."""
    running_pid(ctx, cid)
    process = build_process(ctx, cid, opts)
    if opts.tty and (opts.detach or not capture):
        if stdin is not None:
            raise InvalidArgument("exec: input bytes with a terminal need capture=True", container=cid)
        return run_session(ctx, cid, process, opts)
    bundle = ctx.bundle(cid)
    fd, spec_path = tempfile.mkstemp(prefix=f"exec-{os.getpid()}-", suffix=".json", dir=bundle)
    pidfile = Path(spec_path).with_suffix(".pid")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(process, f)
        args = [ctx.driver.path, *ctx.driver.global_args(), "exec", "--process", spec_path,
                "--pid-file", str(pidfile), *(["--detach"] if opts.detach else []), cid]
        return _run(args, pidfile, opts, capture=capture, stdin=stdin, cid=cid)
    finally:
        for p in (Path(spec_path), pidfile):
            p.unlink(missing_ok=True)


def _run(args: list[str], pidfile: Path, opts: ExecOptions, *, capture: bool, stdin: bytes | None,
         cid: str) -> ExecResult:
    if opts.detach:
        # The process inherits runc's stdio: /dev/null, and a file (not a pipe, which the process
        # would hold open) for runc's own errors.
        with tempfile.TemporaryFile(dir=pidfile.parent) as err:
            proc = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
            pid = _read_pid(pidfile)
            if proc.returncode != 0 or pid == 0:
                err.seek(0)
                _raise_start_failure(err.read(), cid, proc.returncode)
        return ExecResult(0, pid=pid)
    if opts.tty and (capture or not any(os.isatty(fd) for fd in (0, 1, 2))):
        return _run_in_pty(args, pidfile, opts, capture=capture, stdin=stdin, cid=cid)
    if stdin is not None:
        stdin_arg: Any = subprocess.PIPE
    elif opts.interactive and not capture:
        stdin_arg = None  # inherit the caller's
    else:
        stdin_arg = subprocess.DEVNULL
    out = subprocess.PIPE if capture else None
    proc = subprocess.run(args, input=stdin, stdin=None if stdin is not None else stdin_arg, stdout=out,
                          stderr=subprocess.PIPE if capture else None)
    pid = _read_pid(pidfile)
    if pid == 0:  # the pid file is written once the process runs: no file, runc's own failure
        _raise_start_failure(proc.stderr or b"", cid, proc.returncode)
    return ExecResult(proc.returncode, proc.stdout or b"", proc.stderr or b"", pid)


def _run_in_pty(args: list[str], pidfile: Path, opts: ExecOptions, *, capture: bool, stdin: bytes | None,
                cid: str) -> ExecResult:
    """``exec -t`` with no terminal among the caller's stdio (pipes, the API): a foreground ``runc exec``
    needs a host console, so give it one (a raw pty whose master we relay), as ``script`` would."""
    import fcntl
    import select
    import struct
    import termios
    import tty

    master, slave = os.openpty()
    try:
        tty.setraw(slave, termios.TCSANOW)  # no echo of what we type before runc sets it raw itself
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=subprocess.PIPE)
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    assert proc.stderr is not None
    err_fd = proc.stderr.fileno()
    in_fd = 0 if (stdin is None and opts.interactive and not capture) else None
    out, err = bytearray(), bytearray()
    try:
        if stdin:
            os.write(master, stdin)  # small inputs (the API); larger ones would need the select loop
        readers = {master, err_fd} | ({in_fd} if in_fd is not None else set())
        while master in readers or err_fd in readers:
            ready, _, _ = select.select(list(readers), [], [])
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: every slave end is closed, runc has exited
                    data = b""
                if fd == in_fd:
                    if not data:
                        readers.discard(fd)
                        data = b"\x04"  # end of input: the terminal's EOF character
                    os.write(master, data)
                    continue
                if not data:
                    readers.discard(fd)
                elif fd == err_fd:
                    err += data
                elif capture:
                    out += data
                else:
                    _write_all(1, data)
    finally:
        os.close(master)
        proc.stderr.close()
        proc.wait()
    if not capture and err and _read_pid(pidfile):
        _write_all(2, bytes(err))
    pid = _read_pid(pidfile)
    if pid == 0:
        _raise_start_failure(bytes(err), cid, proc.returncode)
    return ExecResult(proc.returncode, bytes(out), bytes(err), pid)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_pid(pidfile: Path) -> int:
    try:
        return int(pidfile.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def _raise_start_failure(stderr: bytes, cid: str, returncode: int | None = None) -> None:
    from berth.runtime.driver import last_error

    msg = last_error(stderr.decode("utf-8", "replace")).replace('\\"', '"') or f"exit status {returncode}"
    low = msg.lower()
    if "executable file not found" in low or "no such file" in low:
        code = 127
    elif "permission denied" in low:
        code = 126
    else:
        code = 125
    if "is not running" in low or "container not running" in low or "does not exist" in low:
        raise ContainerNotRunning(f"container {cid} is not running", container=cid)
    raise ExecFailed(f"OCI runtime exec failed: {msg}", code, container=cid)


# -- exec sessions of conmon (``-t`` from the CLI, ``-d -t``) ---------------------------------------
class _SyncReader:
    """conmon's JSON lines (``{"data": N, "message": "..."}``) on a pipe, one at a time."""

    def __init__(self, fd: int) -> None:
        self.fd, self.buf = fd, b""

    def read(self, timeout: float | None) -> tuple[int, str] | None:
        """The next message, None at EOF (conmon gone) or after ``timeout`` seconds."""
        import select

        while b"\n" not in self.buf:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        try:
            msg = json.loads(line)
        except ValueError:
            return -1, line.decode(errors="replace")
        return int(msg.get("data", -1)), str(msg.get("message", "")).strip()

    def wait_closed(self, timeout: float) -> bool:
        """Whether the pipe reached EOF within ``timeout`` seconds (anything still sent is dropped).

        conmon holds the only write end (it makes the fd close-on-exec, so nothing it runs
        inherits it): EOF means the conmon process is gone, not merely done talking."""
        import select
        import time

        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                return False
            if not os.read(self.fd, 65536):
                return True


def sessions_dir(ctx: RuntimeContext, cid: str) -> Path:
    return ctx.bundle(cid) / "exec"


def sweep_sessions(ctx: RuntimeContext, cid: str) -> None:
    """Remove the directories of exec sessions whose conmon has gone."""
    import shutil

    from berth.runtime.liveness import start_time

    base = sessions_dir(ctx, cid)
    if not base.is_dir():
        return
    for d in base.iterdir():
        try:
            pid = int((d / "conmon.pid").read_text().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid and start_time(pid):
            continue  # still running (or its conmon is: the process may have been detached from)
        if not pid and _younger_than(d, 60.0):
            continue  # being set up right now by another exec
        shutil.rmtree(d, ignore_errors=True)


def _younger_than(path: Path, seconds: float) -> bool:
    import time

    try:
        return time.time() - path.stat().st_mtime < seconds
    except OSError:
        return False


def run_session(ctx: RuntimeContext, cid: str, process: dict[str, Any], opts: ExecOptions) -> ExecResult:
    """``exec -t`` (attached to the caller's stdio) or ``exec -d -t`` through ``conmon --exec``."""
    import secrets

    from berth.runtime.monitor import SYNC_TIMEOUT, find_conmon

    sweep_sessions(ctx, cid)
    sid = secrets.token_hex(16)
    sdir = sessions_dir(ctx, cid) / sid
    sdir.mkdir(parents=True)
    (sdir / "process.json").write_text(json.dumps(process))
    attached = not opts.detach
    interactive = opts.interactive and attached
    args = [find_conmon(), "--api-version", "1", "-c", cid, "-u", sid, "-n", cid[:12], "-r", ctx.driver.path,
            "-b", str(sdir), "-p", str(sdir / "pid"), "-P", str(sdir / "conmon.pid"), "--exit-dir", str(sdir),
            "--socket-dir-path", str(ctx.socket_dir), "--full-attach", "-l", "none", "--log-size-max", "-1",
            "--exec", "--exec-process-spec", str(sdir / "process.json"), "-t",
            *(["-i", "--leave-stdin-open"] if interactive else []), *(["--exec-attach"] if attached else [])]
    for arg in ctx.driver.global_args():
        args += ["--runtime-arg", arg]
    pipes = [os.pipe() for _ in range(3)]  # sync (conmon -> us), start (us -> conmon), attach (conmon -> us)
    (sync_r, sync_w), (start_r, start_w), (attach_r, attach_w) = pipes
    ours, theirs = {sync_r, start_w, attach_r}, {sync_w, start_r, attach_w}
    env = {**os.environ, "_OCI_SYNCPIPE": str(sync_w), "_OCI_STARTPIPE": str(start_r)}
    if attached:
        env["_OCI_ATTACHPIPE"] = str(attach_w)
    sock = None
    try:
        try:
            proc = subprocess.Popen(args, pass_fds=tuple(theirs), env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            for fd in theirs:
                os.close(fd)
        os.write(start_w, b"0")  # conmon's first wait (cgroup placement, not used here): go on
        proc.wait()  # its first process exits once the monitor is forked off
        sync = _SyncReader(sync_r)
        if attached:
            ready = _SyncReader(attach_r).read(SYNC_TIMEOUT)
            if ready is None:
                raise ExecFailed(f"OCI runtime exec failed: conmon did not set up the exec session "
                                 f"({_conmon_error(sync)})", 125, container=cid)
            from berth.runtime.attach import connect

            sock = connect(sdir)
            os.write(start_w, b"0")  # the exec may start: we are attached
        started = sync.read(SYNC_TIMEOUT)
        if started is None or started[0] <= 0:
            message = started[1] if started else "conmon exited without a reason"
            _raise_start_failure(message.encode(), cid)
        pid = started[0]
        if not attached:
            return ExecResult(0, pid=pid)
        assert sock is not None
        from berth.runtime.attach import DETACH_KEYS, attach_streams

        with sock:
            detached = attach_streams(sock, sdir, stdin=interactive, tty=True,
                                      detach_keys=opts.detach_keys or DETACH_KEYS)
            sock = None
        if detached:
            return ExecResult(0, pid=pid, extra={"detached": True})
        return ExecResult(_finish_session(sync, sdir, cid), pid=pid)
    finally:
        if sock is not None:
            sock.close()
        for fd in ours:
            os.close(fd)


def _finish_session(sync: _SyncReader, sdir: Path, cid: str, exit_timeout: float = CONMON_EXIT_TIMEOUT) -> int:
    """The exit code of a finished attached session; its directory goes once conmon has exited.

    The exit message is not conmon's last act: it unlinks its attach socket in ``sdir`` after
    sending it, so an rmtree right after the message races it and meets a vanished file
    (FileNotFoundError: ``exec -it`` exited 1 instead of the process's code). A conmon still
    there after ``exit_timeout`` has its directory left to ``sweep_sessions``."""
    from berth.fsutil import rmtree

    done = sync.read(None)
    code = done[0] if done is not None else _exit_file_code(sdir, cid)
    if done is None or sync.wait_closed(exit_timeout):  # None: EOF already, conmon is gone
        rmtree(sdir)
    return code


def _conmon_error(sync: _SyncReader) -> str:
    msg = sync.read(0.5)
    return msg[1] if msg and msg[1] else "no message"


def _exit_file_code(sdir: Path, cid: str) -> int:
    try:
        return int((sdir / cid).read_text().strip())
    except (OSError, ValueError):
        return 255
