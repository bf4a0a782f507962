"""A Dockerfile as Docker reads it: the ARGs before the first FROM, then one stage per FROM."""

from __future__ import annotations

from berth.build.dockerfile import instructions as ins
from berth.build.dockerfile.errors import DockerfileSyntaxError
from berth.build.dockerfile.lines import split_lines
from berth.build.dockerfile.parse import parse_line
from berth.errors import InvalidArgument
from berth.structs import dataclass


@dataclass(frozen=True)
class Stage:
    index: int
    name: str | None  # the lower-cased AS name
    from_: ins.From
    instructions: tuple[ins.Instruction, ...]  # everything after its FROM


@dataclass(frozen=True)
class Dockerfile:
    filename: str
    escape: str  # "\\", or "`" with the "# escape=`" directive
    meta_args: tuple[ins.Arg, ...]  # the ARGs before the first FROM (they may only be used in FROM lines)
    stages: tuple[Stage, ...]
    syntax: str | None = None  # the "# syntax=" directive, recorded but not acted upon
    warnings: tuple[str, ...] = ()  # what Docker warns about (empty continuation lines)

    def stage(self, name_or_index: str) -> Stage:
        """A stage by its AS name (case-insensitive) or by its decimal index (``COPY --from=0``)."""
        key = str(name_or_index).lower()
        for stage in self.stages:
            if stage.name == key:
                return stage
        if key.isascii() and key.isdigit() and int(key) < len(self.stages):
            return self.stages[int(key)]
        raise InvalidArgument(f'target stage "{name_or_index}" could not be found', target=str(name_or_index))


def parse_dockerfile(text: str, filename: str = "Dockerfile") -> Dockerfile:
    source = split_lines(text, filename)
    meta_args: list[ins.Arg] = []
    stages: list[tuple[ins.From, list[ins.Instruction]]] = []
    for logical in source.lines:
        instr = parse_line(logical.text, line=logical.line, filename=filename, escape=source.escape)
        if isinstance(instr, ins.From):
            stages.append((instr, []))
        elif stages:
            stages[-1][1].append(instr)
        elif isinstance(instr, ins.Arg):
            meta_args.append(instr)
        else:
            raise DockerfileSyntaxError(f"no FROM before {instr.keyword}: a Dockerfile must start with FROM "
                                        "(only ARG may come before it)", file=filename, line=instr.line)
    if not stages:
        raise DockerfileSyntaxError("no FROM instruction: a Dockerfile needs at least one stage", file=filename)
    seen: set[str] = set()
    for from_, _ in stages:
        if from_.stage_name in seen:
            raise DockerfileSyntaxError(f'duplicate stage name "{from_.stage_name}"', file=filename, line=from_.line)
        if from_.stage_name:
            seen.add(from_.stage_name)
    return Dockerfile(
        filename=filename,
        escape=source.escape,
        meta_args=tuple(meta_args),
        stages=tuple(Stage(index=i, name=from_.stage_name, from_=from_, instructions=tuple(body))
                     for i, (from_, body) in enumerate(stages)),
        syntax=source.directive("syntax"),
        warnings=source.warnings,
    )
