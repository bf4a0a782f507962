"""How CMD, ENTRYPOINT, ENV, EXPOSE... edit an image's ``config`` object, as Docker's dispatchers
do; shared by the builder and ``commit``/``import --change``.

The config uses Docker's spelling (``Cmd``, ``Entrypoint``, ``Env``, ``ExposedPorts``,
``Labels``, ``User``, ``WorkingDir``, ``Volumes``, ``OnBuild``, ``StopSignal``,
``Healthcheck``, ``Shell``). Instructions must be expanded first (``instr.expand(lex, env)``):
their words are taken as they are here. EXPOSE ports, STOPSIGNAL signals and empty VOLUME
or WORKDIR paths are checked here, after substitution, as Docker does. FROM, RUN, COPY, ADD,
ARG and MAINTAINER (the image's top-level ``author``) are not config edits.
"""

from __future__ import annotations

import posixpath
import re
import signal
from collections.abc import Callable
from typing import Any

from berth.build.dockerfile import instructions as ins
from berth.errors import InvalidArgument

Config = dict[str, Any]

DEFAULT_SHELL = ("/bin/sh", "-c")
EDITS_CONFIG = frozenset({"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD", "SHELL",
                          "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"})
_PORT = re.compile(r"^(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?$", re.IGNORECASE)


def apply_instruction(config: Config, instr: ins.Instruction, *, cmd_set_in_stage: bool) -> bool:
    """Edit ``config`` in place; return whether CMD has now been set in this stage (or commit).

    Docker's ENTRYPOINT drops an inherited Cmd, but not one set by a CMD earlier in the same
    stage: the caller carries that flag from one instruction to the next, False at each FROM.
    """
    edit = _EDITS.get(type(instr))
    if edit is None:
        raise TypeError(f"{instr.keyword} does not edit the image config")
    edit(config, instr)
    if isinstance(instr, ins.Entrypoint) and not cmd_set_in_stage:
        config.pop("Cmd", None)
    return cmd_set_in_stage or isinstance(instr, ins.Cmd)


def command_argv(config: Config, instr: ins.Cmd | ins.Entrypoint | ins.Run) -> list[str]:
    """The argv of a command line: the shell form runs in the config's SHELL (or ``/bin/sh -c``)."""
    if instr.shell_form:
        return [*(config.get("Shell") or DEFAULT_SHELL), *instr.command]
    return list(instr.command)


def _cmd(config: Config, instr: ins.Cmd) -> None:
    config["Cmd"] = command_argv(config, instr)


def _entrypoint(config: Config, instr: ins.Entrypoint) -> None:
    # "ENTRYPOINT []" clears it (Docker stores null)
    config["Entrypoint"] = command_argv(config, instr) or None


def _env(config: Config, instr: ins.Env) -> None:
    env: list[str] = list(config.get("Env") or [])
    for key, value in instr.pairs:
        entry = f"{key}={value}"
        for i, existing in enumerate(env):
            if existing.partition("=")[0] == key:
                env[i] = entry  # replaced in place: the order of Env stays stable
                break
        else:
            env.append(entry)
    config["Env"] = env


def _label(config: Config, instr: ins.Label) -> None:
    config["Labels"] = {**(config.get("Labels") or {}), **dict(instr.pairs)}


def _expose(config: Config, instr: ins.Expose) -> None:
    ports = dict(config.get("ExposedPorts") or {})
    for word in instr.ports:
        m = _PORT.match(word)
        if not m:
            raise InvalidArgument(f"EXPOSE: invalid port {word!r} (expected PORT[-PORT][/tcp|udp|sctp])", value=word)
        low = int(m.group(1))
        high = int(m.group(2) or low)
        proto = (m.group(3) or "tcp").lower()
        if not 0 < low <= high <= 65535:
            raise InvalidArgument(f"EXPOSE: invalid port range {word!r}", value=word)
        for port in range(low, high + 1):
            ports[f"{port}/{proto}"] = {}
    config["ExposedPorts"] = ports


def _user(config: Config, instr: ins.User) -> None:
    config["User"] = instr.user


def _workdir(config: Config, instr: ins.Workdir) -> None:
    if not instr.path:
        raise InvalidArgument("WORKDIR: the path is empty", value=instr.path)
    # a relative WORKDIR is relative to the previous one (Docker's normalizeWorkdir)
    path = posixpath.normpath(posixpath.join("/", config.get("WorkingDir") or "/", instr.path))
    config["WorkingDir"] = "/" + path.lstrip("/")  # normpath keeps a leading "//", Go's Clean does not


def _volume(config: Config, instr: ins.Volume) -> None:
    volumes = dict(config.get("Volumes") or {})
    for path in instr.paths:
        if not path.strip():
            raise InvalidArgument("VOLUME specified can not be an empty string", value=path)
        volumes[path] = {}
    config["Volumes"] = volumes


def _onbuild(config: Config, instr: ins.Onbuild) -> None:
    config["OnBuild"] = [*(config.get("OnBuild") or []), instr.expression]


def _stopsignal(config: Config, instr: ins.StopSignal) -> None:
    sig = instr.signal.strip()
    if sig.isdigit():
        ok = 0 < int(sig) < 65
    else:
        name = sig.upper()
        name = name if name.startswith("SIG") else "SIG" + name
        ok = isinstance(getattr(signal, name, None), signal.Signals)
    if not ok:
        raise InvalidArgument(f"STOPSIGNAL: invalid signal {sig!r}", value=sig)
    config["StopSignal"] = sig


def _healthcheck(config: Config, instr: ins.Healthcheck) -> None:
    health: dict[str, Any] = {"Test": list(instr.test or ())}
    # zero/absent values are left out, as Docker's JSON (omitempty) leaves them out
    for key, value in (("Interval", instr.interval), ("Timeout", instr.timeout), ("StartPeriod", instr.start_period),
                       ("StartInterval", instr.start_interval), ("Retries", instr.retries)):
        if value:
            health[key] = value
    config["Healthcheck"] = health


def _shell(config: Config, instr: ins.Shell) -> None:
    config["Shell"] = list(instr.command)


_EDITS: dict[type[ins.Instruction], Callable[[Config, Any], None]] = {
    ins.Cmd: _cmd, ins.Entrypoint: _entrypoint, ins.Env: _env, ins.Label: _label, ins.Expose: _expose,
    ins.User: _user, ins.Workdir: _workdir, ins.Volume: _volume, ins.Onbuild: _onbuild, ins.StopSignal: _stopsignal,
    ins.Healthcheck: _healthcheck, ins.Shell: _shell,
}
