"""Typed value objects: image references, digests, platforms."""

from __future__ import annotations

from berth.reference.digest import Digest
from berth.reference.name import Reference, familiar_key
from berth.reference.platform import Platform

__all__ = ["Digest", "Platform", "Reference", "familiar_key"]
