"""``berth volume create|ls|inspect|rm|prune``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from berth.cli.output import each, human_size, print_json, table
from berth.errors import BerthError, InvalidArgument


def register(sub: Any) -> None:
    volume = sub.add_parser("volume", help="manage volumes").add_subparsers(dest="volume_command", metavar="COMMAND")

    sp = volume.add_parser("create", help="create a volume")
    sp.set_defaults(func=cmd_create)
    sp.add_argument("name", nargs="?", help="volume name (default: a random, anonymous one)")
    sp.add_argument("-d", "--driver", default="local")
    sp.add_argument("--label", action="append", default=[], metavar="KEY[=VALUE]")
    sp.add_argument("-o", "--opt", action="append", default=[], metavar="KEY=VALUE",
                    help="driver option: type=none, o=bind, device=/host/path")

    sp = volume.add_parser("ls", aliases=["list"], help="list volumes")
    sp.set_defaults(func=cmd_ls)
    sp.add_argument("-q", "--quiet", action="store_true", help="only show volume names")
    sp.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                    help="dangling=true|false, label=KEY[=VALUE], name=SUBSTRING, driver=local")
    sp.add_argument("--format", choices=["table", "json"], default="table")

    sp = volume.add_parser("inspect", help="display detailed information on volumes")
    sp.set_defaults(func=cmd_inspect)
    sp.add_argument("names", nargs="+")

    sp = volume.add_parser("rm", aliases=["remove"], help="remove volumes (never one in use)")
    sp.set_defaults(func=cmd_rm)
    sp.add_argument("-f", "--force", action="store_true", help="do not fail on a missing volume")
    sp.add_argument("names", nargs="+")

    sp = volume.add_parser("prune", help="remove unused anonymous volumes")
    sp.set_defaults(func=cmd_prune)
    sp.add_argument("-a", "--all", action="store_true", help="remove unused named volumes too")
    sp.add_argument("-f", "--force", action="store_true", help="do not prompt (berth never prompts)")


def cmd_create(engine: Any, args: argparse.Namespace) -> int:
    labels = dict(_pair(text, "--label", value_required=False) for text in args.label)
    options = dict(_pair(text, "--opt", value_required=True) for text in args.opt)
    info = engine.volumes.create(args.name, driver=args.driver, labels=labels, options=options)
    print(info["Name"])
    return 0


def cmd_ls(engine: Any, args: argparse.Namespace) -> int:
    filters: dict[str, list[str]] = {}
    for text in args.filter:
        key, value = _pair(text, "--filter", value_required=True)
        filters.setdefault(key, []).append(value)
    rows = engine.volumes.list(filters)
    if args.format == "json":
        print_json(rows)
    elif args.quiet:
        for r in rows:
            print(r["Name"])
    else:
        table(["DRIVER", "VOLUME NAME"], [[r["Driver"], r["Name"]] for r in rows])
    return 0


def cmd_inspect(engine: Any, args: argparse.Namespace) -> int:
    out, rc = [], 0
    for name in args.names:
        try:
            out.append(engine.volumes.inspect(name))
        except BerthError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            rc = 1
    print_json(out)
    return rc


def cmd_rm(engine: Any, args: argparse.Namespace) -> int:
    return each(args.names, lambda name: bool(engine.volumes.remove(name, force=args.force)))


def cmd_prune(engine: Any, args: argparse.Namespace) -> int:
    names, reclaimed = engine.volumes.prune(all_=args.all)
    if names:
        print("Deleted Volumes:")
        for name in names:
            print(name)
        print()
    print(f"Total reclaimed space: {human_size(reclaimed)}")
    return 0


def _pair(text: str, flag: str, *, value_required: bool) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    if not key or (value_required and not eq):
        raise InvalidArgument(f'invalid {flag} "{text}": expected KEY=VALUE', flag=flag)
    return key, value
