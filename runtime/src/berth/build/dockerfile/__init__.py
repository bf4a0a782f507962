"""The Dockerfile parser: Dockerfiles into typed, immutable instructions grouped in stages.

``parse_dockerfile(text, filename)`` follows BuildKit's parser (directives, continuation lines,
comments, per-instruction checks and messages); ``ShellLex`` is Docker's variable substitution,
applied by each instruction's ``expand(lex, env)``; ``config_edits.apply_instruction`` makes
CMD, ENV, EXPOSE, LABEL... edit an image config, for the builder and ``commit --change``.
Heredocs (``RUN <<EOF``) are not supported: they are rejected with a clear error.
"""

from __future__ import annotations

from berth.build.dockerfile import instructions
from berth.build.dockerfile.errors import DockerfileSyntaxError
from berth.build.dockerfile.lex import ShellLex
from berth.build.dockerfile.parse import parse_instructions, parse_line
from berth.build.dockerfile.stages import Dockerfile, Stage, parse_dockerfile

__all__ = [
    "Dockerfile",
    "DockerfileSyntaxError",
    "ShellLex",
    "Stage",
    "instructions",
    "parse_dockerfile",
    "parse_instructions",
    "parse_line",
]
