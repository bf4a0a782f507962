"""Commands that work inside containers: exec, cp, commit."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    sp = sub.add_parser("exec", help="run a command in a running container")
    sp.add_argument("-d", "--detach", action="store_true", help="run the command in the background")
    sp.add_argument("-i", "--interactive", action="store_true", help="keep stdin open")
    sp.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY (foreground only)")
    sp.add_argument("-u", "--user", help="user name or uid[:group|gid] (default: the container's)")
    sp.add_argument("-w", "--workdir", help="working directory inside the container (absolute)")
    sp.add_argument("-e", "--env", action="append", default=[], help="set an environment variable (KEY=VALUE)")
    sp.add_argument("--privileged", action="store_true", help="give the command every capability")
    sp.add_argument("container")
    sp.add_argument("cmd", nargs=argparse.REMAINDER)
    sp.set_defaults(func=cmd_exec)

    sp = sub.add_parser("cp", help="copy files between a container and the host")
    sp.add_argument("src", help="CONTAINER:PATH or a host path")
    sp.add_argument("dst", help="CONTAINER:PATH or a host path")
    sp.set_defaults(func=cmd_cp)

    sp = sub.add_parser("commit", help="create an image from a container's changes")
    sp.add_argument("-c", "--change", action="append", default=[], help="Dockerfile instruction to apply")
    sp.add_argument("-m", "--message", default="", help="commit message")
    sp.add_argument("-a", "--author", default="", help='author (e.g. "Jane <jane@example.com>")')
    sp.add_argument("-p", "--pause", action="store_true",
                    help="accepted for Docker compatibility; the container is not frozen")
    sp.add_argument("container")
    sp.add_argument("repository", nargs="?")
    sp.set_defaults(func=cmd_commit)


def cmd_exec(engine: Any, args: argparse.Namespace) -> int:
    from berth.errors import InvalidArgument

    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise InvalidArgument("exec: requires a container and a command")
    code, _, _ = engine.exec_container(args.container, cmd, user=args.user, workdir=args.workdir, env=args.env,
                                       detach=args.detach, interactive=args.interactive, tty=args.tty,
                                       privileged=args.privileged, capture=False)
    sys.stdout.flush()
    return code


def cmd_cp(engine: Any, args: argparse.Namespace) -> int:
    from berth.errors import InvalidArgument

    if args.src == "-" or args.dst == "-":
        raise InvalidArgument("cp: tar streams on stdin/stdout ('-') are not supported yet")
    engine.copy(args.src, args.dst)
    return 0


def cmd_commit(engine: Any, args: argparse.Namespace) -> int:
    print(engine.commit(args.container, args.repository, changes=args.change, message=args.message,
                        author=args.author))
    return 0
