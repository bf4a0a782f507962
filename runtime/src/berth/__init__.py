"""berth: a daemonless container engine.

``berth.Engine(root=...)`` is the API; everything else is its parts.
Imports are lazy so that ``import berth`` costs almost nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from berth.engine import Engine


def __getattr__(name: str) -> Any:
    if name == "Engine":
        from berth.engine import Engine

        return Engine
    raise AttributeError(name)


__all__ = ["Engine", "__version__"]
