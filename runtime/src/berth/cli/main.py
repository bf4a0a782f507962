"""Entry point: parse arguments, call one Engine method, render, exit.

Only argparse is imported at start-up; each command imports what it needs,
so ``berth --help`` and the fast paths stay cheap.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from berth.errors import BerthError


def build_parser() -> argparse.ArgumentParser:
    from berth.cli import build, container_tools, containers, images, networks, system, volumes

    p = argparse.ArgumentParser(prog="berth", description="A daemonless container engine (Docker-compatible verbs).")
    p.add_argument("--root", default=os.environ.get("BERTH_ROOT"),
                   help="engine root (default: $BERTH_ROOT or /var/lib/berth)")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    images.register(sub)
    build.register(sub)
    containers.register(sub)
    container_tools.register(sub)
    system.register(sub)
    volumes.register(sub)
    networks.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from berth import __version__

        print(f"berth version {__version__}")
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 1
    try:
        from berth.engine import Engine

        engine = Engine(root=args.root)
        rc = args.func(engine, args)
        return int(rc or 0)
    except BerthError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
