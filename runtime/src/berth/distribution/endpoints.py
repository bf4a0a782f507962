"""Which URLs to try for a registry, in order, and how to verify their TLS.

As in Docker: Docker Hub goes through the configured mirrors first; an
insecure registry is tried over HTTPS without verification, then over plain
HTTP (loopback registries, which nearly always speak plain HTTP, the other way
round); ``certs.d/<host[:port]>/`` holds extra CAs (``*.crt``) and a client
certificate (``*.cert`` with its ``*.key``). Those CAs are trusted in addition
to the system's (one bundle file per process, made with ``mkstemp``).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import ipaddress
import os
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

from berth.config.engine_config import EngineConfig
from berth.structs import dataclass

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "https://registry-1.docker.io"
_HUB_NAMES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})


@dataclass(frozen=True)
class Endpoint:
    """One base URL of a registry (``scheme://host[:port]``, no path)."""

    url: str
    tls_verify: bool | str = True
    mirror: bool = False
    #: (certificate, key) paths for TLS client authentication
    client_cert: tuple[str, str] | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def is_tls(self) -> bool:
        return self.url.startswith("https://")


def endpoints_for(registry: str, config: EngineConfig, certs_dir: Path) -> list[Endpoint]:
    """The endpoints of ``registry`` (a reference's registry name), most preferred first."""
    if registry in _HUB_NAMES:
        out = [_endpoint(m.rstrip("/"), config, certs_dir, mirror=True) for m in config.registry_mirrors]
        out.append(_endpoint(DOCKER_HUB_API, config, certs_dir, mirror=False))
        return out
    https = _endpoint(f"https://{registry}", config, certs_dir, mirror=False)
    if not config.is_insecure(registry):
        return [https]
    http = Endpoint(f"http://{registry}", tls_verify=False, mirror=False)
    if _is_loopback(registry) and https.tls_verify is False and https.client_cert is None:
        # nothing in certs.d: a local registry almost surely speaks plain HTTP
        return [http, https]
    return [https, http]


def _endpoint(url: str, config: EngineConfig, certs_dir: Path, *, mirror: bool) -> Endpoint:
    host = urlsplit(url).netloc
    if not url.startswith("https://"):
        return Endpoint(url, tls_verify=False, mirror=mirror)
    cas, client = _certs(certs_dir / host)
    verify: bool | str
    if cas:
        # added to the system's CAs, as Docker does: a registry may redirect
        # blob downloads to storage with a public certificate
        system = _system_bundle()
        verify = _bundle([*cas, system] if system else cas)
    else:
        verify = not config.is_insecure(host)
    return Endpoint(url, tls_verify=verify, mirror=mirror, client_cert=client)


def _certs(directory: Path) -> tuple[list[str], tuple[str, str] | None]:
    try:
        names = sorted(p for p in directory.iterdir() if p.is_file())
    except OSError:
        return [], None
    cas = [str(p) for p in names if p.suffix == ".crt"]
    client = None
    for cert in (p for p in names if p.suffix == ".cert"):
        key = cert.with_suffix(".key")
        if key.is_file():
            client = (str(cert), str(key))
            break
    return cas, client


_bundles: dict[str, str] = {}
_bundles_lock = threading.Lock()


def _system_bundle() -> str | None:
    """The CA bundle requests would use: $REQUESTS_CA_BUNDLE, $CURL_CA_BUNDLE, certifi, OpenSSL's."""
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        path = os.environ.get(var)
        if path and os.path.isfile(path):
            return path
    try:
        import certifi

        return certifi.where()
    except ImportError:
        import ssl

        cafile = ssl.get_default_verify_paths().cafile
        return cafile if cafile and os.path.isfile(cafile) else None


def _bundle(paths: list[str]) -> str:
    """One private temp file holding several CA files (requests takes a single bundle).

    Created per process with mkstemp (never a predictable name in /tmp that
    someone else could have planted) and removed at exit.
    """
    data = b"".join(Path(p).read_bytes().rstrip(b"\n") + b"\n" for p in paths)
    key = hashlib.sha256(data).hexdigest()
    with _bundles_lock:
        path = _bundles.get(key)
        if path and os.path.exists(path):
            return path
        fd, path = tempfile.mkstemp(prefix="berth-ca-", suffix=".pem")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if not _bundles:
            atexit.register(_cleanup_bundles)
        _bundles[key] = path
        return path


def _cleanup_bundles() -> None:
    for path in _bundles.values():
        with contextlib.suppress(OSError):
            os.unlink(path)


def _is_loopback(registry: str) -> bool:
    host = registry
    if host.startswith("["):
        host = host[1 : host.index("]")]
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
