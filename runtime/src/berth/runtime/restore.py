"""``berth system restore``: what dockerd does for its containers when it starts (moby ``daemon.restore``).

Run at boot by the engine role's unit. For every container:

- still running (its process is alive), or waiting for a pending restart: left alone, so running
  restore again, or on a host that did not reboot, starts nothing twice;
- recorded running/restarting but its process gone (a reboot cleared the run dir and killed the
  monitors): recorded exited with code 255 when no exit code survived (moby: "unknown" exit status
  -> 255), leftovers unmounted (``lifecycle.finalize``);
- then, for every container that is not running, moby's fresh restart decision
  (``Container.ShouldRestart`` with a new restart manager, only for containers started before:
  ``HasBeenStartedBefore``): ``always`` starts even after a manual stop, ``unless-stopped`` only if
  not manually stopped, ``on-failure[:N]`` if the last exit code is non-zero (so 255 after a crash)
  and RestartCount < N; ``no`` never. These starts reset RestartCount, as moby's
  ``containerStart(..., resetRestartManager=true)`` does;
- otherwise a dead ``--rm`` container is removed (moby's ``removeContainers``).

Like a dockerd restart, running restore again on a live host starts ``always`` containers that
were stopped by hand since: restore is the daemon start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from berth.errors import BerthError
from berth.runtime.errors import ContainerNotFound
from berth.runtime.lifecycle import finalize, remove
from berth.runtime.liveness import is_alive
from berth.runtime.restart import policy_of, restarter_alive, should_restart
from berth.state.records import ZERO_TIME
from berth.structs import dataclass

if TYPE_CHECKING:
    from collections.abc import Callable

    from berth.runtime.context import RuntimeContext


@dataclass(frozen=True)
class RestoreAction:
    id: str
    name: str
    action: str  # "exited" (found dead, recorded), "started", "removed", "failed"
    detail: str = ""


def restore(ctx: RuntimeContext, start: Callable[[str], object]) -> list[RestoreAction]:
    """Apply boot-time policies; ``start`` is the engine's start (mounts, network, then runtime)."""
    actions: list[RestoreAction] = []
    for cid in ctx.containers.ids():
        try:
            actions += _restore_one(ctx, cid, start)
        except ContainerNotFound:  # removed meanwhile
            continue
    return actions


def _restore_one(ctx: RuntimeContext, cid: str, start: Callable[[str], object]) -> list[RestoreAction]:
    st = ctx.containers.state(cid)
    if is_alive(st.Pid, st.PidStartTime):
        return []
    if st.Status == "restarting" and restarter_alive(ctx, cid):
        return []
    record = ctx.containers.config(cid)
    name = str(record.get("Name", cid)).lstrip("/")
    out: list[RestoreAction] = []
    found_dead = finalize(ctx, cid)
    st = ctx.containers.state(cid)
    if is_alive(st.Pid, st.PidStartTime) or (st.Status == "restarting" and restarter_alive(ctx, cid)):
        return []  # its exit hook, or someone's start, got there first
    if found_dead:
        out.append(RestoreAction(cid, name, "exited", f"was running; exit code {st.ExitCode}"))
    host_config = record.get("HostConfig") or {}
    policy, max_retries = policy_of(host_config)
    if st.StartedAt != ZERO_TIME and should_restart(policy, max_retries, st.ExitCode, st.ManuallyStopped,
                                                    st.RestartCount):
        try:
            start(cid)
        except BerthError as exc:
            return [*out, RestoreAction(cid, name, "failed", str(exc))]
        return [*out, RestoreAction(cid, name, "started", f"restart policy {policy}")]
    if out and host_config.get("AutoRemove"):
        remove(ctx, cid, force=False)
        out.append(RestoreAction(cid, name, "removed", "--rm"))
    return out


def restore_engine(engine: object) -> list[RestoreAction]:
    """``restore`` for an ``Engine`` (its runtime context, and its ``start``, which wires mounts and
    network as any start does)."""
    from berth.engine import container_ops

    return restore(container_ops.runtime_context(engine), engine.start)  # type: ignore[arg-type, attr-defined]
