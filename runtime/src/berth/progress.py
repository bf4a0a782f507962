"""Progress events: the engine reports, the CLI (or nothing) renders.

An event is ``Progress(id, status, current, total)``, e.g.
``Progress("a3ed95caeb02", "Downloading", 1048576, 3145728)``.
"""

from __future__ import annotations

from collections.abc import Callable

from berth.structs import dataclass


@dataclass(frozen=True)
class Progress:
    id: str
    status: str
    current: int = 0
    total: int = 0


ProgressFn = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    return None
