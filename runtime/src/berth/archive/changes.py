"""``--change`` instructions of ``import`` (and later ``commit``): a Dockerfile subset.

As in Docker, the changes are joined with newlines and read as a Dockerfile
fragment (backslash continues a line, ``#`` lines are comments); each
instruction edits the image's ``config`` object, whose keys use Docker's
spelling (``Cmd``, ``Entrypoint``, ``Env``, ``ExposedPorts``...). Variable
substitution (``$VAR``) is not performed.
"""

from __future__ import annotations

import json
import posixpath
import re
import signal
from collections.abc import Callable
from typing import Any

from berth.errors import InvalidArgument

ALLOWED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD", "STOPSIGNAL", "USER",
           "VOLUME", "WORKDIR")

Config = dict[str, Any]


def apply_changes(changes: list[str], config: Config | None = None) -> Config:
    """Return a copy of ``config`` with every instruction of ``changes`` applied."""
    cfg: Config = json.loads(json.dumps(config or {}))
    state = {"cmd_set": False}
    for line in _logical_lines("\n".join(changes)):
        m = re.match(r"(\S+)\s*(.*)", line, re.DOTALL)
        assert m is not None
        keyword, rest = m.group(1), m.group(2).strip()
        instr = keyword.upper()
        handler = _HANDLERS.get(instr)
        if handler is None:
            raise InvalidArgument(
                f"{keyword} is not a valid change command (allowed: {', '.join(ALLOWED)})",
                change=line,
            )
        if not rest:
            raise InvalidArgument(f"{instr} requires at least one argument", change=line)
        handler(cfg, rest, state)
    return cfg


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1]
            continue
        pending += stripped
        if pending.strip():
            lines.append(pending.strip())
        pending = ""
    if pending.strip():
        lines.append(pending.strip())
    return lines


# -- word handling -------------------------------------------------------------
def _scan(text: str, *, split: bool) -> list[str]:
    """Dockerfile word processing: quotes removed, backslash escapes; split on blanks if ``split``."""
    words: list[str] = []
    cur: list[str] = []
    in_word = False
    quote = ""
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = ""
            elif c == "\\" and quote == '"' and i + 1 < len(text) and text[i + 1] in '"\\$':
                i += 1
                cur.append(text[i])
            else:
                cur.append(c)
        elif split and c.isspace():
            if in_word:
                words.append("".join(cur))
                cur, in_word = [], False
        elif c in "'\"":
            quote, in_word = c, True
        elif c == "\\" and i + 1 < len(text):
            i += 1
            cur.append(text[i])
            in_word = True
        else:
            cur.append(c)
            in_word = True
        i += 1
    if quote:
        raise InvalidArgument(f"unterminated quote in {text!r}", value=text)
    if in_word:
        words.append("".join(cur))
    return words


def _name_values(instr: str, rest: str) -> list[tuple[str, str]]:
    """``k=v k2="v 2"`` pairs, or the legacy ``key value with spaces`` form."""
    first = rest.split(None, 1)
    if "=" not in first[0]:
        if len(first) < 2:
            raise InvalidArgument(f"{instr} {rest}: expected {instr} key=value (or {instr} key value)", value=rest)
        key = "".join(_scan(first[0], split=False))
        value = "".join(_scan(first[1], split=False))
        return [(key, value)]
    pairs = []
    for word in _scan(rest, split=True):
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"{instr} {rest}: {word!r} is not of the form key=value", value=rest)
        pairs.append((key, value))
    return pairs


def _exec_or_shell(rest: str) -> list[str] | None:
    """The JSON exec form's argv, or None for the shell form."""
    if not rest.lstrip().startswith("["):
        return None
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return value
    return None


def _command(rest: str) -> list[str]:
    argv = _exec_or_shell(rest)
    return argv if argv is not None else ["/bin/sh", "-c", rest]


# -- instructions ----------------------------------------------------------------
def _cmd(cfg: Config, rest: str, state: dict[str, bool]) -> None:
    cfg["Cmd"] = _command(rest)
    state["cmd_set"] = True


def _entrypoint(cfg: Config, rest: str, state: dict[str, bool]) -> None:
    cfg["Entrypoint"] = _command(rest)
    if not state["cmd_set"]:
        cfg.pop("Cmd", None)  # Docker: a new ENTRYPOINT resets an inherited CMD


def _env(cfg: Config, rest: str, state: dict[str, bool]) -> None:
    env: list[str] = list(cfg.get("Env") or [])
    for key, value in _name_values("ENV", rest):
        entry = f"{key}={value}"
        for i, existing in enumerate(env):
            if existing.partition("=")[0] == key:
                env[i] = entry
                break
        else:
            env.append(entry)
    cfg["Env"] = env


def _label(cfg: Config, rest: str, state: dict[str, bool]) -> None:
    labels = dict(cfg.get("Labels") or {})
    for key, value in _name_values("LABEL", rest):
        labels[key] = value
    cfg["Labels"] = labels


_PORT = re.compile(r"^(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?$", re.IGNORECASE)


def _expose(cfg: Config, rest: str, state: dict[str, bool]) -> None:
    ports = dict(cfg.get("ExposedPorts") or {})
    for word in _scan(rest, split=True):
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
    cfg["ExposedPorts"] = ports


def _user(cfg: Config, rest: str, state: dict[str, bool]) -> None:
    cfg["User"] = "".join(_scan(rest, split=False))


def _workdir(cfg: Config, rest: str, state: dict[str, bool]) -> None:
    path = "".join(_scan(rest, split=False))
    current = cfg.get("WorkingDir") or "/"
    cfg["WorkingDir"] = posixpath.normpath(posixpath.join(current, path))


def _volume(cfg: Config, rest: str, state: dict[str, bool]) -> None:
    argv = _exec_or_shell(rest)
    paths = argv if argv is not None else _scan(rest, split=True)
    volumes = dict(cfg.get("Volumes") or {})
    for p in paths:
        if not p.strip():
            raise InvalidArgument("VOLUME specified can not be an empty string", value=rest)
        volumes[p] = {}
    cfg["Volumes"] = volumes


def _onbuild(cfg: Config, rest: str, state: dict[str, bool]) -> None:
    trigger = rest.split(None, 1)[0].upper()
    if trigger == "ONBUILD":
        raise InvalidArgument("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", value=rest)
    if trigger in ("FROM", "MAINTAINER"):
        raise InvalidArgument(f"{trigger} isn't allowed as an ONBUILD trigger", value=rest)
    cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), rest]


def _stopsignal(cfg: Config, rest: str, state: dict[str, bool]) -> None:
    sig = "".join(_scan(rest, split=False)).strip()
    if sig.isdigit():
        ok = 0 < int(sig) < 65
    else:
        name = sig.upper()
        name = name if name.startswith("SIG") else "SIG" + name
        ok = isinstance(getattr(signal, name, None), signal.Signals)
    if not ok:
        raise InvalidArgument(f"STOPSIGNAL: invalid signal {sig!r}", value=sig)
    cfg["StopSignal"] = sig


_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
            "h": 3_600_000_000_000}


def _duration_ns(flag: str, text: str) -> int:
    """Go's ``time.ParseDuration`` (``1m30s``, ``500ms``), in nanoseconds."""
    if text == "0":
        return 0
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_NS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise InvalidArgument(f"HEALTHCHECK --{flag}: invalid duration {text!r}", value=text)
    return int(total)


def _healthcheck(cfg: Config, rest: str, state: dict[str, bool]) -> None:
    if rest.strip().upper() == "NONE":
        cfg["Healthcheck"] = {"Test": ["NONE"]}
        return
    hc: dict[str, Any] = {}
    words = rest.split(None, 1)
    while words and words[0].startswith("--"):
        flag, _, value = words[0][2:].partition("=")
        keys = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod",
                "start-interval": "StartInterval"}
        if flag in keys:
            hc[keys[flag]] = _duration_ns(flag, value)
        elif flag == "retries":
            if not value.isdigit():
                raise InvalidArgument(f"HEALTHCHECK --retries: invalid number {value!r}", value=value)
            hc["Retries"] = int(value)
        else:
            raise InvalidArgument(f"HEALTHCHECK: unknown flag --{flag}", value=rest)
        words = words[1].split(None, 1) if len(words) > 1 else []
    if not words or words[0].upper() != "CMD" or len(words) < 2:
        raise InvalidArgument("HEALTHCHECK: expected NONE or [OPTIONS] CMD command", value=rest)
    argv = _exec_or_shell(words[1])
    test = ["CMD", *argv] if argv is not None else ["CMD-SHELL", words[1]]
    cfg["Healthcheck"] = {"Test": test, **hc}


_HANDLERS: dict[str, Callable[[Config, str, dict[str, bool]], None]] = {
    "CMD": _cmd,
    "ENTRYPOINT": _entrypoint,
    "ENV": _env,
    "EXPOSE": _expose,
    "HEALTHCHECK": _healthcheck,
    "LABEL": _label,
    "ONBUILD": _onbuild,
    "STOPSIGNAL": _stopsignal,
    "USER": _user,
    "VOLUME": _volume,
    "WORKDIR": _workdir,
}
