"""Container operations the ``Engine`` delegates to: ``create``, ``start``, ``stop``... each
takes the engine first. The records live in ``berth.state``; the process side in
``berth.runtime``. Binds, volumes and tmpfs mounts of the spec, the image's
VOLUMEs and ``--volumes-from`` are resolved at create (``berth.runtime.volumes_mounts``
with ``engine.volumes``); the netns arrives from the networking code.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from berth.containers.spec import Mount
from berth.errors import ImageNotFound, InvalidArgument
from berth.runtime import volumes_mounts as vm
from berth.runtime.context import RuntimeContext
from berth.runtime.errors import ContainerNotFound
from berth.runtime.oci_defaults import OCIMount

if TYPE_CHECKING:
    from berth.containers.spec import ContainerSpec
    from berth.engine import Engine
    from berth.runtime.logs import LogLine


def runtime_context(engine: Engine) -> RuntimeContext:
    """One RuntimeContext per engine (cached on it: it memoises the runtime detection)."""
    return engine._runtime_ctx  # pylint: disable=protected-access


def _image_config(engine: Engine, image_id) -> dict[str, Any]:
    raw = json.loads(engine.store.blobs.read(image_id))
    return raw.get("config") or {}


# -- create ------------------------------------------------------------------------
def create(engine: Engine, spec: ContainerSpec, *, mounts: Sequence[OCIMount] | None = None,
           detach: bool = False) -> str:
    """Validate, then publish the record (atomically: nothing is left behind on error). Returns the id.

    ``detach``: ``run -d`` (no stream attached in the record's Config); the default records the
    attached streams of ``docker create`` / a foreground ``docker run``.

    Volumes (named, anonymous, the image's VOLUMEs, ``--volumes-from``) are ensured and the
    record written while their locks are held, so no prune or ``volume rm`` can slip between;
    an empty volume gets the image's content at its target (copy-up, as Docker at create).
    Volumes this call created are removed again if it fails. ``mounts``: already resolved OCI
    mounts, used as they are (no volume handling)."""
    from berth.containers.merge import effective_config
    from berth.containers.record import SPEC_KEY, spec_to_json
    from berth.containers.values import RESTART_NAMES, parse_signal_number
    from berth.runtime.caps import validate_caps
    from berth.runtime.etcfiles import write_etc_files
    from berth.runtime.hostconfig import host_config
    from berth.state.records import now_rfc3339

    try:
        image_id = engine.store.images.resolve(spec.image)
    except ImageNotFound:
        raise ImageNotFound(f"No such image: {spec.image}", image=spec.image) from None
    image_cfg = _image_config(engine, image_id)
    image_rec = engine.store.images.get(image_id)
    diff_ids = list(image_rec.diff_ids()) if image_rec else []
    validate_caps(spec.cap_add, spec.cap_drop)  # unknown capability: fail now
    if spec.ports:
        from berth.network.ports import wanted

        wanted(host_config(spec))  # a bad -p (IPv6 host address, bad range): fail now, not at start
    if spec.restart.name not in RESTART_NAMES:
        raise InvalidArgument(f"invalid restart policy: {spec.restart.name}", value=spec.restart.name)
    if spec.stop_signal:
        parse_signal_number(spec.stop_signal, "--stop-signal")
    if spec.init:
        from berth.runtime.oci import find_init_binary

        if find_init_binary() is None:  # what start would refuse: refused before anything exists
            raise InvalidArgument("--init needs tini on the host (apt-get install tini)", flag="--init")
    # nothing to run (--entrypoint "" without a command...): fail now, before the name is claimed
    effective_config(image_cfg, spec, "0" * 64, detach=detach)
    ctx = runtime_context(engine)
    if mounts is not None:
        planned: list[vm.Planned] = []
        tmpfs: tuple[OCIMount, ...] = ()
    else:
        planned, tmpfs_specs = vm.plan(spec, image_cfg, _inherited_mounts(ctx, spec.volumes_from))
        tmpfs = tuple(_tmpfs_mount(m) for m in tmpfs_specs)
    # filled in below, once the volumes exist
    resolved: tuple[OCIMount, ...] = tuple(mounts or ())
    views: list[dict[str, Any]] | None = None

    reserved: list[str] = []  # the id whose addresses were leased, to give back if create fails

    def build(cid: str, name: str) -> dict[str, Any]:
        config = effective_config(image_cfg, spec, cid, detach=detach)
        reserved.append(cid)
        network_settings = ctx.network.reserve(cid, spec.network, ip=spec.ip, aliases=spec.network_aliases)
        command = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
        record = {
            "Id": cid, "Name": f"/{name}", "Image": str(image_id), "ImageRef": spec.image,
            "Created": now_rfc3339(), "Path": command[0], "Args": command[1:],
            "Config": config, "HostConfig": host_config(spec),
            "MountPoints": [m.to_oci() for m in resolved],
            # the image's layers, bottom first: the rootfs must still mount after ``rmi --force``
            "Layers": [str(d) for d in diff_ids],
            "NetworkSettings": network_settings,
            # what was asked for, before the image merge: what the container module compares
            SPEC_KEY: spec_to_json(spec),
        }
        if views is not None:
            record["Mounts"] = views  # inspect-shaped; what the volumes' usage hook reads
        return record

    def prepare(cid: str, directory: Path) -> None:
        cfg = json.loads((directory / "config.json").read_text())
        write_etc_files(directory, cfg["Config"]["Hostname"], **ctx.network.etc_files_inputs(cfg))

    def publish() -> str:
        try:
            return ctx.containers.create(spec.name, build, prepare)
        except BaseException:
            for cid in reserved:
                ctx.network.release(cid)
            raise

    if mounts is not None:
        return publish()

    made_dirs = _missing_bind_dirs(planned)
    vm.create_bind_sources(planned)
    try:
        names = sorted({p.mount.source for p in planned if p.is_volume})
        created: list[str] = []
        with contextlib.ExitStack() as held:
            for name in names:  # sorted: two creates sharing volumes cannot deadlock
                held.enter_context(engine.volumes.lock(name))
            try:
                for p in planned:
                    if not p.is_volume or p.mount.source in created:
                        continue
                    if p.origin == "volumes-from":
                        engine.volumes.inspect(p.mount.source)  # VolumeNotFound if it vanished
                        continue
                    _, was_created = engine.volumes.ensure(p.mount.source, anonymous=p.anonymous)
                    if was_created:
                        created.append(p.mount.source)
                # no volume, no volume store (nor its imports: a plain `run` does without)
                volumes = engine.volumes if names else None
                oci, views = vm.record_mounts(planned, volumes)
                resolved = (*oci, *tmpfs)
                if volumes is not None:
                    layer_dirs = [engine.store.layers.diff_dir(d) for d in reversed(diff_ids)]
                    vm.copy_up_volumes(volumes, engine.paths, layer_dirs, planned)
                return publish()
            except BaseException:
                for name in created:  # no partial state: volumes made for this container go with it
                    with contextlib.suppress(Exception):
                        engine.volumes.remove(name)
                raise
    except BaseException:
        for d in reversed(made_dirs):  # no partial state: host dirs `-v` made for this container go too
            with contextlib.suppress(OSError):
                d.rmdir()  # only while still empty
        raise


def _missing_bind_dirs(planned: Sequence[vm.Planned]) -> list[Path]:
    """The host directories ``-v HOST:CTR`` is about to create (missing ancestors too), parents first."""
    import os

    out: list[Path] = []
    for p in planned:
        if p.mount.type != "bind" or os.path.lexists(p.mount.source):
            continue
        chain: list[Path] = []
        path = Path(p.mount.source)
        while path != path.parent and not os.path.lexists(path):
            chain.append(path)
            path = path.parent
        out.extend(reversed(chain))
    return list(dict.fromkeys(out))


def _inherited_mounts(ctx: RuntimeContext, sources: Sequence[str]) -> list[Mount]:
    """``--volumes-from c[:ro|:rw]``: the binds and volumes of each source container, in order."""
    if not sources:
        return []  # without importing the views and the volume store (~4 ms of a plain `run`)
    from berth.runtime.views import mounts_view
    from berth.volumes import volumes_from

    out: list[Mount] = []
    for text in sources:
        ref, _, mode = text.partition(":")
        try:
            cid = ctx.containers.lookup(ref)
        except ContainerNotFound as exc:
            raise ContainerNotFound(f"--volumes-from {text}: {exc.message}", container=ref) from None
        out.extend(volumes_from(mounts_view(ctx, ctx.containers.config(cid)), mode))
    return out


def _tmpfs_mount(m: Mount) -> OCIMount:
    opts = m.options or ("size=65536k",)
    return OCIMount(m.target, "tmpfs", "tmpfs", ("nosuid", "nodev", "noexec", *opts, *(("ro",) if m.read_only else ())))


def mounts_from_spec(spec: ContainerSpec) -> tuple[OCIMount, ...]:
    """Bind and tmpfs mounts of a spec as OCI mounts (a missing ``-v`` bind source dir is created).

    Volumes need ``berth.volumes`` (``create`` resolves them); here they are refused."""
    planned, tmpfs = vm.plan(spec, {})
    if any(p.is_volume for p in planned):
        target = next(p.mount.target for p in planned if p.is_volume)
        raise InvalidArgument(f"volume mount at {target} must be resolved by berth.volumes first", value=target)
    vm.create_bind_sources(planned)
    oci, _ = vm.record_mounts(planned, None)  # binds only: no store needed
    return (*oci, *(_tmpfs_mount(m) for m in tmpfs))


# -- lifecycle ---------------------------------------------------------------------
def _lookup(engine: Engine, ref: str) -> str:
    return runtime_context(engine).containers.lookup(ref)


def start(engine: Engine, ref: str, *, on_created: Callable[[str], None] | None = None) -> str:
    from berth.reference import Digest
    from berth.runtime.lifecycle import start as start_container

    ctx = runtime_context(engine)
    cid = ctx.containers.lookup(ref)
    diff_ids = [Digest.parse(d) for d in ctx.containers.config(cid).get("Layers") or []]
    missing = [d for d in diff_ids if not engine.store.layers.has(d)]
    if missing:
        raise ImageNotFound(f"layer {missing[0]} of container {cid[:12]} is missing from the store",
                            layer=str(missing[0]))
    layers = [engine.store.layers.diff_dir(d) for d in reversed(diff_ids)]  # overlay wants top first
    start_container(ctx, cid, layers, log_size_max=_log_size_max(engine),
                    on_created=on_created)
    return cid


def layers_in_use(engine: Engine) -> set:
    """Diff IDs every container's rootfs needs: register as a ``Store`` layer_users hook so GC keeps
    them even when the image was force-removed."""
    from berth.reference import Digest
    from berth.runtime.errors import ContainerNotFound

    ctx = runtime_context(engine)
    used: set[Digest] = set()
    for cid in ctx.containers.ids():
        try:
            used.update(Digest.parse(d) for d in ctx.containers.config(cid).get("Layers") or [])
        except (ContainerNotFound, ValueError):  # removed meanwhile, or a corrupt record
            continue
    return used


def _log_size_max(engine: Engine) -> int:
    text = str((engine.config.extra.get("log-opts") or {}).get("max-size", "") or "")
    m = re.fullmatch(r"(\d+)([kmg]?)b?", text.strip().lower())
    if not m:
        return -1
    return int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m.group(2)]


def stop(engine: Engine, ref: str, timeout: int | None = None) -> str:
    from berth.runtime.lifecycle import stop as stop_container

    cid = _lookup(engine, ref)
    stop_container(runtime_context(engine), cid, timeout)
    return cid


def restart(engine: Engine, ref: str, timeout: int | None = None) -> str:
    """``docker restart``: stop (stop signal, then SIGKILL after ``timeout``), then start; an ``--rm``
    container is kept across it, as in Docker."""
    from berth.runtime import restart as policy
    from berth.runtime.lifecycle import stop as stop_container

    ctx = runtime_context(engine)
    cid = ctx.containers.lookup(ref)
    with policy.manual_restart(ctx, cid):
        stop_container(ctx, cid, timeout)
        start(engine, cid)
    return cid


def kill(engine: Engine, ref: str, signal: str | int = "SIGKILL") -> str:
    from berth.runtime.lifecycle import kill as kill_container

    cid = _lookup(engine, ref)
    kill_container(runtime_context(engine), cid, signal)
    return cid


def rm(engine: Engine, ref: str, *, force: bool = False, volumes: bool = False) -> str:
    """Remove a container; ``volumes`` (``rm -v``) also removes its anonymous volumes that no other
    container uses. Named volumes are never removed here, as in Docker."""
    from berth.runtime.lifecycle import remove

    ctx = runtime_context(engine)
    cid = _lookup(engine, ref)
    record = ctx.containers.config(cid) if volumes else None
    remove(ctx, cid, force=force)
    if record is not None:
        vm.remove_anonymous_volumes(engine.volumes, cid, record)
    return cid


def waiter(engine: Engine, ref: str) -> contextlib.AbstractContextManager[Callable[[str], None]]:
    """``with waiter(engine, cid) as hold: start(engine, cid, on_created=hold); ...; wait(...)``:
    this process is the container's waiter from before it runs (``lifecycle.holding_waiter_lock``)."""
    from berth.runtime.lifecycle import holding_waiter_lock

    ctx = runtime_context(engine)
    return holding_waiter_lock(ctx, ctx.containers.lookup(ref))


def wait(engine: Engine, ref: str, condition: Literal["not-running", "removed"] = "not-running",
         timeout: float | None = None) -> int:
    from berth.runtime.lifecycle import wait as wait_container

    ctx = runtime_context(engine)
    try:
        cid = ctx.containers.lookup(ref)
    except ContainerNotFound:
        # An auto-removed (--rm) container is gone by name, but its exit code outlives it
        # under its full ID: that is how a foreground `run --rm` learns it.
        if len(ref) != 64 or ctx.exit_code(ref) is None:
            raise
        cid = ref
    return wait_container(ctx, cid, condition, timeout)


# -- views -------------------------------------------------------------------------
def ps(engine: Engine, *, all: bool = False) -> list[dict[str, Any]]:
    """Docker's container list, newest first; only running ones unless ``all``."""
    from berth.runtime.errors import ContainerNotFound
    from berth.runtime.views import ps_row

    ctx = runtime_context(engine)
    rows = []
    for cid in ctx.containers.ids():
        try:
            row = ps_row(ctx, cid)
        except ContainerNotFound:  # removed meanwhile
            continue
        if all or row["State"] == "running":
            rows.append(row)
    return sorted(rows, key=lambda r: r["Created"], reverse=True)


def inspect(engine: Engine, ref: str) -> dict[str, Any]:
    from berth.runtime.views import inspect_view

    ctx = runtime_context(engine)
    return inspect_view(ctx, ctx.containers.lookup(ref))


def logs(engine: Engine, ref: str, *, follow: bool = False, tail: int | None = None,
         since: str | float | None = None, until: str | float | None = None,
         timestamps: bool = False) -> Iterator[LogLine]:
    """(stream, line, time) tuples; ``timestamps`` prefixes each line with its time, as ``logs -t``."""
    from berth.runtime.errors import ContainerNotFound
    from berth.runtime.lifecycle import ACTIVE
    from berth.runtime.liveness import ExitWatch, is_alive, start_time
    from berth.runtime.logs import LogLine, read_log

    ctx = runtime_context(engine)
    cid = ctx.containers.lookup(ref)
    monitors: dict[int, int] = {}  # monitor pid -> its start time when first seen

    def running() -> bool:
        """Whether more may come: the process runs, or conmon has yet to pass on what the process
        left in its pipes (it writes the exit file after that). A follow that ended at the
        process's exit lost the last lines."""
        try:
            st = ctx.containers.state(cid)
        except ContainerNotFound:  # removed while following: stop
            return False
        if is_alive(st.Pid, st.PidStartTime):
            return True
        if st.Status not in ACTIVE or ctx.exit_file(cid).exists():
            return False
        pid = st.MonitorPid or 0
        return pid > 0 and is_alive(pid, monitors.setdefault(pid, start_time(pid)))

    def sleep(seconds: float) -> None:
        """Until the next read: ends at the process's exit; once it is gone, short (the exit file
        is written within a millisecond or so)."""
        try:
            st = ctx.containers.state(cid)
        except ContainerNotFound:
            return
        if not is_alive(st.Pid, st.PidStartTime):
            time.sleep(min(seconds, 0.002))
            return
        with ExitWatch(st.Pid, st.PidStartTime) as watch:
            watch.sleep(seconds)

    for rec in read_log(ctx.log_path(cid), follow=follow, tail=tail, since=parse_since(since),
                        until=parse_since(until), running=running, sleep=sleep):
        yield LogLine(rec.stream, f"{rec.time} {rec.line}", rec.time) if timestamps else rec


def parse_since(value: str | float | None, now: float | None = None) -> float | None:
    """Docker's --since/--until: unix seconds, RFC3339, or a duration ago ("10m", "1h30m")."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    if re.fullmatch(r"(\d+(\.\d+)?(ns|us|ms|s|m|h))+", text):
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
        secs = sum(float(n) * unit[u] for n, _, u in re.findall(r"(\d+(\.\d+)?)(ns|us|ms|s|m|h)", text))
        return (now if now is not None else time.time()) - secs
    from berth.runtime.logs import parse_time

    try:
        return parse_time(text)
    except ValueError:
        raise InvalidArgument(f"invalid time value {value!r}: want a unix time, RFC3339 or a duration",
                              value=value) from None


# -- exec / cp / commit ---------------------------------------------------------------
def exec_(engine: Engine, ref: str, cmd: Sequence[str], *, user: str | None = None, workdir: str | None = None,
          env: Sequence[str] = (), detach: bool = False, interactive: bool = False, tty: bool = False,
          privileged: bool = False, capture: bool = True, stdin: bytes | None = None,
          detach_keys: bytes | None = None) -> tuple[int, bytes, bytes]:
    """``docker exec``: (exit code, stdout, stderr). ``capture=False`` streams through the caller's stdio
    (the CLI; with ``tty``, ``detach_keys`` leave it running: then 0); ``detach`` returns (0, b"", b"")
    once the process runs (with ``tty`` too: it gets a terminal of its own)."""
    from berth.runtime.exec import ExecOptions, run_exec

    ctx = runtime_context(engine)
    cid = ctx.containers.lookup(ref)
    opts = ExecOptions(tuple(cmd), user=user, workdir=workdir, env=tuple(env), detach=detach,
                       interactive=interactive, tty=tty, privileged=privileged, detach_keys=detach_keys)
    res = run_exec(ctx, cid, opts, capture=capture, stdin=stdin)
    return res.exit_code, res.stdout, res.stderr


def commit(engine: Engine, ref: str, repo: str | None = None, changes: Sequence[str] = (), message: str = "",
           author: str = "") -> str:
    """``docker commit``: the container's writable layer as a new image (not paused); returns the image ID."""
    from berth.runtime.commit import commit_container

    ctx = runtime_context(engine)
    cid = ctx.containers.lookup(ref)
    return str(commit_container(ctx, engine.store, cid, repo=repo, changes=list(changes), message=message,
                                author=author))


@contextlib.contextmanager
def _container_root(engine: Engine, ref: str) -> Iterator[tuple[RuntimeContext, str, int]]:
    """(context, id, an fd on the container's root as it sees it), running or stopped (``runtime.cp``)."""
    from berth.reference import Digest
    from berth.runtime.cp import container_root

    ctx = runtime_context(engine)
    cid = ctx.containers.lookup(ref)
    diff_ids = [Digest.parse(x) for x in ctx.containers.config(cid).get("Layers") or []]
    layers = [engine.store.layers.diff_dir(x) for x in reversed(diff_ids)]
    with container_root(ctx, cid, layers) as root:
        yield ctx, cid, root


def _refuse_read_only(ctx: RuntimeContext, cid: str) -> None:
    from berth.runtime.cp import CopyError

    if ctx.containers.config(cid)["HostConfig"].get("ReadonlyRootfs"):
        raise CopyError("container rootfs is marked read-only", container=cid)


def cp(engine: Engine, src: str, dst: str) -> None:
    """``docker cp``: ``CONTAINER:PATH HOSTPATH`` or ``HOSTPATH CONTAINER:PATH`` (running or stopped)."""
    from berth.runtime.cp import CopyError, Owner, copy, split_container_arg

    s, d = split_container_arg(src), split_container_arg(dst)
    if s and d:
        raise InvalidArgument("copying between containers is not supported", src=src, dst=dst)
    if not s and not d:
        raise InvalidArgument("must specify at least one container source", src=src, dst=dst)
    ref, path = s or d  # type: ignore[misc]
    try:
        with _container_root(engine, ref) as (ctx, cid, root):
            if s:
                copy(root, path, None, dst, owner=None)
            else:
                _refuse_read_only(ctx, cid)
                copy(None, src, root, path, owner=Owner(0, 0))
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        raise CopyError(f"cp {src} {dst}:{where} {exc.strerror or exc}", errno=exc.errno) from None


def put_archive(engine: Engine, ref: str, path: str, stream: BinaryIO) -> int:
    """``docker cp - CONTAINER:DIR``: unpack the tar read from ``stream`` into the existing directory
    ``path`` (running or stopped container). The stream is spooled to a temp file and checked whole
    first: a hostile member (absolute name, ``..``, a link out) is refused before anything is written,
    and every path is resolved inside the container's root. Returns the number of members."""
    from berth.runtime import cp as files

    ctx = runtime_context(engine)
    cid = ctx.containers.lookup(ref)
    _refuse_read_only(ctx, cid)
    try:
        with files.spool(stream, engine.paths.tmp) as spooled, _container_root(engine, cid) as (ctx, cid, root):
            _refuse_read_only(ctx, cid)
            return files.extract_archive(root, path, spooled)
    except OSError as exc:
        raise files.CopyError(f"cp - {ref}:{path}: {exc.strerror or exc}", errno=exc.errno) from None


def get_archive(engine: Engine, ref: str, path: str, out: BinaryIO) -> None:
    """``docker cp CONTAINER:PATH -``: write a tar of ``path`` to ``out`` (running or stopped container)."""
    from berth.runtime import cp as files

    try:
        with _container_root(engine, ref) as (_ctx, _cid, root):
            files.write_archive(root, path, out)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise files.CopyError(f"cp {ref}:{path} -: {exc.strerror or exc}", errno=exc.errno) from None


def read_file(engine: Engine, ref: str, path: str, *, follow: bool = False, read_limit: int = 0):
    """The file at ``path`` in the container (``runtime.cp.FileState``, None if nothing is there)."""
    from berth.runtime import cp as files

    try:
        with _container_root(engine, ref) as (_ctx, _cid, root):
            return files.read_file(root, path, follow=follow, read_limit=read_limit)
    except OSError as exc:
        raise files.CopyError(f"{path}: {exc.strerror or exc}", path=path, errno=exc.errno) from None


def write_file(engine: Engine, ref: str, path: str, *, data: bytes | None = None, source: str | None = None,
               mode: int = 0o644, uid: int = 0, gid: int = 0, follow: bool = False) -> None:
    """Replace the file at ``path`` in the container, atomically (``runtime.cp.write_file``)."""
    from berth.runtime import cp as files

    try:
        with _container_root(engine, ref) as (ctx, cid, root):
            _refuse_read_only(ctx, cid)
            files.write_file(root, path, data=data, source=source, mode=mode, uid=uid, gid=gid, follow=follow)
    except OSError as exc:
        raise files.CopyError(f"{path}: {exc.strerror or exc}", path=path, errno=exc.errno) from None


# -- update ---------------------------------------------------------------------------
def update(engine: Engine, ref: str, changes: Any = None, **kw: Any) -> str:
    """``docker update``: new limits / restart policy, live if it runs, recorded either way.

    ``changes``: a ``berth.runtime.update.ContainerUpdate``, or its fields as keywords (``memory``,
    ``memory_swap``, ``nano_cpus``, ``cpu_shares``, ``pids_limit``, ``restart``: a ``RestartPolicy``
    or Docker's text). Returns the id."""
    from berth.runtime.update import ContainerUpdate, update_container

    if changes is None:
        if isinstance(kw.get("restart"), str):
            from berth.containers.values import parse_restart

            kw["restart"] = parse_restart(kw["restart"], "--restart")
        try:
            changes = ContainerUpdate(**kw)
        except TypeError as exc:
            raise InvalidArgument(f"update: {exc}", value=sorted(kw)) from None
    ctx = runtime_context(engine)
    cid = ctx.containers.lookup(ref)
    update_container(ctx, cid, changes)
    return cid


# -- rename / top ---------------------------------------------------------------------
def rename(engine: Engine, ref: str, new_name: str) -> str:
    """``docker rename OLD NEW``: NEW taken -> NameInUse (a Conflict); running or not. Returns the id."""
    ctx = runtime_context(engine)
    cid = ctx.containers.lookup(ref)
    ctx.containers.rename(cid, new_name)
    if ctx.network.endpoints.read(cid) is not None:
        ctx.network.refresh()  # its name on user networks changes
    return cid


def connect(engine: Engine, ref: str, network: str, *, ip: str | None = None, aliases: tuple[str, ...] = ()) -> str:
    """``network connect NET CTR``: recorded; wired at once if the container runs."""
    from berth.locks import file_lock
    from berth.runtime.liveness import is_alive

    ctx = runtime_context(engine)
    cid = ctx.containers.lookup(ref)
    with file_lock(ctx.op_lock(cid)):  # no start or exit in between: running stays running
        st = ctx.containers.state(cid)
        ctx.network.connect(cid, network, ip=ip, aliases=aliases, live=is_alive(st.Pid, st.PidStartTime))
    return cid


def disconnect(engine: Engine, ref: str, network: str, *, force: bool = False) -> str:
    from berth.locks import file_lock

    ctx = runtime_context(engine)
    cid = ctx.containers.lookup(ref)
    with file_lock(ctx.op_lock(cid)):
        ctx.network.disconnect(cid, network, force=force)
    return cid


def port(engine: Engine, ref: str) -> list:
    """``docker port``: the running container's published ports (``PortRule``s)."""
    ctx = runtime_context(engine)
    return ctx.network.port_rules(ctx.containers.lookup(ref))


def top(engine: Engine, ref: str) -> dict[str, Any]:
    """``docker top``: ``{"Titles": ["PID", "USER", "TIME", "CMD"], "Processes": [...]}``."""
    from berth.runtime.top import top as top_container

    ctx = runtime_context(engine)
    return top_container(ctx, ctx.containers.lookup(ref))
