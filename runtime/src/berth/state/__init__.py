"""Crash-safe container records: ``<root>/containers/<id>/{config,state}.json`` and the names index."""

from __future__ import annotations

from berth.state.records import ContainerState, now_rfc3339
from berth.state.store import ContainerStore

__all__ = ["ContainerState", "ContainerStore", "now_rfc3339"]
