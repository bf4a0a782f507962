"""Engine configuration (daemon.json-like) and registry credentials.

The names are loaded on first use (PEP 562): every container command reads the engine
configuration, only registry commands need the credentials module."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from berth.config.credentials import Credentials, CredentialStore
    from berth.config.engine_config import EngineConfig

_HOMES = {"Credentials": "credentials", "CredentialStore": "credentials", "EngineConfig": "engine_config"}

__all__ = ["CredentialStore", "Credentials", "EngineConfig"]


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"berth.config.{_HOMES[name]}"), name)
