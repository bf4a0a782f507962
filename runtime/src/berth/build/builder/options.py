"""What ``berth build`` was asked to do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from berth.structs import dataclass

#: receives the build's output as text: step headers, RUN output, results (the CLI writes it out)
Output = Callable[[str], None]


def no_output(_text: str) -> None:
    return None


@dataclass(frozen=True)
class BuildOptions:
    context: Path
    dockerfile: str = "Dockerfile"  # relative to the context, or absolute (``-f``)
    tags: tuple[str, ...] = ()
    build_args: tuple[tuple[str, str | None], ...] = ()  # ``--build-arg K=V``; ``K`` alone: from the env
    target: str | None = None
    no_cache: bool = False
    pull: bool = False
    labels: tuple[tuple[str, str], ...] = ()
    network: str = "bridge"  # where RUN steps run (``--network``)
    quiet: bool = False
