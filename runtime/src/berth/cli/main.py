"""Entry point: parse arguments, call one Engine method, render, exit.

Only argparse is imported at start-up; each command imports what it needs,
so ``berth --help`` and the fast paths stay cheap.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Sequence
from typing import Any

from berth.errors import BerthError

#: the CLI module that registers each command. A command imports and builds only its own module's
#: parsers: importing and building all seven took ~25 ms of every ``run``. ``--help`` (or an unknown
#: command, for argparse's error) builds them all; a test checks this table against the modules.
COMMANDS = {
    **dict.fromkeys(("pull", "push", "tag", "rmi", "images", "history", "save", "load", "import", "login",
                     "logout", "image", "inspect"), "images"),
    "build": "build",
    **dict.fromkeys(("run", "create", "start", "attach", "stop", "restart", "kill", "rm", "ps", "logs", "wait",
                     "rename", "update", "top"), "containers"),
    **dict.fromkeys(("exec", "cp", "commit"), "container_tools"),
    **dict.fromkeys(("system", "info"), "system"),
    "volume": "volumes",
    **dict.fromkeys(("network", "port"), "networks"),
}
MODULES = tuple(dict.fromkeys(COMMANDS.values()))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser for ``command`` (its module's commands only), or for every command."""
    from importlib import import_module

    p = argparse.ArgumentParser(prog="berth", description="A daemonless container engine (Docker-compatible verbs).",
                                formatter_class=_formatter(argparse.HelpFormatter))
    p.add_argument("--root", default=os.environ.get("BERTH_ROOT"),
                   help="engine root (default: $BERTH_ROOT or /var/lib/berth)")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    if command in COMMANDS:
        import_module(f"berth.cli.{COMMANDS[command]}").register(_OneCommand(sub, command))
    else:
        for name in MODULES:
            import_module(f"berth.cli.{name}").register(_OneCommand(sub, None))
    return p


class _OneCommand:
    """``add_subparsers()``, narrowed to the command being run (None: all of them). A module
    registers each of its commands; only this one is built, the others get a stand-in that takes
    and drops their options. ``run`` and ``create`` have ~60 options each: building both, and the
    module's dozen others, was ~5 ms of every ``run``."""

    def __init__(self, sub: Any, command: str | None) -> None:
        self._sub = sub
        self._command = command

    def add_parser(self, name: str, **kw: Any) -> Any:
        if self._command is not None and self._command != name and self._command not in kw.get("aliases", ()):
            return _Unbuilt()
        # argparse makes a help formatter at each add_argument (to check metavars), and each asks
        # the terminal for its width: ask once
        kw["formatter_class"] = _formatter(kw.get("formatter_class", argparse.HelpFormatter))
        return self._sub.add_parser(name, **kw)


class _Unbuilt:
    """The parser of a command that is not being run: every call is accepted and does nothing."""

    add_help = False  # what add_run_options checks

    def __getattr__(self, name: str) -> Any:
        return self._accept

    def _accept(self, *args: Any, **kwargs: Any) -> _Unbuilt:
        return self


@functools.cache
def _formatter(cls: type[argparse.HelpFormatter]) -> Any:
    return functools.partial(cls, width=terminal_columns() - 2)  # argparse's own width


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns`` (what argparse asks), without importing shutil."""
    try:
        if (columns := int(os.environ["COLUMNS"])) > 0:
            return columns
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def command_of(argv: Sequence[str]) -> str | None:
    """The command word of ``argv``: the first argument that is not a global option or its value."""
    args = iter(argv)
    for arg in args:
        if arg == "--root":
            next(args, None)
        elif arg in ("-h", "--help"):
            return None
        elif not arg.startswith("-"):
            return arg
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(command_of(argv))
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


def run() -> None:
    """The ``berth`` command: ``main``, then exit without the interpreter's teardown.

    Freeing every module and object at exit took ~10 ms of each ``berth run`` and buys nothing to
    a process that ends; atexit handlers still run (berth.distribution's temporary CA bundles)."""
    import atexit
    import contextlib

    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # the reader left (`berth ps | head`)
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
