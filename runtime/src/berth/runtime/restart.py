"""Restart policies with Docker's semantics (moby ``restartmanager/restartmanager.go``).

Decision (on each exit, from the exit hook): ``always`` restarts; ``unless-stopped`` restarts unless
the user stopped it; ``on-failure[:N]`` restarts on a non-zero exit while ``RestartCount < N``
(N = 0: no limit). A manual stop/kill cancels any policy until the next start (moby cancels the
container's restart manager), except at boot: ``berth system restore`` uses a fresh decision in
which ``always`` ignores the manual stop and ``unless-stopped`` does not (moby ``daemon.restore``
-> ``Container.ShouldRestart`` with a new restart manager).

Back-off: the delay starts at 100 ms and doubles on each restart, capped at one minute, and goes
back to 100 ms when the container ran for 10 s or more. The delay lives in
``<run>/restart/<id>.json`` (with the pid of the pending restarter), so it is forgotten at reboot,
as moby forgets it when the daemon restarts, and on a manual start.

The delay is not spent in Python: the exit hook spawns, in its own session,
``sh -c 'sleep DELAY; exec python -m berth.runtime.restarter ROOT ID COUNT'``. While it waits only
``sh`` and ``sleep`` (about 1 MB together) exist; Python runs for the start itself. conmon has no
respawn of its own (it exits with its container) and PID 1 is not always systemd, so no timer unit.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from berth.fsutil import which
from berth.runtime.liveness import is_alive, send_signal, start_time

if TYPE_CHECKING:
    from berth.runtime.context import RuntimeContext
    from berth.state import ContainerState

DEFAULT_DELAY = 0.1
MAX_DELAY = 60.0
RESET_AFTER = 10.0


def policy_of(host_config: dict[str, Any]) -> tuple[str, int]:
    rp = host_config.get("RestartPolicy") or {}
    return str(rp.get("Name") or "no"), int(rp.get("MaximumRetryCount") or 0)


def should_restart(name: str, max_retries: int, exit_code: int, manually_stopped: bool,
                   restart_count: int) -> bool:
    """moby ``restartManager.ShouldRestart``'s policy switch (cancellation is the caller's)."""
    if name == "always":
        return True
    if name == "unless-stopped":
        return not manually_stopped
    if name == "on-failure":
        return (max_retries == 0 or restart_count < max_retries) and exit_code != 0
    return False


def next_delay(previous: float, ran_for: float) -> float:
    if ran_for >= RESET_AFTER:
        previous = 0.0
    if previous <= 0:
        return DEFAULT_DELAY
    return min(previous * 2, MAX_DELAY)


def _unix(rfc3339: str) -> float | None:
    try:
        from datetime import datetime

        return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def decide(ctx: RuntimeContext, cid: str, host_config: dict[str, Any], st: ContainerState) -> float | None:
    """After an exit (``st`` already says exited): the delay before restarting, or None.

    On a restart, ``st`` becomes "restarting" and RestartCount grows (as moby's SetRestarting)."""
    name, max_retries = policy_of(host_config)
    if name == "no" or host_config.get("AutoRemove") or st.ManuallyStopped:
        return None
    if not should_restart(name, max_retries, st.ExitCode, st.ManuallyStopped, st.RestartCount):
        return None
    started, finished = _unix(st.StartedAt), _unix(st.FinishedAt)
    ran_for = finished - started if started is not None and finished is not None else 0.0
    delay = next_delay(float(load(ctx, cid).get("delay") or 0.0), ran_for)
    st.Status, st.Running, st.Restarting, st.RestartCount = "restarting", True, True, st.RestartCount + 1
    return delay


# -- the pending restart -------------------------------------------------------------
def _file(ctx: RuntimeContext, cid: str) -> Path:
    return ctx.paths.run_dir / "restart" / f"{cid}.json"


def load(ctx: RuntimeContext, cid: str) -> dict[str, Any]:
    try:
        data = json.loads(_file(ctx, cid).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def schedule(ctx: RuntimeContext, cid: str, delay: float, restart_count: int) -> None:
    """Spawn the detached restarter (call under the container's op lock) and remember it."""
    from berth.fsutil import atomic_write_json

    sleep = which("sleep", path=os.environ.get("PATH") or "/usr/bin:/bin") or "/bin/sleep"
    argv = ["/bin/sh", "-c", '"$1" "$2"; shift 2; exec "$@"', "sh", sleep, f"{delay:.3f}",
            sys.executable, "-m", "berth.runtime.restarter", str(ctx.paths.root), cid, str(restart_count)]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True)
    path = _file(ctx, cid)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, {"delay": delay, "pid": proc.pid, "started": start_time(proc.pid),
                             "count": restart_count})
    proc.returncode = 0  # never waited for: it outlives this process (reparented, reaped by init)


def restarter_alive(ctx: RuntimeContext, cid: str) -> bool:
    data = load(ctx, cid)
    return is_alive(int(data.get("pid") or 0), int(data.get("started") or 0))


def kill_restarter(ctx: RuntimeContext, cid: str) -> None:
    """End a pending restarter (its ``sh`` and ``sleep``: it leads its own process group)."""
    data = load(ctx, cid)
    pid, started = int(data.get("pid") or 0), int(data.get("started") or 0)
    if is_alive(pid, started) and send_signal(pid, started, signal.SIGKILL):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)


def forget(ctx: RuntimeContext, cid: str) -> None:
    """Manual start, removal: no pending restart, back-off from the start (moby ResetRestartManager)."""
    kill_restarter(ctx, cid)
    _file(ctx, cid).unlink(missing_ok=True)


# -- `restart` of an --rm container ------------------------------------------------------------
def _manual_file(ctx: RuntimeContext, cid: str) -> Path:
    return ctx.paths.run_dir / "restart" / f"{cid}.manual"


@contextlib.contextmanager
def manual_restart(ctx: RuntimeContext, cid: str):
    """Around the stop + start of ``berth restart``: the exit in between must not remove an ``--rm``
    container (moby's HasBeenManuallyRestarted). The marker names this process, so one left by a
    killed ``restart`` means nothing once it is gone."""
    import os

    from berth.fsutil import atomic_write_json

    path = _manual_file(ctx, cid)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, {"pid": os.getpid(), "started": start_time(os.getpid())})
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def manually_restarting(ctx: RuntimeContext, cid: str) -> bool:
    try:
        data = json.loads(_manual_file(ctx, cid).read_text())
    except (OSError, ValueError):
        return False
    return is_alive(int(data.get("pid") or 0), int(data.get("started") or 0))
