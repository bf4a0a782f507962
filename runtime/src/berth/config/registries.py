"""Editing what the engine knows about registries: config keys and ``certs.d`` files.

The config file keeps Docker's daemon.json names (``insecure-registries``,
``registry-mirrors``); ``certs.d/<host[:port]>/`` holds ``ca.crt`` and a client
certificate ``client.cert`` with its ``client.key``, as Docker reads them.

Every change is a read-modify-write under one lock (``config.json.lock`` next to the
file), validated by ``EngineConfig.from_dict`` before anything is written, and written
atomically (temp file, fsync, rename): a reader sees the old file or the new one, and two
editors never lose each other's change. A file that already holds what is asked is not
rewritten, so each setter says whether it changed anything.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from berth.config.engine_config import EngineConfig
from berth.errors import ConfigError, InvalidArgument
from berth.fsutil import atomic_write, atomic_write_json
from berth.locks import file_lock

#: the files of ``certs.d/<host>/`` this module writes, and their modes (the key is a secret)
CERT_FILES = {"ca.crt": 0o644, "client.cert": 0o644, "client.key": 0o600}
#: Docker Hub's names; its endpoint is ``registry-1.docker.io`` and its mirrors are ``registry-mirrors``
HUB = "docker.io"
_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io")


def registry_name(text: str) -> str:
    """``https://myreg:9000/v2/`` or ``myreg:9000`` -> ``myreg:9000``; Docker Hub's names -> ``docker.io``."""
    host = text.strip()
    for prefix in ("https://", "http://"):
        host = host.removeprefix(prefix)
    host = host.split("/", 1)[0]
    if not host or any(c.isspace() for c in host) or "@" in host:
        raise InvalidArgument(f"invalid registry {text!r}", value=text)
    return HUB if host in _HUB_ALIASES else host


def _lock(config_file: Path) -> Path:
    return config_file.with_name(config_file.name + ".lock")


@contextmanager
def editing_config(config_file: Path) -> Iterator[dict[str, Any]]:
    """The config file's keys as a dict to change in place; on exit, if changed, validated and
    written atomically, all under the config lock. An error inside leaves the file untouched."""
    with file_lock(_lock(config_file)):
        try:
            raw = json.loads(config_file.read_text())
        except FileNotFoundError:
            raw = {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read engine config {config_file}: {exc}", path=str(config_file)) from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{config_file}: top level must be a JSON object", path=str(config_file))
        before = copy.deepcopy(raw)
        yield raw
        if raw != before:
            EngineConfig.from_dict(raw, source=str(config_file))
            mode = config_file.stat().st_mode & 0o777 if config_file.exists() else 0o644
            atomic_write_json(config_file, raw, mode=mode)


def set_insecure(config_file: Path, registry: str, insecure: bool) -> bool:
    """List (or unlist) exactly ``registry`` in ``insecure-registries``; True if the file changed.
    Other entries (CIDRs, bare host names) are left alone."""
    with editing_config(config_file) as raw:
        entries = list(raw.get("insecure-registries") or [])
        listed = registry in entries
        if listed == insecure:
            return False
        entries = [*entries, registry] if insecure else [e for e in entries if e != registry]
        if entries:
            raw["insecure-registries"] = entries
        else:
            raw.pop("insecure-registries", None)
    return True


def set_mirrors(config_file: Path, mirrors: list[str]) -> bool:
    """Make ``registry-mirrors`` exactly ``mirrors`` (in order; Docker Hub's, as in Docker)."""
    wanted = [m.rstrip("/") for m in mirrors]
    with editing_config(config_file) as raw:
        if [m.rstrip("/") for m in raw.get("registry-mirrors") or []] == wanted:
            return False
        if wanted:
            raw["registry-mirrors"] = wanted
        else:
            raw.pop("registry-mirrors", None)
    return True


def read_certs(certs_dir: Path, registry: str) -> dict[str, bytes]:
    """The files of ``CERT_FILES`` that ``certs.d/<registry>/`` has, by name."""
    out = {}
    for name in CERT_FILES:
        try:
            out[name] = (certs_dir / _host_dir(registry) / name).read_bytes()
        except FileNotFoundError:
            continue
    return out


def set_cert(config_file: Path, certs_dir: Path, registry: str, name: str, data: bytes | None) -> bool:
    """Write (``data``) or remove (None) ``certs.d/<registry>/<name>``; True if that changed it."""
    if name not in CERT_FILES:
        raise InvalidArgument(f"unknown certificate file {name!r} (one of {', '.join(CERT_FILES)})", value=name)
    directory = certs_dir / _host_dir(registry)
    path = directory / name
    with file_lock(_lock(config_file)):
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            current = None
        if data is None:
            if current is None:
                return False
            path.unlink()
            with contextlib.suppress(OSError):  # other files are still there
                directory.rmdir()
            return True
        mode = CERT_FILES[name]
        if current == data and (path.stat().st_mode & 0o777) == mode:
            return False
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data, mode=mode)
    return True


def _host_dir(registry: str) -> str:
    """``certs.d``'s directory name of a registry: its host[:port], never a path."""
    if registry in _HUB_ALIASES or not registry or "/" in registry or registry in (".", "..") \
            or os.sep in registry:
        raise InvalidArgument(f"no certs.d directory for registry {registry!r}", value=registry)
    return registry
