"""Engine configuration (daemon.json-like) and registry credentials."""

from __future__ import annotations

from berth.config.credentials import Credentials, CredentialStore
from berth.config.engine_config import EngineConfig

__all__ = ["CredentialStore", "Credentials", "EngineConfig"]
