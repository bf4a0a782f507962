"""``volume ls --filter``: Docker's dangling, label, name and driver filters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from berth.errors import InvalidArgument

_KEYS = ("dangling", "label", "name", "driver")


def normalize(filters: Mapping[str, str | Sequence[str]] | None) -> dict[str, list[str]]:
    """Accept ``{"label": "a=b"}`` or Docker's ``{"label": ["a=b", "c"]}``."""
    out: dict[str, list[str]] = {}
    for key, values in (filters or {}).items():
        if key not in _KEYS:
            raise InvalidArgument(f"invalid filter '{key}' (volume filters: {', '.join(_KEYS)})", filter=key)
        vals = [values] if isinstance(values, str | bool) else list(values)
        out[key] = [str(v).lower() if isinstance(v, bool) else str(v) for v in vals]
    for value in out.get("dangling", []):
        if value.lower() not in ("true", "false", "1", "0"):
            raise InvalidArgument(f"invalid filter 'dangling={value}' (use true or false)", filter="dangling")
    return out


def matches(info: Mapping[str, Any], in_use: bool, filters: Mapping[str, list[str]]) -> bool:
    # Docker: values of one key are alternatives, except label, where all must match.
    if "dangling" in filters and not any((v.lower() in ("true", "1")) != in_use for v in filters["dangling"]):
        return False
    if "name" in filters and not any(v in info["Name"] for v in filters["name"]):
        return False
    if "driver" in filters and info["Driver"] not in filters["driver"]:
        return False
    labels = info.get("Labels") or {}
    for want in filters.get("label", []):
        key, eq, value = want.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    return True
