"""Registry credentials in Docker's ``config.json`` format, file mode 0600.

``{"auths": {"localhost:9000": {"auth": base64("user:password")}}}``.
Passwords never appear in exceptions, logs or ``repr``.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from berth.errors import ConfigError
from berth.fsutil import atomic_write_json, read_json
from berth.locks import file_lock
from berth.structs import dataclass, field

#: Docker stores Hub credentials under this legacy key.
_HUB_KEYS = ("https://index.docker.io/v1/", "docker.io", "registry-1.docker.io", "index.docker.io")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=***)"


def _key(registry: str) -> str:
    return "https://index.docker.io/v1/" if registry in _HUB_KEYS else registry


class CredentialStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict:
        data = read_json(self.path, default={})
        if not isinstance(data, dict) or not isinstance(data.get("auths", {}), dict):
            raise ConfigError(f"credentials file {self.path} is malformed")
        return data

    def get(self, registry: str) -> Credentials | None:
        auths = self._load().get("auths", {})
        entry = auths.get(_key(registry)) or auths.get(registry)
        if not entry:
            return None
        if "auth" in entry:
            try:
                user, _, pw = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError) as exc:
                raise ConfigError(f"credentials for {registry} in {self.path} are malformed") from exc
            return Credentials(user, pw)
        if "username" in entry:
            return Credentials(entry["username"], entry.get("password", ""))
        return None

    def set(self, registry: str, creds: Credentials) -> bool:
        """Store credentials; returns True if the file changed."""
        token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        with file_lock(self.path.with_suffix(".lock")):
            data = self._load()
            auths = data.setdefault("auths", {})
            if auths.get(_key(registry)) == {"auth": token}:
                self._ensure_mode()
                return False
            auths[_key(registry)] = {"auth": token}
            atomic_write_json(self.path, data, mode=0o600)
            return True

    def remove(self, registry: str) -> bool:
        with file_lock(self.path.with_suffix(".lock")):
            data = self._load()
            auths = data.get("auths", {})
            removed = auths.pop(_key(registry), None) is not None
            removed = (auths.pop(registry, None) is not None) or removed
            if removed:
                atomic_write_json(self.path, data, mode=0o600)
            return removed

    def registries(self) -> list[str]:
        return sorted(self._load().get("auths", {}))

    def _ensure_mode(self) -> None:
        if self.path.exists() and (self.path.stat().st_mode & 0o777) != 0o600:
            os.chmod(self.path, 0o600)
