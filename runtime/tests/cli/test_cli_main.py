"""The CLI builds only the invoked command's parsers: its command table must match the modules."""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib import import_module

import pytest

from berth.cli.main import COMMANDS, MODULES, build_parser, command_of


def test_the_command_table_names_every_command_of_every_module_and_nothing_else():
    for name in MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        import_module(f"berth.cli.{name}").register(sub)
        assert {c: name for c in sub.choices} == {c: m for c, m in COMMANDS.items() if m == name}


@pytest.mark.parametrize(("argv", "command"), [
    (["run", "--rm", "busybox"], "run"),
    (["--root", "/r", "ps", "-a"], "ps"),
    (["--root=/r", "volume", "ls"], "volume"),
    (["--root", "run", "ps"], "ps"),  # a root directory named like a command
    (["--help"], None),
    (["--version"], None),
    ([], None),
])
def test_command_of(argv, command):
    assert command_of(argv) == command


def test_a_command_parser_holds_only_its_command_and_the_full_one_all():
    assert set(build_parser("run")._subparsers._group_actions[0].choices) == {"run"}
    assert set(build_parser("image")._subparsers._group_actions[0].choices) == {"image"}
    assert build_parser("create").parse_args(["create", "-h", "box", "busybox"]).hostname == "box"
    assert set(build_parser(None)._subparsers._group_actions[0].choices) == set(COMMANDS)
    assert set(build_parser("no-such-verb")._subparsers._group_actions[0].choices) == set(COMMANDS)


def test_help_lists_every_command_and_an_unknown_one_is_argparses_error():
    out = subprocess.run([sys.executable, "-m", "berth.cli.main", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and all(c in out.stdout for c in COMMANDS)
    bad = subprocess.run([sys.executable, "-m", "berth.cli.main", "frobnicate"], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice: 'frobnicate'" in bad.stderr and "volume" in bad.stderr


#: what a `run --rm` imports no more (each is a millisecond or more of every run; see docs/design.md,
#: budgets): OpenSSL's set-up, the random/secrets/tempfile trio, platform, decimal, sockets, the
#: attach machinery, the credentials module
_NOT_ON_THE_RUN_PATH = ("_hashlib", "hashlib", "secrets", "random", "tempfile", "platform", "decimal", "socket",
                        "berth.runtime.attach", "berth.config.credentials")
_RUN_PATH = ("berth.cli.main", "berth.cli.containers", "berth.cli.run_options", "berth.engine",
             "berth.engine.container_ops", "berth.runtime.lifecycle", "berth.runtime.monitor", "berth.runtime.oci",
             "berth.runtime.views", "berth.runtime.foreground", "berth.runtime.rootfs", "berth.store.images",
             "berth.state", "berth.volumes", "berth.network.manager", "berth.containers.parse",
             "berth.runtime.exit_hook")


def test_the_run_path_leaves_the_slow_imports_alone():
    code = (f"import sys\nfor m in {_RUN_PATH!r}: __import__(m)\n"
            f"print(' '.join(m for m in {_NOT_ON_THE_RUN_PATH!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == []
