"""Container commands: run create start stop restart kill rm ps logs wait (+ `container ...`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from berth.cli.output import each, human_age, ports_text, print_json, table
from berth.errors import BerthError


def register(sub: Any) -> None:
    from berth.cli.run_options import add_run_options

    for verb, func, help_ in (("run", cmd_run, "create and start a container"),
                              ("create", cmd_create, "create a container without starting it")):
        sp = sub.add_parser(verb, help=help_, add_help=False)
        add_run_options(sp)
        sp.set_defaults(func=func)

    def add(name: str, func: Any, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_)
        sp.set_defaults(func=func)
        return sp

    sp = sub.add_parser(
        "start", help="start stopped containers",
        description="Start one or more stopped containers. With -a (or -i) the container's output is "
                    "relayed until it exits, and berth exits with its exit code (one container only).")
    sp.set_defaults(func=cmd_start)
    sp.add_argument("-a", "--attach", action="store_true",
                    help="attach stdout/stderr and forward signals (without a terminal)")
    sp.add_argument("-i", "--interactive", action="store_true", help="attach stdin too (implies -a)")
    sp.add_argument("--detach-keys", metavar="KEYS",
                    help="key sequence that detaches and leaves the container running (default ctrl-p,ctrl-q)")
    sp.add_argument("containers", nargs="+")
    sp = sub.add_parser(
        "attach", help="attach to a running container's input and output",
        description="Attach the terminal's stdin, stdout and stderr to a running container (conmon's attach "
                    "socket; output from now on). With a terminal (-t container) ctrl-p ctrl-q (or "
                    "--detach-keys) detach and leave it running; without one, signals berth receives "
                    "(SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2) are forwarded to the container "
                    "unless --sig-proxy=false. Exits with the container's exit code when it stops.")
    sp.set_defaults(func=cmd_attach)
    sp.add_argument("--no-stdin", action="store_true", help="do not attach stdin")
    sp.add_argument("--sig-proxy", nargs="?", const="true", default="true", metavar="BOOL",
                    help="forward signals to the container, without a terminal (default true; --sig-proxy=false)")
    sp.add_argument("--detach-keys", metavar="KEYS",
                    help="key sequence that detaches (default ctrl-p,ctrl-q; e.g. ctrl-a,x)")
    sp.add_argument("container")
    for name, func, help_ in (("stop", cmd_stop, "stop running containers (stop signal, then SIGKILL)"),
                              ("restart", cmd_restart, "restart containers")):
        sp = add(name, func, help_)
        sp.add_argument("-t", "--time", "--timeout", dest="timeout", type=int, default=None,
                        help="seconds to wait before SIGKILL (default: the container's stop timeout, 10)")
        sp.add_argument("containers", nargs="+")
    sp = add("kill", cmd_kill, "send a signal to running containers")
    sp.add_argument("-s", "--signal", default="SIGKILL")
    sp.add_argument("containers", nargs="+")
    sp = add("rm", cmd_rm, "remove containers")
    sp.add_argument("-f", "--force", action="store_true", help="kill and remove a running container")
    sp.add_argument("-v", "--volumes", action="store_true", help="also remove its anonymous volumes")
    sp.add_argument("containers", nargs="+")
    sp = add("ps", cmd_ps, "list containers")
    sp.add_argument("-a", "--all", action="store_true")
    sp.add_argument("-q", "--quiet", action="store_true")
    sp.add_argument("--no-trunc", action="store_true")
    sp.add_argument("--format", choices=["table", "json"], default="table")
    sp = add("logs", cmd_logs, "show a container's output")
    sp.add_argument("-f", "--follow", action="store_true")
    sp.add_argument("-n", "--tail", default="all")
    sp.add_argument("--since")
    sp.add_argument("--until")
    sp.add_argument("-t", "--timestamps", action="store_true")
    sp.add_argument("container")
    sp = add("wait", cmd_wait, "block until containers stop, then print their exit codes")
    sp.add_argument("containers", nargs="+")
    sp = add("rename", cmd_rename, "rename a container")
    sp.add_argument("container")
    sp.add_argument("new_name")
    sp = sub.add_parser(
        "update", help="change the resource limits or restart policy of containers",
        description="Change the resource limits or the restart policy of one or more containers, running or "
                    "stopped (as `docker update`). A running container gets the new limits at once; the "
                    "record keeps them, so inspect, a restart and the next start use them. Values not given "
                    "are left as they are. On an error nothing is changed.",
        epilog="examples:\n  berth update --memory 512m --memory-swap 1g web\n"
               "  berth update --cpus 1.5 --cpu-shares 512 web worker\n"
               "  berth update --restart unless-stopped web",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sp.set_defaults(func=cmd_update)
    sp.add_argument("-m", "--memory", metavar="BYTES",
                    help="memory limit (e.g. 512m, 1g; at least 6m; 0 lifts the limit)")
    sp.add_argument("--memory-swap", metavar="BYTES",
                    help="memory plus swap limit (at least --memory; -1: unlimited swap)")
    sp.add_argument("--cpus", metavar="N", help="number of CPUs (e.g. 1.5; 0 lifts the limit)")
    sp.add_argument("-c", "--cpu-shares", metavar="N",
                    help="CPU shares, a relative weight (2 to 262144; 0: the default, 1024)")
    sp.add_argument("--pids-limit", metavar="N", help="process limit (0 or -1: unlimited)")
    sp.add_argument("--restart", metavar="POLICY",
                    help="restart policy: no | on-failure[:max-retries] | always | unless-stopped")
    sp.add_argument("containers", nargs="+", metavar="CONTAINER")
    sp = add("top", cmd_top, "show the processes of a running container")
    sp.add_argument("--format", choices=["table", "json"], default="table")
    sp.add_argument("container")


def _create(engine: Any, args: argparse.Namespace) -> str:
    """The container of ``create`` / ``run``; any error before it exists exits 125, as ``docker run``
    does for what goes wrong before its command runs (no such network, name in use, pull failed)."""
    from berth.errors import BerthError

    try:
        return _create_container(engine, args)
    except BerthError as exc:
        exc.exit_code = 125
        raise


def _create_container(engine: Any, args: argparse.Namespace) -> str:
    from berth.cli.run_options import spec_from_args
    from berth.errors import ImageNotFound

    spec = spec_from_args(args)
    try:
        engine.image_id(spec.image)
    except ImageNotFound:  # as `docker run` does: pull what is missing
        from berth.cli.output import ProgressRenderer

        print(f"Unable to find image '{spec.image}' locally", file=sys.stderr)
        engine.pull(spec.image, progress=ProgressRenderer())
    return engine.create_container(spec, detach=args.detach)


def cmd_create(engine: Any, args: argparse.Namespace) -> int:
    print(_create(engine, args))
    return 0


def cmd_run(engine: Any, args: argparse.Namespace) -> int:
    from berth.cli.run_options import attach_options

    keys, sig_proxy = attach_options(args)  # bad values: an error before anything is created
    if args.tty and args.interactive and not args.detach and not sys.stdin.isatty():
        # Docker's check, before anything is created: a raw terminal needs a terminal to read from
        raise BerthError("the input device is not a TTY", flag="-t")
    cid = _create(engine, args)
    if not args.detach and (args.interactive or args.tty):
        return _start_attached(engine, cid, stdin=args.interactive, tty=args.tty, detach_keys=keys,
                               sig_proxy=sig_proxy, removed=args.auto_remove)
    if args.detach:
        engine.start(cid)
        print(cid)
        return 0
    from berth.runtime.foreground import proxy_signals

    # Foreground: stream the output until the container exits, then exit with its code; signals
    # berth gets go to the container meanwhile (--sig-proxy).
    with proxy_signals(lambda sig: engine.kill(cid, sig), sig_proxy), engine.waiter(cid) as hold:
        engine.start(cid, on_created=hold)  # its waiter from before it runs: no exit hook needed
        for line in engine.logs(cid, follow=True):
            stream = sys.stdout if line.stream == "stdout" else sys.stderr
            stream.write(line.line)
            stream.flush()
        return engine.wait(cid, condition="removed" if args.auto_remove else "not-running")


def _start_attached(engine: Any, cid: str, *, stdin: bool, tty: bool, detach_keys: bytes, sig_proxy: bool,
                    removed: bool = False) -> int:
    """``run -i/-t``, ``start -a [-i]``: connect to conmon's attach socket between ``runtime create`` and
    ``runtime start`` (no output is lost), relay the caller's stdio (raw terminal with a tty and stdin),
    then exit with the container's code; 0 after the detach keys (it keeps running). Without a terminal
    the signals berth gets are forwarded (``sig_proxy``)."""
    from berth.engine.container_ops import runtime_context
    from berth.runtime import attach

    bundle = runtime_context(engine).bundle(cid)
    size = None
    if tty:
        size = attach.window_size(sys.stdout.fileno()) or attach.window_size(sys.stdin.fileno())
    socks: list = []

    def on_created(_cid: str) -> None:
        socks.append(attach.connect(bundle))
        if size:
            try:
                pid = int((bundle / "pidfile").read_text().strip())
            except (OSError, ValueError):
                pid = 0
            if not (pid and attach.resize_before_start(pid, *size)):
                attach.resize(bundle, *size)

    sys.stdout.flush()
    sys.stderr.flush()
    with attach.proxy_signals(lambda sig: engine.kill(cid, sig), sig_proxy and not tty), engine.waiter(cid) as hold:

        def created(c: str) -> None:  # the waiter lock (as a foreground run takes it), then the socket
            hold(c)
            on_created(c)

        try:
            engine.start(cid, on_created=created)
        except BaseException:
            for s in socks:
                s.close()
            raise
        if not socks:  # it was running already (`start -a` of a running container): attach to it
            socks.append(_connect_running(engine, cid))
        with socks[0] as sock:
            detached = attach.attach_streams(sock, bundle, stdin=stdin, tty=tty, detach_keys=detach_keys)
        if detached:
            return 0  # ctrl-p ctrl-q: the container keeps running
        return engine.wait(cid, condition="removed" if removed else "not-running")


def _connect_running(engine: Any, cid: str) -> Any:
    """conmon's attach socket of a running container; ``ContainerNotRunning`` if it has none (anymore)."""
    from berth.engine.container_ops import runtime_context
    from berth.runtime import attach
    from berth.runtime.errors import ContainerNotRunning

    try:
        return attach.connect(runtime_context(engine).bundle(cid))
    except OSError:
        raise ContainerNotRunning(f"You cannot attach to a stopped container {cid}, start it first",
                                  container=cid) from None


def cmd_start(engine: Any, args: argparse.Namespace) -> int:
    if not (args.attach or args.interactive):
        if args.detach_keys is not None:
            from berth.runtime.foreground import parse_detach_keys

            parse_detach_keys(args.detach_keys)
        return each(args.containers, engine.start)
    from berth.errors import InvalidArgument
    from berth.runtime.foreground import DETACH_KEYS, parse_detach_keys

    if len(args.containers) > 1:
        raise InvalidArgument("you cannot start and attach multiple containers at once", value=args.containers)
    keys = parse_detach_keys(args.detach_keys) if args.detach_keys is not None else DETACH_KEYS
    info = engine.inspect_container(args.containers[0])
    cfg = info["Config"]
    stdin = bool(args.interactive and cfg.get("OpenStdin"))
    if stdin and cfg.get("Tty") and not sys.stdin.isatty():
        raise BerthError("the input device is not a TTY", flag="-i")
    return _start_attached(engine, info["Id"], stdin=stdin, tty=bool(cfg.get("Tty")), detach_keys=keys,
                           sig_proxy=True, removed=bool(info["HostConfig"].get("AutoRemove")))


def cmd_attach(engine: Any, args: argparse.Namespace) -> int:
    """``docker attach``: relay until the container stops (its exit code) or the detach keys ("read escape
    sequence", 1, as Docker)."""
    from berth.cli.run_options import parse_bool
    from berth.runtime import attach
    from berth.runtime.errors import ContainerNotRunning

    keys = attach.parse_detach_keys(args.detach_keys) if args.detach_keys is not None else attach.DETACH_KEYS
    sig_proxy = parse_bool(args.sig_proxy, "--sig-proxy")
    info = engine.inspect_container(args.container)
    cid, cfg, state = info["Id"], info["Config"], info["State"]
    if state.get("Paused"):
        raise ContainerNotRunning("You cannot attach to a paused container, unpause it first", container=cid)
    if state.get("Restarting"):
        raise ContainerNotRunning("You cannot attach to a restarting container, wait until it is running",
                                  container=cid)
    if not state.get("Running"):
        raise ContainerNotRunning("You cannot attach to a stopped container, start it first", container=cid)
    tty = bool(cfg.get("Tty"))
    if tty and not args.no_stdin and not sys.stdin.isatty():
        raise BerthError("the input device is not a TTY", flag="attach")
    stdin = bool(cfg.get("OpenStdin")) and not args.no_stdin
    from berth.engine.container_ops import runtime_context

    bundle = runtime_context(engine).bundle(cid)
    with attach.proxy_signals(lambda sig: engine.kill(cid, sig), sig_proxy and not tty):
        with _connect_running(engine, cid) as sock:
            if tty:
                size = attach.window_size(sys.stdout.fileno()) or attach.window_size(sys.stdin.fileno())
                if size:
                    attach.resize(bundle, *size)
            detached = attach.attach_streams(sock, bundle, stdin=stdin, tty=tty, detach_keys=keys)
        if detached:
            print("read escape sequence", file=sys.stderr)
            return 1
        return engine.wait(cid, condition="removed" if info["HostConfig"].get("AutoRemove") else "not-running")


def cmd_stop(engine: Any, args: argparse.Namespace) -> int:
    return each(args.containers, lambda ref: engine.stop(ref, args.timeout))


def cmd_restart(engine: Any, args: argparse.Namespace) -> int:
    return each(args.containers, lambda ref: engine.restart_container(ref, args.timeout))


def cmd_kill(engine: Any, args: argparse.Namespace) -> int:
    return each(args.containers, lambda ref: engine.kill(ref, args.signal))


def cmd_rm(engine: Any, args: argparse.Namespace) -> int:
    return each(args.containers, lambda ref: engine.remove_container(ref, force=args.force, volumes=args.volumes))


def cmd_ps(engine: Any, args: argparse.Namespace) -> int:
    rows = engine.containers(all=args.all)
    if args.format == "json":
        print_json(rows)
        return 0
    if args.quiet:
        for r in rows:
            print(r["Id"] if args.no_trunc else r["Id"][:12])
        return 0
    from datetime import UTC, datetime

    body = []
    for r in rows:
        command = r["Command"] if args.no_trunc or len(r["Command"]) <= 22 else r["Command"][:21] + "…"
        created = datetime.fromtimestamp(r["Created"], UTC).isoformat()
        body.append([r["Id"] if args.no_trunc else r["Id"][:12], r["Image"], f'"{command}"', human_age(created),
                     r["Status"], ports_text(r.get("Ports") or []), ",".join(n.lstrip("/") for n in r["Names"])])
    table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], body)
    return 0


def cmd_logs(engine: Any, args: argparse.Namespace) -> int:
    tail = None if args.tail == "all" else int(args.tail)
    for line in engine.logs(args.container, follow=args.follow, tail=tail, since=args.since, until=args.until,
                            timestamps=args.timestamps):
        stream = sys.stdout if line.stream == "stdout" else sys.stderr
        stream.write(line.line)
        stream.flush()
    return 0


def cmd_wait(engine: Any, args: argparse.Namespace) -> int:
    rc = 0
    for ref in args.containers:
        try:
            print(engine.wait(ref))
        except BerthError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            rc = 1
    return rc


def cmd_rename(engine: Any, args: argparse.Namespace) -> int:
    engine.rename_container(args.container, args.new_name)
    return 0


def cmd_update(engine: Any, args: argparse.Namespace) -> int:
    from berth.errors import InvalidArgument
    from berth.runtime.update import parse_update

    changes = parse_update(memory=args.memory, memory_swap=args.memory_swap, cpus=args.cpus,
                           cpu_shares=args.cpu_shares, pids_limit=args.pids_limit, restart=args.restart)
    if changes.is_empty():
        raise InvalidArgument("update: you must provide one or more flags (--memory, --memory-swap, --cpus, "
                              "--cpu-shares, --pids-limit, --restart)")
    return each(args.containers, lambda ref: engine.update_container(ref, changes))


def cmd_top(engine: Any, args: argparse.Namespace) -> int:
    res = engine.top(args.container)
    if args.format == "json":
        print_json(res)
    else:
        table(res["Titles"], res["Processes"])
    return 0
