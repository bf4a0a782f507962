"""The flags of ``berth run`` / ``berth create`` (Docker's names) and their ``ContainerSpec``.

Only argparse at import time: the parsers load when ``spec_from_args`` runs.
The subparser must be created with ``add_help=False`` because ``-h`` is
``--hostname`` in ``docker run``; ``add_run_options`` adds ``--help`` itself.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from berth.containers.spec import ContainerSpec, Mount

_DEFAULT_NETWORKS = ("bridge", "default", "host", "none")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Add every run/create flag, then IMAGE and COMMAND... (everything after IMAGE is the command)."""
    if parser.add_help:
        raise ValueError("create the run/create parser with add_help=False: -h is --hostname")
    parser.allow_abbrev = False  # Docker never expands --na to --name
    add = parser.add_argument
    many: dict = {"action": "append", "default": []}
    add("--help", action="help", help="show this help message and exit")
    add("-d", "--detach", action="store_true", help="run in the background and print the container ID")
    add("--rm", dest="auto_remove", action="store_true", help="remove the container when it exits")
    add("--name", help="assign a name to the container")
    add("-i", "--interactive", action="store_true", help="keep STDIN open even if not attached")
    add("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    add("-e", "--env", metavar="KEY[=VALUE]", help="set an environment variable", **many)
    add("--env-file", metavar="FILE", help="read environment variables from a file", **many)
    add("-w", "--workdir", help="working directory inside the container")
    add("-u", "--user", help="name|uid[:group|gid]")
    add("--entrypoint", help='overwrite the image ENTRYPOINT ("" clears it)')
    add("-v", "--volume", metavar="[SRC:]DST[:OPTS]", help="bind mount or volume", **many)
    add("--mount", metavar="type=...,source=...,target=...", help="attach a filesystem mount", **many)
    add("--volumes-from", metavar="CONTAINER[:ro|rw]", help="mount the volumes of a container", **many)
    add("--restart", default="no", help="no | on-failure[:max-retries] | always | unless-stopped")
    add("-h", "--hostname", help="container host name")
    add("-l", "--label", metavar="KEY[=VALUE]", help="set metadata on the container", **many)
    add("--label-file", metavar="FILE", help="read labels from a file", **many)
    add("-m", "--memory", help="memory limit (e.g. 512m, 1g)")
    add("--cpus", help="number of CPUs (e.g. 1.5)")
    add("--pids-limit", help="process limit (-1 for unlimited)")
    add("--read-only", action="store_true", help="mount the root filesystem read-only")
    add("--tmpfs", metavar="DST[:OPTS]", help="mount a tmpfs (e.g. /run:rw,size=64m)", **many)
    add("--cap-add", metavar="CAP", help="add a Linux capability", **many)
    add("--cap-drop", metavar="CAP", help="drop a Linux capability", **many)
    add("--privileged", action="store_true", help="give extended privileges to the container")
    add("--security-opt", metavar="OPT", help="seccomp=unconfined|PROFILE.json, no-new-privileges...", **many)
    add("--stop-signal", help="signal to stop the container (default: the image's, else SIGTERM)")
    add("--stop-timeout", help="seconds to wait for stop before killing the container")
    add("--init", action="store_true", help="run an init inside the container that reaps processes")
    add("--detach-keys", metavar="KEYS",
        help="key sequence that detaches from -it and leaves the container running (default ctrl-p,ctrl-q)")
    add("--sig-proxy", nargs="?", const="true", default="true", metavar="BOOL",
        help="forward signals berth receives to the container, without -t (default true; --sig-proxy=false)")
    add("-p", "--publish", metavar="[IP:][HOST:]CTR[/PROTO]", help="publish a container port", **many)
    add("-P", "--publish-all", action="store_true", help="publish all exposed ports to random ports")
    add("--network", "--net", default="bridge", help="bridge | host | none | a user network")
    add("--ip", help="IPv4 address on a user network")
    add("--network-alias", metavar="ALIAS", help="network-scoped alias", **many)
    add("--dns", metavar="IP", help="custom DNS server", **many)
    add("--add-host", metavar="HOST:IP", help="add a line to /etc/hosts", **many)
    add("image", metavar="IMAGE")
    add("command", metavar="COMMAND", nargs=argparse.REMAINDER, help="command and arguments")


def spec_from_args(args: argparse.Namespace) -> ContainerSpec:
    """The ``ContainerSpec`` the flags describe; raises ``InvalidArgument`` naming the flag and value."""
    from berth.containers import parse as p
    from berth.containers.spec import ContainerSpec

    restart = p.parse_restart(args.restart)
    if args.auto_remove and restart.name != "no":
        raise p.invalid("--restart", args.restart, "conflicting options: --restart and --rm")
    network = _network(args)
    return ContainerSpec(
        image=_image(args.image),
        name=p.parse_name(args.name) if args.name is not None else None,
        command=tuple(args.command) or None,
        entrypoint=None if args.entrypoint is None else ((args.entrypoint,) if args.entrypoint else ()),
        env=p.parse_env(args.env, args.env_file),
        workdir=p.parse_workdir(args.workdir) if args.workdir is not None else None,
        user=p.parse_user(args.user) if args.user is not None else None,
        hostname=p.parse_hostname(args.hostname) if args.hostname else None,
        labels=p.parse_labels(args.label, args.label_file),
        tty=args.tty,
        interactive=args.interactive,
        mounts=_mounts(args),
        volumes_from=tuple(dict.fromkeys(p.parse_volumes_from(v) for v in args.volumes_from)),
        restart=restart,
        auto_remove=args.auto_remove,
        memory=(p.parse_memory(args.memory) or None) if args.memory is not None else None,  # 0: no limit
        nano_cpus=p.parse_cpus(args.cpus) if args.cpus is not None else None,
        pids_limit=p.parse_pids_limit(args.pids_limit) if args.pids_limit is not None else None,
        read_only=args.read_only,
        cap_add=p.parse_capabilities(args.cap_add, "--cap-add"),
        cap_drop=p.parse_capabilities(args.cap_drop, "--cap-drop"),
        privileged=args.privileged,
        security_opt=p.parse_security_opts(args.security_opt),
        stop_signal=p.parse_stop_signal(args.stop_signal) if args.stop_signal else None,
        stop_timeout=p.parse_stop_timeout(args.stop_timeout) if args.stop_timeout is not None else None,
        init=args.init,
        ports=tuple(dict.fromkeys(b for v in args.publish for b in p.parse_publish(v))),
        publish_all=args.publish_all,
        network=network,
        dns=tuple(dict.fromkeys(p.parse_ip(v, "--dns") for v in args.dns)),
        extra_hosts=tuple(p.parse_add_host(v) for v in args.add_host),
        ip=p.parse_ip(args.ip, "--ip", version=4) if args.ip else None,
        network_aliases=tuple(dict.fromkeys(args.network_alias)),
    )


def parse_bool(value: str, flag: str) -> bool:
    """A Go boolean flag value (``--sig-proxy=false``): 1 0 t f true false, any case."""
    from berth.containers.parse import invalid

    text = value.strip().lower()
    if text in ("1", "t", "true"):
        return True
    if text in ("0", "f", "false"):
        return False
    raise invalid(flag, value, "expected true or false")


def attach_options(args: argparse.Namespace) -> tuple[bytes, bool]:
    """``--detach-keys`` (as bytes; Docker's ctrl-p ctrl-q when not given) and ``--sig-proxy``."""
    from berth.runtime.foreground import DETACH_KEYS, parse_detach_keys

    keys = parse_detach_keys(args.detach_keys) if args.detach_keys is not None else DETACH_KEYS
    return keys, parse_bool(args.sig_proxy, "--sig-proxy")


def _image(image: str) -> str:
    from berth.containers.parse import invalid

    if not image.strip() or image.startswith("-"):
        raise invalid("IMAGE", image, "expected an image reference")
    return image


def _network(args: argparse.Namespace) -> str:
    from berth.containers.parse import invalid

    network = "bridge" if args.network == "default" else args.network
    if not network:
        raise invalid("--network", args.network, "expected bridge, host, none or a network name")
    user_network = network not in _DEFAULT_NETWORKS
    if args.ip and not user_network:
        raise invalid("--ip", args.ip, "a static IP address is supported on user-defined networks only")
    for alias in args.network_alias:
        if not alias or not user_network:
            raise invalid("--network-alias", alias, "aliases are supported on user-defined networks only")
    return network


def _mounts(args: argparse.Namespace) -> tuple[Mount, ...]:
    """-v, then --mount, then --tmpfs; two mounts on one container path is an error (as Docker)."""
    from berth.containers.parse import invalid, parse_mount, parse_tmpfs, parse_volume

    seen: dict[str, str] = {}
    mounts = []
    for flag, values, parse in (("--volume", args.volume, parse_volume), ("--mount", args.mount, parse_mount),
                                ("--tmpfs", args.tmpfs, parse_tmpfs)):
        for value in values:
            mount = parse(value, flag)
            if mount.target in seen:
                raise invalid(flag, value, f"duplicate mount point {mount.target} (also in {seen[mount.target]})")
            seen[mount.target] = value
            mounts.append(mount)
    return tuple(mounts)
