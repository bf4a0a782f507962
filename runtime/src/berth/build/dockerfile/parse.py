"""One logical line into one instruction (``parse_line``), a fragment into several
(``parse_instructions``, for ``commit --change`` and ONBUILD triggers).

The checks and messages are BuildKit's (``frontend/dockerfile/instructions/parse.go``), except
where this parser refuses what it does not implement instead of ignoring it: ``RUN --mount``,
``--network`` and ``--security``, ``COPY/ADD --link`` and friends, and heredocs (``RUN
<<EOF``), which are rejected with a clear error.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from berth.build.dockerfile import instructions as ins
from berth.build.dockerfile.durations import parse_duration_ns
from berth.build.dockerfile.errors import DockerfileSyntaxError
from berth.build.dockerfile.flags import extract_flags, parse_flags
from berth.build.dockerfile.lines import split_lines
from berth.build.dockerfile.words import (
    has_heredoc,
    json_or_blanks,
    maybe_json,
    name_values,
    parse_words,
    split_blanks,
    split_keyword,
)
from berth.structs import dataclass

_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_.]*$")
# berth's own rule (Docker takes any name, even ones no $reference could reach)
_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_ONBUILD_PREFIX = re.compile(r"(?i)^\s*ONBUILD\s*")
_MIN_HEALTH_DURATION_NS = 1_000_000  # Docker's container.MinimumDuration: 1ms


@dataclass(frozen=True)
class _Request:
    keyword: str  # upper case
    flags: list[str]
    rest: str  # the arguments, flags removed, stripped
    original: str
    line: int
    escape: str
    filename: str

    def flag_values(self, accepted: tuple[str, ...] = (), unsupported: tuple[str, ...] = ()) -> dict[str, str]:
        return parse_flags(self.keyword, self.flags, accepted=accepted, unsupported=unsupported)

    def require(self) -> str:
        if not self.rest:
            raise DockerfileSyntaxError(f"{self.keyword} requires at least one argument")
        return self.rest


def parse_instructions(text: str, filename: str = "Dockerfile") -> tuple[ins.Instruction, ...]:
    """Every instruction of ``text``, in order, with no structure (no FROM needed)."""
    source = split_lines(text, filename)
    return tuple(parse_line(logical.text, line=logical.line, filename=filename, escape=source.escape)
                 for logical in source.lines)


def parse_line(text: str, *, line: int, filename: str = "Dockerfile", escape: str = "\\") -> ins.Instruction:
    """The instruction of one logical line; errors say ``filename:line``."""
    written, after = split_keyword(text)
    keyword = written.upper()
    try:
        parser = _PARSERS.get(keyword)
        if parser is None:
            raise DockerfileSyntaxError(_unknown(keyword), instruction=written)
        flags, rest = extract_flags(after)
        return parser(_Request(keyword, flags, rest, text.strip(), line, escape, filename))
    except DockerfileSyntaxError as err:
        raise err.located(file=filename, line=line) from None


def _unknown(keyword: str) -> str:
    import difflib  # only on this error path: commit/import --change load this module

    close = difflib.get_close_matches(keyword, list(_PARSERS), n=1, cutoff=0.75)
    return f"unknown instruction: {keyword}" + (f" (did you mean {close[0]}?)" if close else "")


def _from(r: _Request) -> ins.From:
    flags = r.flag_values(accepted=("platform",))
    args = split_blanks(r.rest)
    name = None
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not _STAGE_NAME.match(name):
            raise DockerfileSyntaxError(f'invalid name for build stage: "{args[2]}", name can\'t start with a '
                                        "number or contain symbols")
    elif len(args) != 1:
        raise DockerfileSyntaxError("FROM requires either one or three arguments")
    return ins.From(image=args[0], stage_name=name, platform=flags.get("platform") or None, line=r.line,
                    original=r.original)


def _command_line(r: _Request, *, empty_ok: bool) -> tuple[tuple[str, ...], bool]:
    """RUN, CMD, ENTRYPOINT: (argv of the JSON array, False) or ((the text,), True)."""
    argv = maybe_json(r.rest)
    if argv is None:
        return (r.require(),), True
    if not argv and not empty_ok:
        raise DockerfileSyntaxError(f"{r.keyword} requires at least one argument")
    return tuple(argv), False


def _run(r: _Request) -> ins.Run:
    r.flag_values(unsupported=("mount", "network", "security"))
    command, shell_form = _command_line(r, empty_ok=False)
    if shell_form and has_heredoc(parse_words(r.rest, r.escape)):
        raise DockerfileSyntaxError("RUN: heredocs (<<EOF) are not supported")
    return ins.Run(command=command, shell_form=shell_form, line=r.line, original=r.original)


def _cmd(r: _Request) -> ins.Cmd:
    r.flag_values()
    command, shell_form = _command_line(r, empty_ok=True)
    return ins.Cmd(command=command, shell_form=shell_form, line=r.line, original=r.original)


def _entrypoint(r: _Request) -> ins.Entrypoint:
    r.flag_values()
    command, shell_form = _command_line(r, empty_ok=True)
    return ins.Entrypoint(command=command, shell_form=shell_form, line=r.line, original=r.original)


def _sources_and_dest(r: _Request) -> tuple[tuple[str, ...], str]:
    args, from_json = json_or_blanks(r.rest)
    if len(args) < 2:
        raise DockerfileSyntaxError(f"{r.keyword} requires at least two arguments: one or more sources and "
                                    "a destination")
    if not from_json and has_heredoc(args):
        raise DockerfileSyntaxError(f"{r.keyword}: heredocs (<<EOF) are not supported")
    return tuple(args[:-1]), args[-1]


def _copy(r: _Request) -> ins.Copy:
    flags = r.flag_values(accepted=("from", "chown", "chmod"), unsupported=("link", "parents", "exclude"))
    sources, dest = _sources_and_dest(r)
    return ins.Copy(sources=sources, dest=dest, from_=flags.get("from") or None, chown=flags.get("chown") or None,
                    chmod=flags.get("chmod") or None, line=r.line, original=r.original)


def _add(r: _Request) -> ins.Add:
    flags = r.flag_values(accepted=("chown", "chmod", "checksum"),
                          unsupported=("link", "keep-git-dir", "exclude"))
    sources, dest = _sources_and_dest(r)
    return ins.Add(sources=sources, dest=dest, chown=flags.get("chown") or None, chmod=flags.get("chmod") or None,
                   checksum=flags.get("checksum") or None, line=r.line, original=r.original)


def _one_argument(r: _Request) -> str:
    """WORKDIR, USER, MAINTAINER, STOPSIGNAL: the whole rest is the one argument."""
    r.flag_values()
    if not r.rest:
        raise DockerfileSyntaxError(f"{r.keyword} requires exactly one argument")
    return r.rest


def _workdir(r: _Request) -> ins.Workdir:
    return ins.Workdir(path=_one_argument(r), line=r.line, original=r.original)


def _user(r: _Request) -> ins.User:
    return ins.User(user=_one_argument(r), line=r.line, original=r.original)


def _maintainer(r: _Request) -> ins.Maintainer:
    return ins.Maintainer(name=_one_argument(r), line=r.line, original=r.original)


def _stopsignal(r: _Request) -> ins.StopSignal:
    return ins.StopSignal(signal=_one_argument(r), line=r.line, original=r.original)


def _env(r: _Request) -> ins.Env:
    r.flag_values()
    return ins.Env(pairs=tuple(name_values("ENV", r.rest, r.escape)), line=r.line, original=r.original)


def _label(r: _Request) -> ins.Label:
    r.flag_values()
    return ins.Label(pairs=tuple(name_values("LABEL", r.rest, r.escape)), line=r.line, original=r.original)


def _arg(r: _Request) -> ins.Arg:
    r.flag_values()
    words = parse_words(r.require(), r.escape)
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, eq, value = word.partition("=")
        if not name:
            raise DockerfileSyntaxError("ARG names can not be blank")
        if not _ARG_NAME.match(name):
            raise DockerfileSyntaxError(f'ARG: invalid name "{name}" (a letter or _, then letters, digits, _ . -)',
                                        name=name)
        pairs.append((name, value if eq else None))
    return ins.Arg(pairs=tuple(pairs), line=r.line, original=r.original)


def _expose(r: _Request) -> ins.Expose:
    r.flag_values()
    return ins.Expose(ports=tuple(split_blanks(r.require())), line=r.line, original=r.original)


def _volume(r: _Request) -> ins.Volume:
    r.flag_values()
    args, _ = json_or_blanks(r.rest)
    if not args:
        raise DockerfileSyntaxError("VOLUME requires at least one argument")
    paths = tuple(arg.strip() for arg in args)
    if not all(paths):
        raise DockerfileSyntaxError("VOLUME specified can not be an empty string")
    return ins.Volume(paths=paths, line=r.line, original=r.original)


def _shell(r: _Request) -> ins.Shell:
    r.flag_values()
    argv = maybe_json(r.require())
    if argv is None:
        raise DockerfileSyntaxError("SHELL requires the arguments to be in JSON form")
    if not argv:
        raise DockerfileSyntaxError("SHELL requires at least one argument")
    return ins.Shell(command=tuple(argv), line=r.line, original=r.original)


def _healthcheck(r: _Request) -> ins.Healthcheck:
    written, rest = split_keyword(r.require())
    kind = written.upper()
    if kind == "NONE":
        if rest or r.flags:
            raise DockerfileSyntaxError("HEALTHCHECK NONE takes no arguments")
        return ins.Healthcheck(test=("NONE",), line=r.line, original=r.original)
    names = ("interval", "timeout", "start-period", "start-interval", "retries")
    flags = r.flag_values(accepted=names)
    if kind != "CMD":
        raise DockerfileSyntaxError(f'HEALTHCHECK: unknown type "{kind}" (expected NONE or [OPTIONS] CMD command)')
    argv = maybe_json(rest)
    if (argv is None and not rest) or argv == []:
        raise DockerfileSyntaxError("Missing command after HEALTHCHECK CMD")
    test = ("CMD", *argv) if argv is not None else ("CMD-SHELL", rest)
    return ins.Healthcheck(
        test=test, interval=_health_duration("interval", flags), timeout=_health_duration("timeout", flags),
        start_period=_health_duration("start-period", flags), start_interval=_health_duration("start-interval", flags),
        retries=_retries(flags.get("retries")), line=r.line, original=r.original)


def _health_duration(flag: str, flags: dict[str, str]) -> int | None:
    text = flags.get(flag, "")
    if not text:
        return None
    try:
        ns = parse_duration_ns(text)
    except ValueError:
        raise DockerfileSyntaxError(f'HEALTHCHECK --{flag}: invalid duration "{text}"') from None
    if 0 < ns < _MIN_HEALTH_DURATION_NS or ns < 0:
        raise DockerfileSyntaxError(f"HEALTHCHECK --{flag} cannot be less than 1ms")
    return ns or None


def _retries(text: str | None) -> int | None:
    if not text:
        return None
    if not text.lstrip("-").isdigit():
        raise DockerfileSyntaxError(f'HEALTHCHECK --retries: invalid number "{text}"')
    if int(text) < 0:
        raise DockerfileSyntaxError(f"HEALTHCHECK --retries cannot be negative ({text})")
    return int(text) or None


def _onbuild(r: _Request) -> ins.Onbuild:
    r.flag_values()
    trigger = split_keyword(r.require())[0].upper()
    if trigger == "ONBUILD":
        raise DockerfileSyntaxError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("FROM", "MAINTAINER"):
        raise DockerfileSyntaxError(f"{trigger} isn't allowed as an ONBUILD trigger")
    expression = _ONBUILD_PREFIX.sub("", r.original, count=1)
    parse_line(expression, line=r.line, filename=r.filename, escape=r.escape)  # the trigger must parse
    return ins.Onbuild(expression=expression, line=r.line, original=r.original)


_PARSERS: dict[str, Callable[[_Request], ins.Instruction]] = {
    "FROM": _from, "RUN": _run, "CMD": _cmd, "ENTRYPOINT": _entrypoint, "COPY": _copy, "ADD": _add,
    "WORKDIR": _workdir, "USER": _user, "MAINTAINER": _maintainer, "STOPSIGNAL": _stopsignal, "ENV": _env,
    "LABEL": _label, "ARG": _arg, "EXPOSE": _expose, "VOLUME": _volume, "SHELL": _shell,
    "HEALTHCHECK": _healthcheck, "ONBUILD": _onbuild,
}
