"""``berth build``: Docker's classic ``docker build`` flags and output."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    sp = sub.add_parser("build", help="build an image from a Dockerfile")
    sp.set_defaults(func=cmd_build)
    sp.add_argument("context", help="the build context: a directory")
    sp.add_argument("-t", "--tag", action="append", default=[], help="name[:tag] (repeatable)")
    sp.add_argument("-f", "--file", help="the Dockerfile (default: CONTEXT/Dockerfile)")
    sp.add_argument("--build-arg", action="append", default=[], metavar="KEY[=VALUE]")
    sp.add_argument("--target", help="build up to this stage")
    sp.add_argument("--no-cache", action="store_true", help="do not use the build cache")
    sp.add_argument("--pull", action="store_true", help="always pull the FROM images")
    sp.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    sp.add_argument("--network", default="bridge", help="network of the RUN steps (default bridge)")
    sp.add_argument("-q", "--quiet", action="store_true", help="print only the image ID")


def _pairs(values: list[str], optional_value: bool) -> tuple[tuple[str, Any], ...]:
    out = []
    for item in values:
        key, eq, value = item.partition("=")
        out.append((key, value if eq or not optional_value else None))
    return tuple(out)


def cmd_build(engine: Any, args: argparse.Namespace) -> int:
    from pathlib import Path

    from berth.build.builder import BuildOptions

    dockerfile = args.file or "Dockerfile"
    if args.file and args.file != "-":
        path = Path(args.file)
        # -f is relative to the current directory, as Docker's; stored relative to the context when inside
        ctx = Path(args.context).absolute()
        full = path.absolute()
        dockerfile = str(full.relative_to(ctx)) if full.is_relative_to(ctx) else str(full)
    options = BuildOptions(
        context=Path(args.context), dockerfile=dockerfile, tags=tuple(args.tag),
        build_args=_pairs(args.build_arg, optional_value=True), target=args.target, no_cache=args.no_cache,
        pull=args.pull, labels=_pairs(args.label, optional_value=False), network=args.network,
    )

    def out(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    image = engine.build(options, None if args.quiet else out)
    if args.quiet:
        print(image)
    return 0
