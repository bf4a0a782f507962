"""The containers half of ``berth system check [--repair]``: what a kill -9 or a crash leaves behind.

A ``berth run``/``create``/``start``/``rm`` killed at any point, or a crash of the host's
processes, can leave:

* ``stale-name``: a name claim (``container-names/<name>``) whose record does not exist, or whose
  record now carries another name (a rename cut short) -> dropped;
* ``unclaimed-name``: a record whose name has no claim -> claimed again (if still free);
* ``incomplete-record``: ``containers/<id>/`` without ``config.json`` -> removed;
* ``orphan-monitor``: a conmon of a container that is not running (a start cut short) -> killed
  first, so that its exit command does not race the repair;
* ``stale-runtime-state``: ``<run_dir>/<runtime>/<id>`` of a container that is not running ->
  ``runc delete --force`` (which also kills a created-but-not-started init);
* ``orphan-mount``: a mount under ``<run_dir>/containers/<id>/`` or ``<root>/containers/<id>/``
  of a container that is not running -> unmounted;
* ``orphan-cgroup``: ``<hierarchy>/berth/<id>`` (``cgroupsPath`` in ``berth.runtime.oci``) on any
  v1 hierarchy or v2 of a container that is not running -> rmdir'ed;
* ``stale-bundle``: ``<run_dir>/containers/<id>/`` of a container that has no record -> removed;
* ``dead-container``: a record saying running/paused/restarting whose process, monitor, exit hook
  and restarter are all gone -> recorded exited (the exit file's code, else 255, as restore does),
  WITHOUT applying the restart policy (that is ``system restore``'s job);
* ``interrupted-start``: a record still "created" whose container process had been created (a
  start cut short after conmon ran) -> recorded exited (255) once the runtime state is released;
* ``interrupted-removal``: a record marked "removing" (``ContainerStore.remove``) -> the removal is
  finished, as dockerd does for a container whose removal was in progress at its restart.

Temp dirs of dead writers (``tmp/container-<pid>-*`` of a create, ``tmp/deleted-container-<pid>-*``
of a removal) are found by ``berth.store.check`` (it sweeps the whole ``tmp/`` by pid), so they are
not reported twice here.

A container whose op lock (``RuntimeContext.op_lock``) is held is being started, finalized or
removed right now: it is skipped (the lock is only tried, never waited for). A container whose
monitor or exit hook still runs is finishing normally and is left to them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from pathlib import Path
from typing import Any

from berth.fsutil import atomic_write, rmtree
from berth.locks import try_lock
from berth.runtime.context import RuntimeContext
from berth.runtime.errors import ContainerNotFound
from berth.runtime.liveness import is_alive, start_time
from berth.runtime.monitor import monitored_by
from berth.state.records import now_rfc3339
from berth.structs import dataclass, field

#: the parent of every container's cgroup: ``cgroupsPath`` is ``/berth/<id>`` (berth.runtime.oci)
CGROUP_PARENT = "berth"
ACTIVE = ("running", "paused", "restarting")
_HEX = frozenset("0123456789abcdef")


def _is_id(name: str) -> bool:
    return len(name) == 64 and set(name) <= _HEX


@dataclass
class _Procs:
    """Processes of this engine root, by container id (one /proc scan per check)."""

    monitors: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # cid -> [(pid, start time)]
    creates: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # ``<runtime> create`` in flight
    hooks: set[str] = field(default_factory=set)


def _scan_procs(ctx: RuntimeContext) -> _Procs:
    out = _Procs()
    bundles = str(ctx.paths.run_dir / "containers") + "/"
    root = str(ctx.paths.root)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                args = [a.decode(errors="replace") for a in f.read().split(b"\0")]
        except OSError:
            continue
        if not args or not args[0]:
            continue
        if os.path.basename(args[0]) == "conmon":
            cid, bundle = monitored_by(args), _arg(args, "-b")
            if cid and bundle and bundle.startswith(bundles):
                pid = int(entry.name)
                out.monitors.setdefault(cid, []).append((pid, start_time(pid)))
        elif os.path.basename(args[0]) in ("runc", "crun") and "create" in args:
            bundle = _arg(args, "--bundle")
            if bundle and bundle.startswith(bundles):
                pid = int(entry.name)
                cid = next((a for a in reversed(args) if a), "")  # the last argument (cmdline ends in NUL)
                out.creates.setdefault(cid, []).append((pid, start_time(pid)))
        elif "berth.runtime.exit_hook" in args:
            i = args.index("berth.runtime.exit_hook")
            if len(args) > i + 2 and args[i + 1] == root:
                out.hooks.add(args[i + 2])
    return out


def _arg(args: list[str], flag: str) -> str | None:
    try:
        return args[args.index(flag) + 1]
    except (ValueError, IndexError):
        return None


def _mountinfo() -> list[tuple[str, str, str]]:
    """(mount point, fstype, root in its fs) of every mount of this process's namespace."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            head, _, tail = line.partition(" - ")
            fields = head.split()
            if len(fields) < 5 or not tail:
                continue
            out.append((_unescape(fields[4]), tail.split()[0], _unescape(fields[3])))
    return out


def _unescape(text: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal."""
    if "\\" not in text:
        return text
    return text.encode().decode("unicode_escape").encode("latin-1").decode(errors="replace")


def _cgroup_dirs(mounts: list[tuple[str, str, str]], cid: str) -> list[Path]:
    """The container's cgroup dir on every hierarchy (v1 controllers, named ones, v2) that has it."""
    want = f"/{CGROUP_PARENT}/{cid}"
    out: list[Path] = []
    seen: set[str] = set()
    for mp, fstype, root in mounts:
        if fstype not in ("cgroup", "cgroup2"):
            continue
        if root == "/":
            rel = want
        elif want.startswith(root.rstrip("/") + "/"):
            rel = want[len(root.rstrip("/")):]
        else:
            continue
        path = mp.rstrip("/") + rel
        if path not in seen and os.path.isdir(path):
            seen.add(path)
            out.append(Path(path))
    return out


def _rmdir_cgroup(path: Path) -> bool:
    """rmdir a cgroup and its children (bottom-up), after killing what is left in them (a runtime
    init of a start cut short: the container is not running and its op lock is ours); False if one
    still holds processes."""
    for procs in path.rglob("cgroup.procs"):
        with contextlib.suppress(OSError, ValueError):
            for pid in procs.read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while any(_holds_processes(p) for p in path.rglob("cgroup.procs")) and time.monotonic() < deadline:
        time.sleep(0.01)
    ok = True
    for dirpath, _dirs, _files in sorted(os.walk(path), key=lambda t: -t[0].count("/")):
        try:
            os.rmdir(dirpath)
        except FileNotFoundError:
            continue
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                ok = False
    return ok and not path.exists()


def _holds_processes(procs: Path) -> bool:
    try:
        return bool(procs.read_text().strip())
    except OSError:
        return False


class _Checker:
    def __init__(self, ctx: RuntimeContext, repair: bool) -> None:
        self.ctx = ctx
        self.repair = repair
        self.problems: list[dict[str, Any]] = []

    def problem(self, kind: str, subject: str, detail: str, fix=None) -> None:
        repaired = False
        if self.repair and fix is not None:
            try:
                res = fix()
                repaired = res is not False
            except Exception as exc:  # a runtime failure must not stop the check: it is reported
                detail = f"{detail} (repair failed: {exc})"
        self.problems.append({"kind": kind, "subject": subject, "detail": detail, "repaired": repaired})

    # -- the whole check ---------------------------------------------------------
    def run(self) -> list[dict[str, Any]]:
        ctx = self.ctx
        store = ctx.containers
        procs = _scan_procs(ctx)
        mounts = _mountinfo()
        candidates: set[str] = set(store.ids())
        if store.base.is_dir():
            candidates |= {p.name for p in store.base.iterdir() if _is_id(p.name)}
        bundles = ctx.paths.run_dir / "containers"
        if bundles.is_dir():
            candidates |= {p.name for p in bundles.iterdir() if _is_id(p.name)}
        for state_root in self._runtime_roots():
            candidates |= {p.name for p in state_root.iterdir() if _is_id(p.name)}
        candidates |= {c for c in procs.monitors if _is_id(c)}
        for cid in sorted(candidates):
            self.check_one(cid, procs, mounts)
        self.check_names()
        return self.problems

    def _runtime_roots(self) -> list[Path]:
        roots = {self.ctx.paths.run_dir / name for name in ("runc", "crun")}
        return sorted(r for r in roots if r.is_dir())

    def _mounts_of(self, mounts: list[tuple[str, str, str]], cid: str) -> list[str]:
        prefixes = (f"{self.ctx.bundle(cid)}/", f"{self.ctx.containers.dir(cid)}/")
        found = [mp for mp, _, _ in mounts if (mp + "/").startswith(prefixes)]
        return sorted(found, key=lambda m: -m.count("/"))  # deepest first

    # -- one container -----------------------------------------------------------
    def check_one(self, cid: str, procs: _Procs, mounts: list[tuple[str, str, str]]) -> None:
        ctx = self.ctx
        store = ctx.containers
        if cid in procs.hooks:
            return  # its exit hook is finalizing it right now
        monitors = [(p, s) for p, s in procs.monitors.get(cid, []) if is_alive(p, s)]
        has_record = store.exists(cid)
        st = None
        if has_record:
            try:
                st = store.state(cid)
            except ContainerNotFound:
                st = None
        if st is not None and is_alive(st.Pid, st.PidStartTime) and st.Status in ACTIVE:
            return  # running: everything it holds is in use
        if st is not None and st.Status in ACTIVE and monitors:
            return  # exited a moment ago: its monitor runs the exit hook, which finalizes it
        if monitors and (st is None or st.MonitorPid):
            # The exit hook has recorded the exit (or ``rm -f`` removed the record), and the monitor of
            # that run is still on its way out (conmon finishes after its exit command ran): give it a
            # moment rather than calling it an orphan. A monitor of a start cut short is another pid:
            # the record never got it.
            monitors = [(p, s) for p, s in monitors
                        if (st is not None and p != st.MonitorPid) or not _wait_gone(p, s, 2.0)]
        if st is not None and st.Status == "restarting":
            from berth.runtime.restart import restarter_alive

            if restarter_alive(ctx, cid):
                return  # waiting out its back-off: a pending restart is not debris
        runtime_states = [r / cid for r in self._runtime_roots() if (r / cid).exists()]
        my_mounts = self._mounts_of(mounts, cid)
        cgroups = _cgroup_dirs(mounts, cid)
        bundle_stale = not has_record and ctx.bundle(cid).exists()
        incomplete = not has_record and store.dir(cid).is_dir()
        dead = st is not None and st.Status in ACTIVE
        interrupted_start = st is not None and st.Status == "created" and bool(monitors or runtime_states)
        removing = st is not None and st.Status == "removing"
        if not (monitors or runtime_states or my_mounts or cgroups or bundle_stale or incomplete or dead
                or interrupted_start or removing):
            return
        with try_lock(ctx.op_lock(cid)) as free:
            if not free:
                return  # a live start / finalize / remove owns it
            # Re-read under the lock: the operation that just released it may have changed things.
            if store.exists(cid):
                try:
                    st = store.state(cid)
                except ContainerNotFound:
                    st = None
                if st is not None and is_alive(st.Pid, st.PidStartTime) and st.Status in ACTIVE:
                    return
            self._fix_runtime(cid, monitors, runtime_states, my_mounts, cgroups, procs.creates.get(cid, []))
            if st is not None and store.exists(cid):
                self._fix_record(cid, st.Status, interrupted_start)
            if not store.exists(cid):
                if ctx.bundle(cid).exists():
                    self.problem("stale-bundle", cid, f"{ctx.bundle(cid)} of a container that has no record",
                                 lambda: rmtree(ctx.bundle(cid)))
                if store.dir(cid).is_dir():
                    self.problem("incomplete-record", cid, "record dir without config.json",
                                 lambda: rmtree(store.dir(cid)))
        if self.repair and not store.exists(cid):
            with contextlib.suppress(OSError):
                os.unlink(ctx.op_lock(cid))

    def _fix_runtime(self, cid: str, monitors: list[tuple[int, int]], runtime_states: list[Path],
                     my_mounts: list[str], cgroups: list[Path], creates: list[tuple[int, int]] = ()) -> None:
        from berth.runtime.liveness import send_signal
        from berth.runtime.mountutil import umount

        ctx = self.ctx
        for pid, started in monitors:  # first: a monitor left alive would run the exit hook mid-repair
            def kill_monitor(pid: int = pid, started: int = started) -> bool:
                send_signal(pid, started, signal.SIGKILL)
                return _wait_gone(pid, started, 5.0)

            self.problem("orphan-monitor", cid, f"conmon (pid {pid}) of a container that is not running",
                         kill_monitor)
        if self.repair and (monitors or creates):
            # A start cut short while the runtime created the container (berth wires the network
            # meanwhile): that create outlives its monitor and makes the state dir and cgroups after our
            # scan. Let it finish (tens of ms; stopped half-way it would leave a runtime init nobody
            # knows), then look again.
            for p, s in [*creates, *_scan_procs(ctx).creates.get(cid, [])]:  # again: one may have just begun
                _wait_gone(p, s, 10.0)
            runtime_states = [r / cid for r in self._runtime_roots() if (r / cid).exists()]
        for state_dir in runtime_states:
            runtime = state_dir.parent.name

            def delete(runtime: str = runtime) -> bool:
                driver = ctx.driver
                if driver.name != runtime:
                    from berth.runtime.driver import detect_runtime

                    driver = detect_runtime(ctx.paths.run_dir, runtime)
                driver.delete(cid, force=True)
                return not driver.has_state(cid)

            self.problem("stale-runtime-state", cid, f"{runtime} still knows a container that is not running",
                         delete)
        for mp in my_mounts:
            self.problem("orphan-mount", cid, f"{mp} is mounted but its container is not running",
                         lambda mp=mp: umount(Path(mp)) or True)
        if self.repair and (monitors or creates):
            cgroups = _cgroup_dirs(_mountinfo(), cid)  # as they are now, after the runtime's delete
        for cg in cgroups:
            self.problem("orphan-cgroup", cid, f"{cg} of a container that is not running",
                         lambda cg=cg: _rmdir_cgroup(cg))

    def _fix_record(self, cid: str, status: str, interrupted_start: bool) -> None:
        ctx = self.ctx
        store = ctx.containers
        if status == "removing":
            def finish_removal() -> None:
                from berth.runtime import restart

                restart.forget(ctx, cid)
                rmtree(ctx.bundle(cid))
                ctx.exit_file(cid).unlink(missing_ok=True)
                store.remove(cid)

            self.problem("interrupted-removal", cid, "the container was being removed", finish_removal)
        elif status in ACTIVE:
            def record_exit() -> None:
                code = ctx.exit_code(cid)
                with store.editing_state(cid) as st:
                    st.Status, st.Running, st.Paused, st.Restarting = "exited", False, False, False
                    st.Pid, st.PidStartTime, st.MonitorPid = 0, 0, 0
                    if status != "restarting":  # a pending restart's record already holds its exit
                        st.ExitCode = code if code is not None else (st.ExitCode or 255)
                        st.FinishedAt = now_rfc3339()

            self.problem("dead-container", cid, f"recorded {status} but its process is gone", record_exit)
        elif status == "created" and interrupted_start:
            def record_interrupted() -> None:
                code = ctx.exit_code(cid)
                with store.editing_state(cid) as st:
                    st.Status, st.Running, st.Pid, st.PidStartTime, st.MonitorPid = "exited", False, 0, 0, 0
                    st.ExitCode = code if code is not None else 255
                    st.FinishedAt = now_rfc3339()
                    st.Error = st.Error or "start was interrupted (the starting process died)"

            self.problem("interrupted-start", cid, "a start was cut short after its process was created",
                         record_interrupted)

    # -- names -------------------------------------------------------------------
    def check_names(self) -> None:
        store = self.ctx.containers
        if not store.names_dir.is_dir() and not store.ids():
            return
        with store._names_lock():  # creates hold it from claim to publish: a claim seen here is settled
            claims: dict[str, str] = {}
            if store.names_dir.is_dir():
                for p in store.names_dir.iterdir():
                    if p.name.startswith("."):
                        continue
                    with contextlib.suppress(OSError):
                        claims[p.name] = p.read_text().strip()
            for name, owner in sorted(claims.items()):
                if owner and store.exists(owner) and store.name_of(owner) == name:
                    continue
                why = "its container does not exist" if not (owner and store.exists(owner)) else \
                    f"its container {owner[:12]} is now named {store.name_of(owner)!r}"
                self.problem("stale-name", name, f"claims container {owner[:12] or '?'}: {why}",
                             lambda name=name: (store.names_dir / name).unlink(missing_ok=True))
            for cid in store.ids():
                name = store.name_of(cid)
                if not name or claims.get(name) == cid:
                    continue
                other = claims.get(name)
                if other and store.exists(other) and store.name_of(other) == name:
                    self.problem("name-conflict", cid, f"name {name!r} is also claimed by container {other[:12]}")
                    continue
                self.problem("unclaimed-name", cid, f"its name {name!r} is not in the names index",
                             lambda cid=cid, name=name: atomic_write(store.names_dir / name, cid.encode()))


def _wait_gone(pid: int, started: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_alive(pid, started):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def check_containers(ctx: RuntimeContext, repair: bool = False) -> list[dict[str, Any]]:
    """Problems (dicts with the keys of ``berth.store.check.Problem``) of the containers of one root;
    ``repair`` fixes each and marks it repaired."""
    return _Checker(ctx, repair).run()


def check_engine(engine: object, repair: bool = False) -> list[dict[str, Any]]:
    """``check_containers`` for an ``Engine`` (what ``Engine.system_check`` calls)."""
    from berth.engine.container_ops import runtime_context

    return check_containers(runtime_context(engine), repair)  # type: ignore[arg-type]
