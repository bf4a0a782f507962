"""The builder: a parsed Dockerfile and a build context into images (see ``build.py``)."""

from __future__ import annotations

from berth.build.builder.build import BuildError, build
from berth.build.builder.options import BuildOptions, Output, no_output
from berth.build.builder.run import BuildStepFailed

__all__ = ["BuildError", "BuildOptions", "BuildStepFailed", "Output", "build", "no_output"]
