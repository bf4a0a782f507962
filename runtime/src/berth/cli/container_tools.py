"""Commands that work inside containers: exec, cp, commit."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    sp = sub.add_parser(
        "exec", help="run a command in a running container",
        description="Run a command in a running container, as `docker exec`. With -it the terminal is raw and "
                    "relayed until the command exits (berth exits with its code); ctrl-p ctrl-q (or "
                    "--detach-keys) detach and leave it running. -d runs it in the background (with -t it "
                    "gets a terminal of its own); its output is discarded.")
    sp.add_argument("-d", "--detach", action="store_true", help="run the command in the background")
    sp.add_argument("-i", "--interactive", action="store_true", help="keep stdin open")
    sp.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    sp.add_argument("--detach-keys", metavar="KEYS",
                    help="key sequence that detaches from -it (default ctrl-p,ctrl-q)")
    sp.add_argument("-u", "--user", help="user name or uid[:group|gid] (default: the container's)")
    sp.add_argument("-w", "--workdir", help="working directory inside the container (absolute)")
    sp.add_argument("-e", "--env", action="append", default=[], help="set an environment variable (KEY=VALUE)")
    sp.add_argument("--privileged", action="store_true", help="give the command every capability")
    sp.add_argument("container")
    sp.add_argument("cmd", nargs=argparse.REMAINDER)
    sp.set_defaults(func=cmd_exec)

    sp = sub.add_parser(
        "cp", help="copy files between a container and the host",
        description="Copy files between a container (running or stopped) and the host, as `docker cp`. "
                    "SRC or DEST may be '-': a tar archive read from stdin is unpacked into the existing "
                    "directory DEST (plain, gzip, bzip2, xz or zstd; owners, modes and times from the archive; "
                    "checked whole before anything is written, and no member may land outside the container), "
                    "or a tar of SRC is written to stdout.",
        epilog="examples:\n  berth cp web:/etc/nginx/nginx.conf .\n  berth cp ./site/. web:/usr/share/nginx/html\n"
               "  tar -C build -c . | berth cp - web:/srv\n  berth cp web:/var/log - | tar -t",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sp.add_argument("src", metavar="SRC", help="CONTAINER:PATH, a host path, or - (a tar on stdin)")
    sp.add_argument("dst", metavar="DEST", help="CONTAINER:PATH, a host path, or - (a tar on stdout)")
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
    from berth.errors import BerthError, InvalidArgument
    from berth.runtime.foreground import parse_detach_keys

    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise InvalidArgument("exec: requires a container and a command")
    keys = parse_detach_keys(args.detach_keys) if args.detach_keys is not None else None
    if args.tty and args.interactive and not args.detach and not sys.stdin.isatty():
        raise BerthError("the input device is not a TTY", flag="-t")  # Docker's check
    code, _, _ = engine.exec_container(args.container, cmd, user=args.user, workdir=args.workdir, env=args.env,
                                       detach=args.detach, interactive=args.interactive, tty=args.tty,
                                       privileged=args.privileged, capture=False, detach_keys=keys)
    sys.stdout.flush()
    return code


def cmd_cp(engine: Any, args: argparse.Namespace) -> int:
    from berth.errors import InvalidArgument
    from berth.runtime.cp import split_container_arg

    if args.src == "-" and args.dst == "-":
        raise InvalidArgument("cp: SRC and DEST cannot both be '-'", value="-")
    if "-" in (args.src, args.dst):
        other = split_container_arg(args.dst if args.src == "-" else args.src)
        if other is None:
            raise InvalidArgument("cp: with '-' the other argument must be CONTAINER:PATH "
                                  "(must specify at least one container source)", value=args.dst)
        if args.src == "-":
            engine.put_archive(other[0], other[1], sys.stdin.buffer)
        else:
            engine.get_archive(other[0], other[1], sys.stdout.buffer)
            sys.stdout.buffer.flush()
        return 0
    engine.copy(args.src, args.dst)
    return 0


def cmd_commit(engine: Any, args: argparse.Namespace) -> int:
    print(engine.commit(args.container, args.repository, changes=args.change, message=args.message,
                        author=args.author))
    return 0
