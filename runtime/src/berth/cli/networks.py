"""``berth network create|ls|inspect|rm|connect|disconnect|prune`` and ``berth port``."""

from __future__ import annotations

import argparse
from typing import Any

from berth.cli.output import each, print_json, table
from berth.errors import InvalidArgument


def register(sub: Any) -> None:
    network = sub.add_parser("network", help="manage networks").add_subparsers(dest="network_command",
                                                                               metavar="COMMAND")
    sp = network.add_parser("create", help="create a bridge network")
    sp.set_defaults(func=cmd_create)
    sp.add_argument("name")
    sp.add_argument("-d", "--driver", default="bridge", help="bridge (the only driver)")
    sp.add_argument("--subnet", help="CIDR, e.g. 172.20.0.0/16 (default: a free one of default-address-pools)")
    sp.add_argument("--gateway", help="gateway address (default: the subnet's first address)")
    sp.add_argument("--ip-range", help="allocate container addresses from this sub-range")
    sp.add_argument("--internal", action="store_true", help="no traffic to or from outside the network")
    sp.add_argument("--label", action="append", default=[], metavar="KEY[=VALUE]")
    sp.add_argument("-o", "--opt", action="append", default=[], metavar="KEY=VALUE",
                    help="com.docker.network.bridge.name=NAME, com.docker.network.driver.mtu=MTU")

    sp = network.add_parser("ls", aliases=["list"], help="list networks")
    sp.set_defaults(func=cmd_ls)
    sp.add_argument("-q", "--quiet", action="store_true", help="only show network IDs")
    sp.add_argument("--no-trunc", action="store_true")
    sp.add_argument("--format", choices=["table", "json"], default="table")

    sp = network.add_parser("inspect", help="display detailed information on networks")
    sp.set_defaults(func=cmd_inspect)
    sp.add_argument("networks", nargs="+")

    sp = network.add_parser("rm", aliases=["remove"], help="remove networks (none with containers)")
    sp.set_defaults(func=cmd_rm)
    sp.add_argument("networks", nargs="+")

    sp = network.add_parser("prune", help="remove networks no container uses")
    sp.set_defaults(func=cmd_prune)
    sp.add_argument("-f", "--force", action="store_true", help="do not prompt (berth never prompts)")

    sp = network.add_parser("connect", help="connect a container to a network")
    sp.set_defaults(func=cmd_connect)
    sp.add_argument("network")
    sp.add_argument("container")
    sp.add_argument("--ip", help="IPv4 address on the network")
    sp.add_argument("--alias", action="append", default=[], help="network-scoped name")

    sp = network.add_parser("disconnect", help="disconnect a container from a network")
    sp.set_defaults(func=cmd_disconnect)
    sp.add_argument("network")
    sp.add_argument("container")
    sp.add_argument("-f", "--force", action="store_true")

    sp = sub.add_parser("port", help="list a container's published ports")
    sp.set_defaults(func=cmd_port)
    sp.add_argument("container")
    sp.add_argument("port", nargs="?", help="PRIVATE_PORT[/PROTO]")


def _pairs(items: list[str], flag: str, *, value_required: bool) -> dict[str, str]:
    out = {}
    for text in items:
        key, eq, value = text.partition("=")
        if not key or (value_required and not eq):
            raise InvalidArgument(f'invalid {flag} "{text}": expected KEY=VALUE', flag=flag)
        out[key] = value
    return out


def cmd_create(engine: Any, args: argparse.Namespace) -> int:
    net = engine.networks.create_network(
        args.name, subnet=args.subnet, gateway=args.gateway, ip_range=args.ip_range, internal=args.internal,
        labels=_pairs(args.label, "--label", value_required=False),
        options=_pairs(args.opt, "--opt", value_required=True), driver=args.driver)
    print(net.Id)
    return 0


def cmd_ls(engine: Any, args: argparse.Namespace) -> int:
    nets = engine.networks.store.list()
    if args.format == "json":
        print_json([n.inspect() for n in nets])
    elif args.quiet:
        for n in nets:
            print(n.Id if args.no_trunc else n.Id[:12])
    else:
        table(["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
              [[n.Id if args.no_trunc else n.Id[:12], n.Name, n.Driver, "local"] for n in nets])
    return 0


def cmd_inspect(engine: Any, args: argparse.Namespace) -> int:
    out: list[dict[str, Any]] = []

    def add(ref: str) -> bool:
        out.append(engine.networks.inspect(ref))
        return False  # printed below, as one JSON list

    rc = each(args.networks, add)
    print_json(out)
    return rc


def cmd_rm(engine: Any, args: argparse.Namespace) -> int:
    return each(args.networks, engine.networks.remove_network)


def cmd_prune(engine: Any, args: argparse.Namespace) -> int:
    removed = engine.networks.prune()
    if removed:
        print("Deleted Networks:")
        for name in removed:
            print(name)
    return 0


def cmd_connect(engine: Any, args: argparse.Namespace) -> int:
    engine.connect(args.container, args.network, ip=args.ip, aliases=tuple(args.alias))
    return 0


def cmd_disconnect(engine: Any, args: argparse.Namespace) -> int:
    engine.disconnect(args.container, args.network, force=args.force)
    return 0


def cmd_port(engine: Any, args: argparse.Namespace) -> int:
    """Docker's format: ``80/tcp -> 0.0.0.0:8080``, or only ``0.0.0.0:8080`` for one port."""
    rules = engine.port(args.container)
    if args.port:
        port, _, proto = args.port.partition("/")
        proto = proto or "tcp"
        if not port.isdigit() or proto not in ("tcp", "udp"):
            raise InvalidArgument(f"invalid port {args.port!r}: expected PORT[/tcp|/udp]", port=args.port)
        found = [r for r in rules if r.container_port == int(port) and r.proto == proto]
        if not found:
            raise InvalidArgument(f"Error: No public port '{port}/{proto}' published for {args.container}",
                                  port=args.port)
        for r in found:
            print(f"{r.host_ip or '0.0.0.0'}:{r.host_port}")
        return 0
    for r in sorted(rules, key=lambda r: (r.container_port, r.proto)):
        print(f"{r.container_port}/{r.proto} -> {r.host_ip or '0.0.0.0'}:{r.host_port}")
    return 0
