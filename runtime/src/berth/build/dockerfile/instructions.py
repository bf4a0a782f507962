"""Dockerfile instructions as typed values.

Every instruction has ``line`` (1-based line where it starts), ``original`` (the instruction
as written, continuation lines joined: what Docker prints in ``Step N/M : ...``) and the class
attribute ``keyword``.

Fields hold the text as written (quotes and escapes included) wherever Docker substitutes
variables: ADD, ARG (names and defaults), COPY, ENV, EXPOSE, FROM (image and platform), LABEL,
STOPSIGNAL, USER, VOLUME, WORKDIR. Their ``expand(lex, env)`` returns a copy with the words
processed by :class:`ShellLex` (variables substituted, quotes removed); the others (RUN, CMD,
ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER) are left to the shell at run time, or
are taken as written, so their ``expand`` returns ``self``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, ClassVar, Self

from berth import structs
from berth.build.dockerfile.errors import DockerfileSyntaxError
from berth.structs import dataclass

if TYPE_CHECKING:
    from berth.build.dockerfile.lex import ShellLex

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True, kw_only=True)
class Instruction:
    keyword: ClassVar[str] = ""
    line: int
    original: str

    def expand(self, lex: ShellLex, env: Mapping[str, str]) -> Self:
        return self

    def _word(self, lex: ShellLex, env: Mapping[str, str]) -> Callable[[str], str]:
        """``lex.process_word`` whose errors carry this instruction's line."""
        def one(word: str) -> str:
            try:
                return lex.process_word(word, env)
            except DockerfileSyntaxError as err:
                raise err.located(line=self.line) from None
        return one

    def _optional(self, lex: ShellLex, env: Mapping[str, str], word: str | None) -> str | None:
        return None if word is None else self._word(lex, env)(word)


@dataclass(frozen=True, kw_only=True)
class From(Instruction):
    keyword: ClassVar[str] = "FROM"
    image: str
    stage_name: str | None  # lower-cased, as Docker compares stage names
    platform: str | None

    def expand(self, lex: ShellLex, env: Mapping[str, str]) -> Self:
        # the stage name is not expanded (Docker neither)
        return structs.replace(self, image=self._word(lex, env)(self.image),
                                   platform=self._optional(lex, env, self.platform))


@dataclass(frozen=True, kw_only=True)
class _CommandLine(Instruction):
    """Shell form: one element, the text as written (the builder prepends the SHELL).
    Exec form (JSON array): the argv."""

    command: tuple[str, ...]
    shell_form: bool


@dataclass(frozen=True, kw_only=True)
class Run(_CommandLine):
    keyword: ClassVar[str] = "RUN"


@dataclass(frozen=True, kw_only=True)
class Cmd(_CommandLine):
    keyword: ClassVar[str] = "CMD"


@dataclass(frozen=True, kw_only=True)
class Entrypoint(_CommandLine):
    keyword: ClassVar[str] = "ENTRYPOINT"


@dataclass(frozen=True, kw_only=True)
class Copy(Instruction):
    keyword: ClassVar[str] = "COPY"
    sources: tuple[str, ...]
    dest: str
    from_: str | None
    chown: str | None
    chmod: str | None

    def expand(self, lex: ShellLex, env: Mapping[str, str]) -> Self:
        word = self._word(lex, env)
        return structs.replace(
            self, sources=tuple(map(word, self.sources)), dest=word(self.dest),
            from_=self._optional(lex, env, self.from_), chown=self._optional(lex, env, self.chown),
            chmod=self._optional(lex, env, self.chmod))


@dataclass(frozen=True, kw_only=True)
class Add(Instruction):
    keyword: ClassVar[str] = "ADD"
    sources: tuple[str, ...]
    dest: str
    chown: str | None
    chmod: str | None
    checksum: str | None

    def expand(self, lex: ShellLex, env: Mapping[str, str]) -> Self:
        word = self._word(lex, env)
        return structs.replace(
            self, sources=tuple(map(word, self.sources)), dest=word(self.dest),
            chown=self._optional(lex, env, self.chown), chmod=self._optional(lex, env, self.chmod),
            checksum=self._optional(lex, env, self.checksum))


@dataclass(frozen=True, kw_only=True)
class Workdir(Instruction):
    keyword: ClassVar[str] = "WORKDIR"
    path: str

    def expand(self, lex: ShellLex, env: Mapping[str, str]) -> Self:
        return structs.replace(self, path=self._word(lex, env)(self.path))


@dataclass(frozen=True, kw_only=True)
class _KeyValues(Instruction):
    pairs: Pairs

    def expand(self, lex: ShellLex, env: Mapping[str, str]) -> Self:
        # Every pair is expanded with the environment from *before* the instruction, as Docker
        # does (its documentation: after "ENV abc=hello", "ENV abc=bye def=$abc" sets def to
        # "hello"; the expander of one instruction gets one env, see BuildKit's dispatch()).
        word = self._word(lex, env)
        return structs.replace(self, pairs=tuple((word(k), word(v)) for k, v in self.pairs))


@dataclass(frozen=True, kw_only=True)
class Env(_KeyValues):
    keyword: ClassVar[str] = "ENV"


@dataclass(frozen=True, kw_only=True)
class Label(_KeyValues):
    keyword: ClassVar[str] = "LABEL"


@dataclass(frozen=True, kw_only=True)
class Arg(Instruction):
    keyword: ClassVar[str] = "ARG"
    pairs: tuple[tuple[str, str | None], ...]  # (name, default or None)

    def expand(self, lex: ShellLex, env: Mapping[str, str]) -> Self:
        word = self._word(lex, env)
        return structs.replace(self, pairs=tuple((word(k), None if v is None else word(v))
                                                     for k, v in self.pairs))


@dataclass(frozen=True, kw_only=True)
class Expose(Instruction):
    keyword: ClassVar[str] = "EXPOSE"
    ports: tuple[str, ...]

    def expand(self, lex: ShellLex, env: Mapping[str, str]) -> Self:
        # EXPOSE splits after substitution ("EXPOSE $PORTS" with PORTS="80 443" is two ports),
        # as BuildKit's dispatchExpose does with ProcessWords
        ports: list[str] = []
        for port in self.ports:
            try:
                ports.extend(lex.process_words(port, env))
            except DockerfileSyntaxError as err:
                raise err.located(line=self.line) from None
        return structs.replace(self, ports=tuple(ports))


@dataclass(frozen=True, kw_only=True)
class User(Instruction):
    keyword: ClassVar[str] = "USER"
    user: str

    def expand(self, lex: ShellLex, env: Mapping[str, str]) -> Self:
        return structs.replace(self, user=self._word(lex, env)(self.user))


@dataclass(frozen=True, kw_only=True)
class Volume(Instruction):
    keyword: ClassVar[str] = "VOLUME"
    paths: tuple[str, ...]

    def expand(self, lex: ShellLex, env: Mapping[str, str]) -> Self:
        return structs.replace(self, paths=tuple(map(self._word(lex, env), self.paths)))


@dataclass(frozen=True, kw_only=True)
class Maintainer(Instruction):
    keyword: ClassVar[str] = "MAINTAINER"
    name: str


@dataclass(frozen=True, kw_only=True)
class StopSignal(Instruction):
    keyword: ClassVar[str] = "STOPSIGNAL"
    signal: str

    def expand(self, lex: ShellLex, env: Mapping[str, str]) -> Self:
        return structs.replace(self, signal=self._word(lex, env)(self.signal))


@dataclass(frozen=True, kw_only=True)
class Healthcheck(Instruction):
    """``test``: ``("NONE",)``, ``("CMD", argv...)`` or ``("CMD-SHELL", text)``; durations in
    nanoseconds, None when not given (Docker's zero: the default applies)."""

    keyword: ClassVar[str] = "HEALTHCHECK"
    test: tuple[str, ...] | None
    interval: int | None = None
    timeout: int | None = None
    start_period: int | None = None
    start_interval: int | None = None
    retries: int | None = None


@dataclass(frozen=True, kw_only=True)
class Shell(Instruction):
    keyword: ClassVar[str] = "SHELL"
    command: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Onbuild(Instruction):
    keyword: ClassVar[str] = "ONBUILD"
    expression: str  # the trigger as written ("RUN echo hi"), run when a child image is built


KEYWORDS: dict[str, type[Instruction]] = {
    cls.keyword: cls
    for cls in (From, Run, Cmd, Entrypoint, Copy, Add, Workdir, Env, Label, Arg, Expose, User, Volume,
                Maintainer, StopSignal, Healthcheck, Shell, Onbuild)
}
