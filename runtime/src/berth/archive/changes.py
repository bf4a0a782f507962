"""``--change`` instructions of ``import`` and ``commit``: a Dockerfile subset.

As in Docker, the changes are joined with newlines and read as a Dockerfile fragment by the
Dockerfile parser (``escape`` continues a line, ``#`` lines are comments), and each
instruction edits the image's ``config`` as the builder's would
(:mod:`berth.build.dockerfile.config_edits`). Quotes and escapes are processed, but variable
substitution (``$VAR``) is not performed: references are kept as written. Unlike Docker,
each line of a change is stripped before lines are joined, so a continuation's indentation
does not end up in the command (berth always did so).
"""

from __future__ import annotations

import json
from typing import Any

from berth.build.dockerfile.config_edits import apply_instruction
from berth.build.dockerfile.errors import DockerfileSyntaxError
from berth.build.dockerfile.lex import ShellLex
from berth.build.dockerfile.lines import split_lines
from berth.build.dockerfile.parse import parse_line
from berth.build.dockerfile.words import split_keyword
from berth.errors import InvalidArgument

ALLOWED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD", "STOPSIGNAL", "USER",
           "VOLUME", "WORKDIR")

Config = dict[str, Any]
_SOURCE = "--change"


def apply_changes(changes: list[str], config: Config | None = None) -> Config:
    """Return a copy of ``config`` with every instruction of ``changes`` applied."""
    cfg: Config = json.loads(json.dumps(config or {}))
    text = "\n".join(line.strip() for line in "\n".join(changes).split("\n"))
    source = split_lines(text, _SOURCE)
    lex = ShellLex(source.escape, skip_unset=True)  # unquotes, keeps every $reference (the env is empty)
    cmd_set = False
    for logical in source.lines:
        keyword = split_keyword(logical.text)[0]
        if keyword.upper() not in ALLOWED:
            raise InvalidArgument(
                f"{keyword} is not a valid change command (allowed: {', '.join(ALLOWED)})",
                change=logical.text,
            )
        try:
            instr = parse_line(logical.text, line=logical.line, filename=_SOURCE, escape=source.escape)
            cmd_set = apply_instruction(cfg, instr.expand(lex, {}), cmd_set_in_stage=cmd_set)
        except DockerfileSyntaxError as err:
            raise InvalidArgument(f"invalid change {logical.text!r}: {err.reason}", change=logical.text) from None
    return cfg
