"""``update``: change a container's resource limits and restart policy (Docker's ``docker update``).

What can change: ``--memory``, ``--memory-swap``, ``--cpus``, ``--cpu-shares``, ``--pids-limit``
and ``--restart``, on a running or a stopped container. The record's ``HostConfig`` (and its
creation ``Spec``, which the container module compares with a task) is rewritten, so ``inspect``,
the next start, a restart by the policy and ``system restore`` all use the new values; a running
container gets them at once through ``<runtime> update --resources`` (cgroup v1 and v2 alike:
runc/crun convert shares to weight and memory+swap to ``memory.swap.max`` on v2).

Order: every value is validated first (flag and value named in the error), then, under the
container's op lock (so no start or exit interleaves), the live cgroup is changed and only then
the record. A runtime that refuses (a memory limit below what the container uses now, say)
leaves both as they were: runc restores the previous limits itself when a write fails, and
nothing is recorded. If the record cannot be written after a live change, the old limits are
put back.

Docker's semantics kept: a value not given is left alone; ``--memory`` above an existing
``--memory-swap`` limit needs a new ``--memory-swap`` too; ``--memory-swap`` (memory plus
swap, ``-1`` for unlimited swap) is at least ``--memory`` and needs a memory limit; ``--cpus``
is from 0.01 to the number of CPUs; ``--pids-limit 0`` or ``-1`` lifts the limit; ``--restart``
is refused on an ``--rm`` container. Beyond Docker (which ignores them): ``--memory 0`` and
``--cpus 0`` lift those limits (as ``run -m 0`` means no limit), ``--cpu-shares 0`` goes back to
the default weight (1024).

At start, ``apply_to_spec`` adds what the OCI spec builder does not carry yet (the swap limit
and the CPU shares) to the runtime spec, so an updated stopped container starts with them.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from berth.containers.spec import RestartPolicy
from berth.errors import InvalidArgument
from berth.structs import dataclass, fields

if TYPE_CHECKING:
    from berth.runtime.context import RuntimeContext

CPU_PERIOD = 100_000  # as berth.runtime.oci (and Docker) use for --cpus
DEFAULT_CPU_SHARES = 1024
MIN_CPU_SHARES, MAX_CPU_SHARES = 2, 262_144  # the kernel's range (moby linuxMinCPUShares/linuxMaxCPUShares)
MIN_NANO_CPUS = 10_000_000  # 0.01 CPU: a CFS quota of 1 ms per 100 ms period, the kernel's minimum


@dataclass(frozen=True)
class ContainerUpdate:
    """What ``update`` changes; None leaves a setting as it is."""

    memory: int | None = None  # bytes; 0 lifts the limit
    memory_swap: int | None = None  # memory + swap in bytes; -1 unlimited swap, 0 unset (unlimited)
    nano_cpus: int | None = None  # 1.5 CPUs = 1_500_000_000; 0 lifts the limit
    cpu_shares: int | None = None  # relative weight; 0 = the default (1024)
    pids_limit: int | None = None  # > 0; 0 or -1 lift the limit
    restart: RestartPolicy | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


# -- parsing (the CLI's strings) -------------------------------------------------------------
def parse_update(*, memory: str | None = None, memory_swap: str | None = None, cpus: str | None = None,
                 cpu_shares: str | None = None, pids_limit: str | None = None,
                 restart: str | None = None) -> ContainerUpdate:
    """The flags of ``berth update`` as a ``ContainerUpdate``; ``InvalidArgument`` names the flag and value."""
    from berth.containers import values as v

    upd = ContainerUpdate(
        memory=v.parse_memory(memory, "--memory") if memory is not None else None,
        memory_swap=_parse_swap(memory_swap) if memory_swap is not None else None,
        nano_cpus=_parse_cpus(cpus) if cpus is not None else None,
        cpu_shares=v.parse_int(cpu_shares, "--cpu-shares") if cpu_shares is not None else None,
        pids_limit=v.parse_int(pids_limit, "--pids-limit", minimum=-1) if pids_limit is not None else None,
        restart=v.parse_restart(restart, "--restart") if restart is not None else None,
    )
    validate(upd, memory=memory, memory_swap=memory_swap, cpus=cpus, cpu_shares=cpu_shares)
    return upd


def _parse_swap(value: str) -> int:
    from berth.containers.values import parse_bytes

    return -1 if value.strip() == "-1" else parse_bytes(value, "--memory-swap")


def _parse_cpus(value: str) -> int:
    from decimal import Decimal, InvalidOperation

    from berth.containers.values import parse_cpus

    try:
        if Decimal(value.strip()) == 0:
            return 0
    except InvalidOperation:
        pass
    return parse_cpus(value, "--cpus")


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except OSError:
        return os.cpu_count() or 1


def validate(upd: ContainerUpdate, **shown: str | None) -> None:
    """Ranges of each value alone (what needs the container's current values is in ``merge``).
    ``shown``: the values as the user typed them, for the messages."""
    from berth.containers.values import MIN_MEMORY, invalid

    def text(key: str, value: object) -> object:
        return shown.get(key) if shown.get(key) is not None else value

    if upd.memory is not None and (upd.memory < 0 or 0 < upd.memory < MIN_MEMORY):
        raise invalid("--memory", text("memory", upd.memory), "minimum memory limit allowed is 6MB")
    if upd.memory_swap is not None and upd.memory_swap < -1:
        raise invalid("--memory-swap", text("memory_swap", upd.memory_swap),
                      "expected a size, or -1 for unlimited swap")
    if upd.nano_cpus is not None and upd.nano_cpus != 0:
        n = _cpu_count()
        if not MIN_NANO_CPUS <= upd.nano_cpus <= n * 1_000_000_000:
            raise invalid("--cpus", text("cpus", upd.nano_cpus / 1e9),
                          f"range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available")
    if upd.cpu_shares is not None and upd.cpu_shares != 0 and not MIN_CPU_SHARES <= upd.cpu_shares <= MAX_CPU_SHARES:
        raise invalid("--cpu-shares", text("cpu_shares", upd.cpu_shares),
                      f"expected 0 (the default weight, {DEFAULT_CPU_SHARES}) or {MIN_CPU_SHARES} to {MAX_CPU_SHARES}")
    if upd.pids_limit is not None and upd.pids_limit < -1:
        raise invalid("--pids-limit", upd.pids_limit, "must be at least -1")
    if upd.restart is not None:
        from berth.containers.values import RESTART_NAMES

        if upd.restart.name not in RESTART_NAMES or upd.restart.max_retries < 0:
            raise invalid("--restart", upd.restart.name, "expected no, always, unless-stopped or on-failure[:N]")


def _size(n: int) -> str:
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return f"{n}B"


# -- the new HostConfig ------------------------------------------------------------------------
def merge(hc: dict[str, Any], upd: ContainerUpdate, *, swap_accounting: bool = True) -> dict[str, Any]:
    """The container's ``HostConfig`` with ``upd`` applied, after Docker's checks against what it has now."""
    from berth.containers.values import invalid

    new = dict(hc)
    memory = int(hc.get("Memory") or 0)
    swap = int(hc.get("MemorySwap") or 0)
    if upd.memory is not None:
        if upd.memory and swap > 0 and upd.memory > swap and upd.memory_swap is None:
            raise invalid("--memory", _size(upd.memory),
                          f"memory limit should be smaller than the already set memory+swap limit "
                          f"({_size(swap)}): update --memory-swap at the same time")
        memory = upd.memory
        if memory == 0 and upd.memory_swap is None:
            swap = 0  # no swap limit without a memory limit
    if upd.memory_swap is not None:
        if upd.memory_swap != 0 and not swap_accounting:
            raise invalid("--memory-swap", upd.memory_swap,
                          "this kernel does not account swap (cgroup memory.memsw/memory.swap files are missing)")
        if upd.memory_swap > 0 and memory == 0:
            raise invalid("--memory-swap", _size(upd.memory_swap),
                          "a swap limit needs a memory limit: set --memory too")
        if upd.memory_swap > 0 and upd.memory_swap < memory:
            raise invalid("--memory-swap", _size(upd.memory_swap),
                          f"minimum memory+swap limit should be larger than the memory limit ({_size(memory)})")
        swap = upd.memory_swap
    new["Memory"], new["MemorySwap"] = memory, swap
    if upd.nano_cpus is not None:
        new["NanoCpus"] = upd.nano_cpus
    if upd.cpu_shares is not None:
        new["CpuShares"] = upd.cpu_shares
    if upd.pids_limit is not None:
        new["PidsLimit"] = upd.pids_limit if upd.pids_limit > 0 else None
    if upd.restart is not None:
        if hc.get("AutoRemove") and upd.restart.name != "no":
            raise invalid("--restart", _policy_text(upd.restart),
                          "restart policy cannot be updated because AutoRemove (--rm) is enabled for the container")
        new["RestartPolicy"] = {"Name": upd.restart.name, "MaximumRetryCount": upd.restart.max_retries}
    return new


def _policy_text(p: RestartPolicy) -> str:
    return f"{p.name}:{p.max_retries}" if p.max_retries else p.name


def merge_spec(spec: dict[str, Any] | None, hc: dict[str, Any]) -> dict[str, Any] | None:
    """The record's creation ``Spec`` (``berth.containers.record``) with the updated values, so
    what the container module compares is what the container has."""
    if not isinstance(spec, dict):
        return spec
    rp = hc.get("RestartPolicy") or {}
    return {**spec, "memory": int(hc.get("Memory") or 0) or None, "nano_cpus": int(hc.get("NanoCpus") or 0) or None,
            "pids_limit": hc.get("PidsLimit"),
            "restart": {"name": rp.get("Name") or "no", "max_retries": int(rp.get("MaximumRetryCount") or 0)}}


# -- the live side ---------------------------------------------------------------------------
def swap_accounting() -> bool:
    """Whether the kernel limits swap per cgroup (v1: ``memory.memsw.*``; v2: ``memory.swap.max``)."""
    from berth.runtime.driver import cgroup_version

    if cgroup_version() == 1:
        return Path("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
    try:
        rel = next(line.split(":", 2)[2].strip() for line in Path("/proc/self/cgroup").read_text().splitlines()
                   if line.startswith("0::"))
    except (OSError, StopIteration):
        rel = "/"
    own = Path("/sys/fs/cgroup") / rel.lstrip("/")
    return (own / "memory.swap.max").exists() or any(Path("/sys/fs/cgroup").glob("*/memory.swap.max"))


def resources(hc: dict[str, Any], *, swap_accounting: bool = True) -> dict[str, Any]:
    """The whole set of updatable limits as OCI ``LinuxResources`` for ``<runtime> update -r``: every
    value is given (unlimited as -1), so the live cgroup ends up exactly as the record says."""
    memory = int(hc.get("Memory") or 0)
    swap = int(hc.get("MemorySwap") or 0)
    mem: dict[str, int] = {"limit": memory or -1}
    if swap_accounting:
        mem["swap"] = swap if swap > 0 and memory else -1
    nano = int(hc.get("NanoCpus") or 0)
    pids = hc.get("PidsLimit")
    return {
        "memory": mem,
        "cpu": {"shares": int(hc.get("CpuShares") or 0) or DEFAULT_CPU_SHARES,
                "quota": nano * CPU_PERIOD // 1_000_000_000 if nano else -1, "period": CPU_PERIOD},
        "pids": {"limit": int(pids) if pids and int(pids) > 0 else -1},
    }


def apply_to_spec(spec: dict[str, Any], hc: dict[str, Any]) -> None:
    """Add the swap limit and CPU shares of ``hc`` to an OCI runtime spec (at start); the rest of
    the limits are the spec builder's (``berth.runtime.oci``)."""
    res = spec.setdefault("linux", {}).setdefault("resources", {})
    swap, memory = int(hc.get("MemorySwap") or 0), int(hc.get("Memory") or 0)
    if memory and swap:
        res.setdefault("memory", {"limit": memory})["swap"] = swap
    if hc.get("CpuShares"):
        res.setdefault("cpu", {})["shares"] = int(hc["CpuShares"])


def runtime_update(ctx: RuntimeContext, cid: str, res: dict[str, Any]) -> None:
    """``<runtime> update --resources FILE CID``; ``OCIRuntimeFailure`` with the runtime's own words."""
    import tempfile

    from berth.runtime.driver import last_error
    from berth.runtime.errors import OCIRuntimeFailure

    bundle = ctx.bundle(cid)
    fd, path = tempfile.mkstemp(prefix=f"update-{os.getpid()}-", suffix=".json", dir=bundle)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(res, f)
        proc = subprocess.run([ctx.driver.path, *ctx.driver.global_args(), "update", "--resources", path, cid],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
    finally:
        Path(path).unlink(missing_ok=True)
    if proc.returncode != 0:
        msg = last_error(proc.stderr) or f"exit status {proc.returncode}"
        raise OCIRuntimeFailure(f"{ctx.driver.name} update failed: {msg}", runtime=ctx.driver.name, container=cid)


def update_container(ctx: RuntimeContext, cid: str, upd: ContainerUpdate) -> dict[str, Any]:
    """Apply ``upd`` to the container (live if it runs) and record it; returns the new HostConfig."""
    from berth.containers.record import SPEC_KEY
    from berth.locks import file_lock
    from berth.runtime.liveness import is_alive

    if upd.is_empty():
        raise InvalidArgument("update: you must provide one or more flags (--memory, --memory-swap, --cpus, "
                              "--cpu-shares, --pids-limit, --restart)", container=cid)
    validate(upd)
    accounting = swap_accounting()
    with file_lock(ctx.op_lock(cid)):  # no start, exit or removal in between
        record = ctx.containers.config(cid)
        old = dict(record.get("HostConfig") or {})
        new = merge(old, upd, swap_accounting=accounting)
        st = ctx.containers.state(cid)
        live = is_alive(st.Pid, st.PidStartTime) and ctx.driver.has_state(cid)
        limits_changed = resources(old, swap_accounting=accounting) != resources(new, swap_accounting=accounting)
        if live and limits_changed:
            runtime_update(ctx, cid, resources(new, swap_accounting=accounting))
        try:
            with ctx.containers.editing_config(cid) as config:
                config["HostConfig"] = new
                if SPEC_KEY in config:
                    config[SPEC_KEY] = merge_spec(config[SPEC_KEY], new)
        except BaseException:
            if live and limits_changed:  # the record still says the old limits: so must the cgroup
                with contextlib.suppress(Exception):  # the first error is the one to report
                    runtime_update(ctx, cid, resources(old, swap_accounting=accounting))
            raise
        return new
