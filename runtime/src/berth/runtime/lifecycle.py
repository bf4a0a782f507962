"""Container lifecycle on records: start, stop, kill, finalize after exit, remove, wait.

Locks: a per-container op lock serialises start / finalize / remove (each
takes milliseconds, or a bounded kill wait); nothing holds a lock while a
container runs. A start that races a very fast exit is safe because the exit
hook's finalize waits for the op lock, i.e. for start to record "running".
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from berth.errors import Conflict
from berth.fsutil import rmtree
from berth.locks import file_lock
from berth.runtime.context import RuntimeContext
from berth.runtime.errors import ContainerNotFound, ContainerNotRunning, ContainerRunning
from berth.runtime.liveness import is_alive, parse_signal, send_signal, start_time
from berth.runtime.rootfs import unmount_rootfs
from berth.state import ContainerState, now_rfc3339
from berth.state.records import rfc3339_ns

if TYPE_CHECKING:
    from berth.network.endpoints import Endpoint

ACTIVE = ("running", "paused", "restarting")
DEFAULT_STOP_TIMEOUT = 10
#: how long a dead container may wait for its exit hook before the engine finalizes it itself
HOOK_GRACE = 5.0


#: What conmon runs first at a container's exit: wait until the waiters let go of the waiter lock
#: (a foreground `run`, `berth wait`: they finalize the container themselves), then until no one
#: holds the container's op lock (a finalize or a removal in progress), and start the exit hook's
#: interpreter only if the record is still there. A waiter that removed it (`run --rm`) spares the
#: hook's start-up: ~20 ms of CPU that, on 2 cores, competed with the waiter's own finalize and the
#: next command. The hook itself looks again, and does what a waiter left (exit_hook._done_by_waiter):
#: a waiter killed mid-removal lets go of both locks with the record still there.
#: The waiter lock is made with the bundle (``_launch``) and goes with it at a removal, before the
#: record: so the op lock too (waiting only on the first let the hook start at nearly every
#: `run --rm`). Both are opened, never created (``9<``): a flock(1) that made the waiter lock again
#: in a bundle being deleted made that removal fail ("Directory not empty").
_HOOK_GATE = ('for lock in "$2" "$3"; do [ -e "$lock" ] && "$1" 9 2>/dev/null 9<"$lock"; done; '
              '[ -d "$4" ] || exit 0; shift 4; exec "$@"')


#: Imported while the runtime creates the container, some 30-40 ms in which this process only
#: waits: what a foreground run's output and the removal at its exit import. After the exit, they
#: were ~3 ms of each `run --rm`; here they use time (and, on 2 cores, a core) that was idle.
_IMPORTED_WHILE_CREATING = ("berth.runtime.logs", "shutil")


def exit_command(ctx: RuntimeContext, cid: str) -> tuple[str, ...]:
    """What conmon runs after the container exits (see berth.runtime.exit_hook): the hook, behind
    ``_HOOK_GATE`` where util-linux's flock(1) is at hand."""
    from berth.fsutil import which

    lock = str(ctx.waiter_lock(cid))
    hook = (sys.executable, "-m", "berth.runtime.exit_hook", str(ctx.paths.root), cid, ctx.driver.name, lock)
    flock = which("flock")
    if flock is None:
        return hook
    return ("/bin/sh", "-c", _HOOK_GATE, "berth-exit-hook", flock, lock, str(ctx.op_lock(cid)),
            str(ctx.containers.dir(cid)), *hook)


def start(ctx: RuntimeContext, cid: str, layer_dirs: Sequence[Path], *, log_size_max: int = -1,
          on_created: Callable[[str], None] | None = None) -> ContainerState:
    """Mount, build the OCI spec, hand the container to conmon, ``runtime start``. No-op if running.

    A start by the restart policy (``ctx.policy_restart`` set, by the restarter) happens only
    if that restart is still pending, and keeps RestartCount and the back-off; any other start
    resets both, as ``docker start`` does (moby ResetRestartManager(true)).

    ``on_created(cid)`` runs between ``runtime create`` and ``runtime start`` (conmon's attach
    socket exists, the process has not run yet): ``berth run -i/-t`` attaches there so that no
    output is lost. If it raises, the start fails.
    """
    from berth.runtime import restart

    by_policy = ctx.policy_restart
    with file_lock(ctx.op_lock(cid)):
        st = ctx.containers.state(cid)
        if is_alive(st.Pid, st.PidStartTime):
            return st
        if st.Status == "removing":  # a removal cut short (crash): `system check --repair` finishes it
            raise Conflict(f"container {cid} is marked for removal and cannot be started", container=cid)
        if by_policy is not None and (st.Status != "restarting" or st.ManuallyStopped
                                      or st.RestartCount != by_policy):
            return st  # cancelled (stop, kill), superseded (a manual start) meanwhile
        if by_policy is None:
            restart.forget(ctx, cid)
        try:
            pid, conmon_pid = _launch(ctx, cid, layer_dirs, log_size_max, on_created)
        except BaseException as exc:
            with contextlib.suppress(Exception):  # a cleanup failure must not hide why the start failed
                _release_runtime(ctx, cid)
            with ctx.containers.editing_state(cid) as failed:
                failed.Error = str(exc)
                failed.ExitCode = _start_error_code(str(exc))
                if failed.Status == "restarting":  # a failed restart leaves it stopped (moby)
                    failed.Status, failed.Running, failed.Restarting = "exited", False, False
                    failed.FinishedAt = now_rfc3339()
            raise
        with ctx.containers.editing_state(cid) as st:
            st.Status, st.Running, st.Pid, st.PidStartTime = "running", True, pid, start_time(pid)
            st.MonitorPid, st.StartedAt, st.ExitCode, st.Error = conmon_pid, now_rfc3339(), 0, ""
            st.ManuallyStopped, st.Restarting = False, False
            if by_policy is None:
                st.RestartCount = 0
        return st


def _launch(ctx: RuntimeContext, cid: str, layer_dirs: Sequence[Path], log_size_max: int,
            on_created: Callable[[str], None] | None = None) -> tuple[int, int]:
    from berth.containers.users import lookup_user
    from berth.fsutil import atomic_write_json
    from berth.runtime import monitor
    from berth.runtime.errors import InvalidContainerConfig
    from berth.runtime.oci import SpecInputs, build_spec, find_init_binary
    from berth.runtime.oci_defaults import OCIMount
    from berth.runtime.rootfs import mount_rootfs
    from berth.runtime.update import apply_to_spec

    record = ctx.containers.config(cid)
    cfg, hc = record["Config"], record["HostConfig"]
    _release_runtime(ctx, cid)  # debris of a previous run (crash, reboot)
    ctx.exit_file(cid).unlink(missing_ok=True)
    rootfs = mount_rootfs(layer_dirs, ctx.containers.dir(cid), ctx.rootfs(cid), volatile=bool(hc.get("AutoRemove")))
    init = None
    if hc.get("Init"):
        init = find_init_binary()
        if init is None:
            raise InvalidContainerConfig("--init needs tini on the host (apt-get install tini)")
    # Wired before the runtime creates the container. Wiring while it creates (as libnetwork's prestart
    # hook does) saved ~15 ms on a bridge, but a kill -9 then leaves a create in flight that
    # `system check --repair`, run at once, could race: not worth it yet.
    endpoint = _attach(ctx, cid, record)  # namespace, links, ports, DNS; undone by _release_runtime
    spec = build_spec(SpecInputs(
        cid, cfg, hc, rootfs, lookup_user(rootfs, cfg.get("User")), ctx.containers.dir(cid),
        tuple(OCIMount.from_oci(m) for m in record.get("MountPoints") or []),
        endpoint.netns if endpoint else None, init, ctx.kernel_serves_x32))
    apply_to_spec(spec, hc)  # the limits `berth update` can set that the spec builder does not carry
    bundle = ctx.bundle(cid)
    atomic_write_json(bundle / "config.json", spec, durable=False)  # the run dir: gone at a reboot
    # made here only, with the bundle; its users open it without O_CREAT, so none makes it again
    # inside a bundle that a remove is deleting
    os.close(os.open(ctx.waiter_lock(cid), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
    with monitor.spawn(monitor.MonitorRequest(
        cid=cid, name=str(record.get("Name", cid)).lstrip("/"), bundle=bundle, pidfile=bundle / "pidfile",
        conmon_pidfile=bundle / "conmon.pid", exit_dir=ctx.exit_dir, socket_dir=ctx.socket_dir,
        log_path=ctx.log_path(cid), exit_command=exit_command(ctx, cid), log_size_max=log_size_max,
        tty=bool(cfg.get("Tty")), stdin=bool(cfg.get("OpenStdin")),
        # moby closes a container's stdin when its attached client leaves only with StdinOnce and no
        # terminal (a foreground `run -i`): after a detach (ctrl-p ctrl-q) or from `attach`, the rest
        # keep it open for the next client
        leave_stdin_open=bool(cfg.get("Tty")) or not cfg.get("StdinOnce")), ctx.driver) as creating:
        for module in _IMPORTED_WHILE_CREATING:
            importlib.import_module(module)
        pid, conmon_pid = creating.wait()
    if on_created is not None:
        on_created(cid)
    ctx.driver.start(cid, pid)
    return pid, conmon_pid


def _attach(ctx: RuntimeContext, cid: str, record: dict) -> Endpoint | None:
    """``ctx.network.attach``; on a published port already taken, first free what abandoned
    containers hold (``_finalize_abandoned``) and try once more."""
    from berth.network.errors import PortAllocated

    try:
        return ctx.network.attach(cid, record)
    except PortAllocated:
        if not _finalize_abandoned(ctx, cid):
            raise
        return ctx.network.attach(cid, record)


def _finalize_abandoned(ctx: RuntimeContext, starting: str) -> bool:
    """Finalize the wired containers whose process died with its monitor (killed together: no exit
    hook ever ran, so they still hold their published ports, which dockerd frees when a container
    dies). As ``system check --repair`` records them: exited, restart policy not applied. True if
    any was."""
    from berth.runtime.monitor import monitor_alive

    found = False
    for other in ctx.network.endpoints.all():
        if other == starting:
            continue
        try:
            st = ctx.containers.state(other)
        except ContainerNotFound:
            continue
        if (st.Status in ("running", "paused") and not is_alive(st.Pid, st.PidStartTime)
                and not monitor_alive(st.MonitorPid, other)):
            found = finalize(ctx, other) or found
    return found


def _start_error_code(message: str) -> int:
    """Docker's codes for a command that could not run: 127 not found, 126 not executable."""
    low = message.lower()
    if "no such file" in low or "not found" in low:
        return 127
    if "permission denied" in low:
        return 126
    return 128


def _release_runtime(ctx: RuntimeContext, cid: str) -> None:
    """Forget the runtime's state, unwire the network, unmount; idempotent."""
    deleted = ctx.driver.begin_delete(cid, force=True)
    try:
        ctx.network.detach(cid)  # meanwhile: the namespace is the container's no more once it is dead
    finally:
        deleted()
    unmount_rootfs(ctx.rootfs(cid))  # after the delete: a live container (a forced delete) is killed first
    # conmon's <socket dir>/<id> -> bundle link (for the attach socket's short path): conmon 2.1.6
    # leaves it behind, one per container ever run; the next conmon makes it again
    with contextlib.suppress(OSError):
        (ctx.socket_dir / cid).unlink()


# -- after exit ----------------------------------------------------------------
def finalize(ctx: RuntimeContext, cid: str, *, apply_policy: bool = False) -> bool:
    """Record the exit (code from conmon's exit file), release runtime state, unmount.

    ``apply_policy`` (the exit hook): apply the restart policy in the same step, so the record goes
    from "running" straight to "restarting" (RestartCount + 1) and the restarter is spawned (see
    ``berth.runtime.restart``). A pending restart (its restarter alive) is left alone; an abandoned
    one (restarter gone: crash, reboot) is finalized without applying the policy again.

    Idempotent; returns False when there was nothing to do (record gone, still alive, never started).
    """
    from berth.runtime import restart

    with file_lock(ctx.op_lock(cid)):
        try:
            st = ctx.containers.state(cid)
        except ContainerNotFound:
            return False
        if is_alive(st.Pid, st.PidStartTime):
            return False
        if st.Status == "restarting" and restart.restarter_alive(ctx, cid):
            return False
        _release_runtime(ctx, cid)
        if st.Status not in ACTIVE:
            return False
        was_restarting = st.Status == "restarting"
        code = ctx.exit_code(cid)
        host_config: dict = {}
        if apply_policy and not was_restarting:
            host_config = ctx.containers.config(cid).get("HostConfig") or {}
        delay = None
        with ctx.containers.editing_state(cid) as st:
            st.Status, st.Running, st.Paused, st.Restarting, st.Pid, st.PidStartTime = (
                "exited", False, False, False, 0, 0)
            if not was_restarting:  # a pending restart's record already holds its exit
                st.ExitCode = code if code is not None else (st.ExitCode or 255)
                st.FinishedAt = _mtime_rfc3339(ctx.exit_file(cid)) or now_rfc3339()
            if host_config:
                delay = restart.decide(ctx, cid, host_config, st)  # fresh state: sees a concurrent stop
        if delay is not None:
            try:
                restart.schedule(ctx, cid, delay, st.RestartCount)
            except OSError as exc:
                with ctx.containers.editing_state(cid) as st:
                    st.Status, st.Running, st.Restarting = "exited", False, False
                    st.Error = f"restart: {exc}"
        return True


def on_exit(ctx: RuntimeContext, cid: str) -> None:
    """What happens when a container's process ends: conmon's exit command lands here.

    Finalize and apply the restart policy (no / on-failure[:N] / always / unless-stopped, with
    back-off: ``berth.runtime.restart``), then auto-remove (``--rm`` never restarts).
    """
    finalize(ctx, cid, apply_policy=True)
    try:
        record = ctx.containers.config(cid)
    except ContainerNotFound:
        return
    if record["HostConfig"].get("AutoRemove"):
        from berth.runtime import restart
        from berth.runtime.volumes_mounts import remove_volumes_of

        if restart.manually_restarting(ctx, cid):
            return  # `berth restart` of an --rm container stops it to start it again: keep it (moby)
        try:
            remove(ctx, cid, force=False, keep_exit_file=True)  # wait() reads the code after the record is gone
        except ContainerRunning:
            return  # started again meanwhile (`start`, `restart`): it is not done
        remove_volumes_of(ctx.paths, cid, record)  # --rm drops anonymous volumes, as `docker run --rm` does


def _mtime_rfc3339(path: Path) -> str | None:
    try:
        return rfc3339_ns(path.stat().st_mtime_ns)
    except OSError:
        return None


# -- signals -------------------------------------------------------------------
def view(ctx: RuntimeContext, cid: str) -> ContainerState:
    """The state as ps/inspect show it: a dead process not yet finalized is shown exited (read-only)."""
    st = ctx.containers.state(cid)
    if st.Status in ACTIVE and not is_alive(st.Pid, st.PidStartTime):
        from berth.runtime.monitor import monitor_alive  # here: the observe path of a live one skips it

        if _pending_restart(ctx, st, cid):
            return st  # "restarting", Running and Restarting true, Pid 0: what Docker shows
        code = ctx.exit_code(cid)
        if code is None and monitor_alive(st.MonitorPid, cid):
            return st  # conmon is writing its exit code: still running, as dockerd shows it until the event
        st.Restarting = False
        st.Status, st.Running, st.Pid = "exited", False, 0
        st.ExitCode = code if code is not None else (st.ExitCode or 255)  # as finalize will record it
        st.FinishedAt = _mtime_rfc3339(ctx.exit_file(cid)) or st.FinishedAt
    return st


def _pending_restart(ctx: RuntimeContext, st: ContainerState, cid: str) -> bool:
    from berth.runtime import restart

    return st.Status == "restarting" and restart.restarter_alive(ctx, cid)


def cancel_restart(ctx: RuntimeContext, cid: str) -> bool:
    """A manual stop/kill of a container waiting to restart: cancel it, record it stopped.

    Under the op lock, so the restarter either already started it (then False: stop it as usual)
    or will find it stopped and do nothing."""
    from berth.runtime import restart

    with file_lock(ctx.op_lock(cid)):
        st = ctx.containers.state(cid)
        if st.Status != "restarting" or is_alive(st.Pid, st.PidStartTime):
            return False
        restart.kill_restarter(ctx, cid)
        with ctx.containers.editing_state(cid) as st:
            st.Status, st.Running, st.Restarting, st.Pid, st.PidStartTime = "exited", False, False, 0, 0
            st.ManuallyStopped = True
        return True


def kill(ctx: RuntimeContext, cid: str, sig: str | int | None = "SIGKILL") -> None:
    signum = parse_signal(sig, signal.SIGKILL)
    if cancel_restart(ctx, cid):
        return  # moby: killing a restarting container cancels its restart, no signal to send
    st = ctx.containers.state(cid)
    if not is_alive(st.Pid, st.PidStartTime):
        raise ContainerNotRunning(f"Container {cid} is not running", container=cid)
    _mark_manual_stop(ctx, cid)
    if not send_signal(st.Pid, st.PidStartTime, signum):
        raise ContainerNotRunning(f"Container {cid} is not running", container=cid)


def stop(ctx: RuntimeContext, cid: str, timeout: int | None = None) -> None:
    """Stop signal, then SIGKILL after ``timeout`` seconds (None: the record's, else 10; -1: forever).

    Marks the container manually stopped, which cancels its restart policy (a pending restart
    too) until the next start."""
    record = ctx.containers.config(cid)
    if timeout is None:
        stored = record["Config"].get("StopTimeout")
        timeout = DEFAULT_STOP_TIMEOUT if stored is None else int(stored)
    for _ in range(10):  # a restart may race the stop: go again until it is stopped for good
        try:
            if _stop_once(ctx, cid, record, timeout):
                return
        except ContainerNotFound:
            return  # an --rm container: its exit hook removed it, it is stopped for good


def _stop_once(ctx: RuntimeContext, cid: str, record: dict, timeout: int) -> bool:
    """One round of ``stop``; True when the container is stopped (not restarting either)."""
    if cancel_restart(ctx, cid):
        return True
    st = ctx.containers.state(cid)
    if st.Status in ACTIVE:  # also dead but not finalized: the exit hook must not restart it
        _mark_manual_stop(ctx, cid)
    if is_alive(st.Pid, st.PidStartTime):
        send_signal(st.Pid, st.PidStartTime, parse_signal(record["Config"].get("StopSignal")))
        if not _wait_dead(st.Pid, st.PidStartTime, None if timeout < 0 else float(timeout)):
            send_signal(st.Pid, st.PidStartTime, signal.SIGKILL)
            _wait_dead(st.Pid, st.PidStartTime, 30.0)
    wait(ctx, cid)
    st = ctx.containers.state(cid)
    return st.Status != "restarting" and not is_alive(st.Pid, st.PidStartTime)


def _mark_manual_stop(ctx: RuntimeContext, cid: str) -> None:
    with ctx.containers.editing_state(cid) as st:
        st.ManuallyStopped = True


def _wait_dead(pid: int, started: int, timeout: float | None) -> bool:
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.005
    while is_alive(pid, started):
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    return True


# -- wait / remove ---------------------------------------------------------------
def wait(ctx: RuntimeContext, cid: str, condition: Literal["not-running", "removed"] = "not-running",
         timeout: float | None = None) -> int:
    """Block until the container is finalized (or removed); return its exit code.

    A waiter that sees the process dead and its exit code written (conmon's exit file) runs the
    exit hook's work itself (``on_exit``, idempotent under the container's lock) rather than wait
    for the hook's fresh interpreter, which then finds nothing left to do: ``run --rm`` returns
    ~0.1 s sooner. With no exit file after a grace period (a killed monitor) it finalizes anyway.
    """
    with _as_waiter(ctx, cid):
        return _wait(ctx, cid, condition, timeout)


@contextlib.contextmanager
def holding_waiter_lock(ctx: RuntimeContext, cid: str) -> Iterator[Callable[[str], None]]:
    """For a process that starts a container and will wait for it (a foreground ``run``): the
    ``on_created`` of ``start``, which takes the waiter lock (shared) before the container runs,
    held to the end of the block. Taken only in ``wait``, after the output was followed, it came
    late for a container quick to exit: its exit hook had started by then."""
    import fcntl

    fds: list[int] = []

    def take(_cid: str) -> None:
        fds.append(os.open(ctx.waiter_lock(cid), os.O_RDONLY | os.O_CLOEXEC))  # made by _launch, or OSError
        fcntl.flock(fds[-1], fcntl.LOCK_SH)

    try:
        yield take
    finally:
        for fd in fds:
            os.close(fd)


@contextlib.contextmanager
def _as_waiter(ctx: RuntimeContext, cid: str) -> Iterator[None]:
    """A shared lock on the container's waiter lock while waiting: this process finalizes the
    container itself when it exits, so the exit hook waits for it first (``exit_hook``). No lock
    (never started, or its bundle removed): no monitor left, no hook to wait for us."""
    with holding_waiter_lock(ctx, cid) as take:
        with contextlib.suppress(OSError):
            take(cid)
        yield


def _wait(ctx: RuntimeContext, cid: str, condition: Literal["not-running", "removed"],
          timeout: float | None) -> int:
    from berth.runtime.liveness import ExitWatch

    deadline = None if timeout is None else time.monotonic() + timeout
    dead_since: float | None = None
    finalized_here = False
    delay = 0.005
    while True:
        try:
            st = ctx.containers.state(cid)
        except ContainerNotFound:
            code = ctx.exit_code(cid)
            if code is None:
                raise
            return code
        if st.Status not in ACTIVE and condition == "not-running":
            return st.ExitCode
        if _pending_restart(ctx, st, cid):
            if condition == "not-running":  # it has exited; `docker wait` returns at each exit too
                return st.ExitCode
        elif st.Status in ACTIVE and not is_alive(st.Pid, st.PidStartTime):
            if dead_since is None:  # conmon writes the exit file once it has passed on the output: soon
                dead_since, delay = time.monotonic(), 0.001
            if ctx.exit_file(cid).exists() or time.monotonic() - dead_since > HOOK_GRACE:
                on_exit(ctx, cid)
                if not finalized_here:  # read the outcome at once; later rounds poll as usual
                    finalized_here = True
                    continue
        elif st.Status not in ACTIVE and condition == "removed" and not _auto_remove(ctx, cid):
            return st.ExitCode  # nothing will remove it
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"container {cid} still running after {timeout}s")
        with ExitWatch(st.Pid if st.Status == "running" and dead_since is None else 0, st.PidStartTime) as watch:
            watch.sleep(delay)
        delay = min(delay * 2, 0.05)


def _auto_remove(ctx: RuntimeContext, cid: str) -> bool:
    try:
        return bool(ctx.containers.config(cid)["HostConfig"].get("AutoRemove"))
    except ContainerNotFound:
        return False


def remove(ctx: RuntimeContext, cid: str, *, force: bool = False, keep_exit_file: bool = False) -> None:
    """Delete the container: refused while running unless ``force`` (then SIGKILL first)."""
    lock = ctx.op_lock(cid)
    with file_lock(lock):
        try:
            st = ctx.containers.state(cid)
        except ContainerNotFound:
            return
        if is_alive(st.Pid, st.PidStartTime):
            if not force:
                raise ContainerRunning(
                    f"You cannot remove a running container {cid}. "
                    f"Stop the container before attempting removal or force remove", container=cid)
            send_signal(st.Pid, st.PidStartTime, signal.SIGKILL)
            _wait_dead(st.Pid, st.PidStartTime, 30.0)
        elif _pending_restart(ctx, st, cid) and not force:
            raise ContainerRunning(
                f"You cannot remove a restarting container {cid}. "
                f"Stop the container before attempting removal or force remove", container=cid)
        from berth.runtime import restart

        restart.forget(ctx, cid)
        _release_runtime(ctx, cid)
        rmtree(ctx.bundle(cid))
        if not keep_exit_file:
            ctx.exit_file(cid).unlink(missing_ok=True)
        record = ctx.containers.config(cid)
        ctx.containers.remove(cid)
        ctx.network.release(cid, record)  # its addresses (after the record: a crash keeps them, check frees them)
    with contextlib.suppress(OSError):
        os.unlink(lock)
    _sweep_exit_files(ctx)


#: how long the exit code of a removed container stays readable (``wait`` after ``run --rm``)
EXIT_FILE_TTL = 600.0
#: how often a removal looks for exit files to sweep (the mtime of ``<exit dir>/.swept``): every
#: ``run --rm`` leaves one, and a look at all of them at each removal made removals on a busy host
#: cost O(runs in the last EXIT_FILE_TTL) (268 files: ~4 ms of each ``run --rm``)
EXIT_SWEEP_INTERVAL = 60.0


def _sweep_exit_files(ctx: RuntimeContext) -> None:
    """Drop the exit files of containers removed more than ``EXIT_FILE_TTL`` ago: ``--rm`` keeps its
    container's (``keep_exit_file``) so that ``wait`` can still answer, and nothing else removes them."""
    now = time.time()
    stamp = ctx.exit_dir / ".swept"
    try:
        if now - stamp.stat().st_mtime < EXIT_SWEEP_INTERVAL:
            return
        os.utime(stamp)
    except FileNotFoundError:
        with contextlib.suppress(OSError):
            stamp.touch()
    except OSError:
        return
    try:
        entries = list(os.scandir(ctx.exit_dir))
    except OSError:
        return
    for entry in entries:  # os.scandir and str paths: this loop may see hundreds
        if len(entry.name) != 64 or os.path.exists(os.path.join(ctx.containers.base, entry.name)):
            continue
        with contextlib.suppress(OSError):
            if now - entry.stat().st_mtime > EXIT_FILE_TTL:
                os.unlink(entry.path)
