"""``python -m berth.network.dns ROOT [--detach] [--ready-fd N]``: the resolver of engine ROOT.

``--detach`` forks once more and lets the parent exit, so the server is re-parented to init and
never lingers as a zombie of whatever started it; ``--ready-fd`` is the pipe that gets its status
line (see ``Server.run``). Without options it runs in the foreground, logging to stderr.
"""

from __future__ import annotations

import os
import sys

USAGE = "usage: python -m berth.network.dns ROOT [--detach] [--ready-fd N]"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    detach = "--detach" in args
    if detach:
        args.remove("--detach")
    ready_fd: int | None = None
    if "--ready-fd" in args:
        i = args.index("--ready-fd")
        if i + 1 >= len(args) or not (args[i + 1].isascii() and args[i + 1].isdigit()):
            print(USAGE, file=sys.stderr)
            return 2
        ready_fd = int(args[i + 1])
        del args[i : i + 2]
    if len(args) != 1 or args[0].startswith("-"):
        print(USAGE, file=sys.stderr)
        return 2

    from berth.paths import Paths

    net_dir = Paths.for_root(args[0]).run_dir / "network"
    if detach and os.fork() > 0:
        os._exit(0)
    os.chdir("/")  # hold no directory of whoever started us (a test's tmp dir, a mount)

    from berth.network.dns.server import serve

    return serve(net_dir, ready_fd=ready_fd)


if __name__ == "__main__":
    sys.exit(main())
