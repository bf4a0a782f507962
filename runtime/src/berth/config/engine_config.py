"""The engine's config file, with Docker's daemon.json key names.

``{"registry-mirrors": ["http://127.0.0.1:5001"],
   "insecure-registries": ["myreg:5000", "10.0.0.0/8"],
   "max-concurrent-downloads": 3}``
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from berth.config.network_config import NETWORK_KEYS, NetworkConfig
from berth.errors import ConfigError
from berth.fsutil import atomic_write_json
from berth.structs import dataclass, field

#: As in Docker, loopback registries never need TLS.
_ALWAYS_INSECURE = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

_KNOWN_KEYS = {
    "registry-mirrors",
    "insecure-registries",
    "max-concurrent-downloads",
    "max-concurrent-uploads",
    "max-download-attempts",
    "default-runtime",
    "log-opts",
    *NETWORK_KEYS,
}


@dataclass
class EngineConfig:
    registry_mirrors: list[str] = field(default_factory=list)
    insecure_registries: list[str] = field(default_factory=list)
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5
    max_download_attempts: int = 5
    network: NetworkConfig = field(default_factory=NetworkConfig)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> EngineConfig:
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read engine config {path}: {exc}", path=str(path)) from exc
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: Any, source: str = "config") -> EngineConfig:
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: top level must be a JSON object")
        unknown = set(raw) - _KNOWN_KEYS
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}", keys=sorted(unknown))
        mirrors = _str_list(raw, "registry-mirrors", source)
        for m in mirrors:
            parts = urlsplit(m)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(f"{source}: registry-mirrors: invalid mirror URL {m!r} (want http[s]://host[:port])")
        insecure = _str_list(raw, "insecure-registries", source)
        cfg = cls(
            registry_mirrors=[m.rstrip("/") for m in mirrors],
            insecure_registries=insecure,
            max_concurrent_downloads=_pos_int(raw, "max-concurrent-downloads", 3, source),
            max_concurrent_uploads=_pos_int(raw, "max-concurrent-uploads", 5, source),
            max_download_attempts=_pos_int(raw, "max-download-attempts", 5, source),
            network=NetworkConfig.from_dict(raw, source),
            extra={k: v for k, v in raw.items() if k in {"default-runtime", "log-opts"}},
        )
        return cfg

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        out.update(self.network.to_dict())
        if self.registry_mirrors:
            out["registry-mirrors"] = list(self.registry_mirrors)
        if self.insecure_registries:
            out["insecure-registries"] = list(self.insecure_registries)
        if self.max_concurrent_downloads != 3:
            out["max-concurrent-downloads"] = self.max_concurrent_downloads
        if self.max_concurrent_uploads != 5:
            out["max-concurrent-uploads"] = self.max_concurrent_uploads
        if self.max_download_attempts != 5:
            out["max-download-attempts"] = self.max_download_attempts
        return out

    def save(self, path: Path) -> None:
        atomic_write_json(path, self.to_dict())

    def is_insecure(self, host: str) -> bool:
        """May ``host[:port]`` be reached over plain HTTP / unverified TLS?"""
        hostname = _hostname(host)
        for entry in self.insecure_registries:
            if entry in (host, hostname):
                return True
            if "/" in entry and _ip_in(hostname, entry):
                return True
        if hostname == "localhost":
            return True
        try:
            ip = ipaddress.ip_address(hostname)
        except ValueError:
            return False
        return any(ip in net for net in _ALWAYS_INSECURE)


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1 : host.index("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _ip_in(hostname: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(hostname) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _str_list(raw: dict, key: str, source: str) -> list[str]:
    val = raw.get(key, [])
    if not isinstance(val, list) or not all(isinstance(v, str) and v for v in val):
        raise ConfigError(f"{source}: {key} must be a list of non-empty strings, got {val!r}")
    return list(val)


def _pos_int(raw: dict, key: str, default: int, source: str) -> int:
    val = raw.get(key, default)
    if not isinstance(val, int) or isinstance(val, bool) or val < 1:
        raise ConfigError(f"{source}: {key} must be a positive integer, got {val!r}")
    return val
