"""The facade: ``Engine(root=...)``, one method per operation."""

from __future__ import annotations

from berth.engine.engine import Engine

__all__ = ["Engine"]
