"""Real registries for tests: Debian's ``docker-registry`` (Distribution 2.8).

Plain helpers (usable from any test or script) and pytest fixtures; a conftest
does ``from registry_fixture import *`` to get them all:

- ``registry``: anonymous registry over plain HTTP (session-scoped);
- ``auth_registry``: htpasswd (Basic) auth, user ``.username``/``.password``;
- ``token_registry``: Bearer token auth against :class:`TokenServer` (our own
  token service in a thread, RS256 JWTs), same credentials attributes;
- ``tls_registry``: HTTPS with a self-signed certificate for 127.0.0.1
  (``.ca_cert``; copy it to ``certs.d/<host>/ca.crt`` to trust it).

Each yields a :class:`RegistryServer` (``.host`` = ``127.0.0.1:PORT``,
``.url``, ``.root`` storage dir). ``StubServer`` is a scripted HTTP server
for "not a registry", error and dead-mirror cases. Needs ``docker-registry``,
``htpasswd`` (apache2-utils), ``openssl`` and the ``cryptography`` package;
fixtures skip when the registry binary is missing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

__all__ = [
    "REGISTRY_BIN",
    "RegistryServer",
    "StubServer",
    "TokenServer",
    "auth_registry",
    "free_port",
    "libtrust_key_id",
    "make_cert",
    "registry",
    "start_registry",
    "stub_server",
    "tls_registry",
    "token_registry",
]

REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"
TEST_USER = "alice"
TEST_PASSWORD = "s3cret-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(directory: Path, name: str, *, cn: str, ip: str | None = None) -> tuple[Path, Path]:
    """A self-signed RSA certificate and key (``name.crt``, ``name.key``) made with the openssl CLI."""
    directory.mkdir(parents=True, exist_ok=True)
    crt, key = directory / f"{name}.crt", directory / f"{name}.key"
    cmd = [
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
        "-keyout", str(key), "-out", str(crt), "-subj", f"/CN={cn}",
    ]
    if ip:
        cmd += ["-addext", f"subjectAltName=IP:{ip}"]
    subprocess.run(cmd, check=True, capture_output=True)
    return crt, key


# -- JWT tokens ------------------------------------------------------------------
def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_key_id(public_key_der: bytes) -> str:
    """docker/libtrust's key ID: base32 of the first 240 bits of sha256(SPKI DER), in ':'-joined 4-char groups."""
    b32 = base64.b32encode(hashlib.sha256(public_key_der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i : i + 4] for i in range(0, len(b32), 4))


class TokenServer:
    """A Docker token service: ``GET /token?service=..&scope=..`` with optional Basic auth.

    Known users get every action they ask for; anonymous clients get pull on
    ``public_repos`` only (nothing else); a wrong password gets 401.
    ``requests`` records (user, scopes) of each token request.
    """

    def __init__(
        self,
        workdir: Path,
        users: dict[str, str] | None = None,
        *,
        service: str = "berth-test-registry",
        issuer: str = "berth-test-issuer",
        public_repos: tuple[str, ...] = (),
        token_field: str = "token",
        expires_in: int = 300,
    ) -> None:
        from cryptography.hazmat.primitives import serialization

        self.users = dict(users if users is not None else {TEST_USER: TEST_PASSWORD})
        self.service = service
        self.issuer = issuer
        self.public_repos = public_repos
        self.token_field = token_field
        self.expires_in = expires_in
        self.requests: list[tuple[str | None, list[str]]] = []
        self.cert, key_path = make_cert(workdir, "token", cn="berth-test-token-issuer")
        self._key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = libtrust_key_id(der)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/token"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def issue(self, subject: str, access: list[dict]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + self.expires_in,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        sig = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(sig)}"

    def _grant(self, user: str | None, scopes: list[str]) -> list[dict]:
        access = []
        for scope in scopes:
            for one in scope.split(" "):
                rtype, _, rest = one.partition(":")
                name, _, actions = rest.rpartition(":")
                if not rtype or not name:
                    continue
                wanted = [a for a in actions.split(",") if a]
                if user is None:
                    wanted = [a for a in wanted if a == "pull" and name in self.public_repos]
                if wanted:
                    access.append({"type": rtype, "name": name, "actions": wanted})
        return access

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/token":
                    self._send(404, {"error": "not found"})
                    return
                query = parse_qs(parts.query)
                scopes = query.get("scope", [])
                user = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    name, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    if server.users.get(name) != password:
                        server.requests.append((name, scopes))
                        self._send(401, {"details": "incorrect username or password"})
                        return
                    user = name
                server.requests.append((user, scopes))
                token = server.issue(user or "", server._grant(user, scopes))
                self._send(200, {server.token_field: token, "expires_in": server.expires_in})

            def _send(self, status: int, doc: dict) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


# -- the registry ----------------------------------------------------------------
@dataclass
class RegistryServer:
    host: str
    url: str
    root: Path
    process: subprocess.Popen = field(repr=False)
    log: Path
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_cert: Path | None = None
    token_server: TokenServer | None = None

    @property
    def port(self) -> int:
        return int(self.host.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.token_server is not None:
            self.token_server.stop()

    def __enter__(self) -> RegistryServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_registry(
    workdir: Path,
    *,
    htpasswd: dict[str, str] | None = None,
    token_server: TokenServer | None = None,
    tls: bool = False,
    timeout: float = 15.0,
) -> RegistryServer:
    """Start ``docker-registry`` on a free 127.0.0.1 port with storage in ``workdir/storage``; wait until it answers."""
    if not os.access(REGISTRY_BIN, os.X_OK):
        raise FileNotFoundError(f"{REGISTRY_BIN} not found (apt-get install docker-registry)")
    workdir.mkdir(parents=True, exist_ok=True)
    storage = workdir / "storage"
    storage.mkdir(exist_ok=True)
    config: dict = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"secret": secrets.token_hex(16)},
    }
    ca_cert = None
    if tls:
        ca_cert, key = make_cert(workdir / "tls", "registry", cn="127.0.0.1", ip="127.0.0.1")
        config["http"]["tls"] = {"certificate": str(ca_cert), "key": str(key)}
    if htpasswd:
        lines = []
        for user, password in htpasswd.items():
            out = subprocess.run(["htpasswd", "-Bbn", user, password], check=True, capture_output=True, text=True)
            lines.append(out.stdout.strip())
        (workdir / "htpasswd").write_text("\n".join(lines) + "\n")
        config["auth"] = {"htpasswd": {"realm": "berth-test", "path": str(workdir / "htpasswd")}}
    if token_server is not None:
        config["auth"] = {
            "token": {
                "realm": token_server.realm,
                "service": token_server.service,
                "issuer": token_server.issuer,
                "rootcertbundle": str(token_server.cert),
            }
        }
    last_error = ""
    for _ in range(3):  # the free port may be taken between probe and bind
        port = free_port()
        config["http"]["addr"] = f"127.0.0.1:{port}"
        cfg_path = workdir / "config.yml"
        cfg_path.write_text(json.dumps(config, indent=2))  # JSON is YAML
        log = workdir / "registry.log"
        with open(log, "wb") as logf:
            proc = subprocess.Popen(
                [REGISTRY_BIN, "serve", str(cfg_path)], stdout=logf, stderr=subprocess.STDOUT, start_new_session=True
            )
        scheme = "https" if tls else "http"
        host = f"127.0.0.1:{port}"
        server = RegistryServer(host, f"{scheme}://{host}", storage, proc, log, ca_cert=ca_cert,
                                token_server=token_server)
        if _wait_ready(server, timeout):
            if htpasswd:
                server.username, server.password = next(iter(htpasswd.items()))
            elif token_server is not None:
                server.username, server.password = next(iter(token_server.users.items()))
            return server
        server.process.kill()
        server.process.wait(5)
        last_error = log.read_text(errors="replace")[-2000:]
        if "address already in use" not in last_error:
            break
    raise RuntimeError(f"docker-registry did not start: {last_error}")


def _wait_ready(server: RegistryServer, timeout: float) -> bool:
    ctx = ssl.create_default_context(cafile=str(server.ca_cert)) if server.ca_cert else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{server.url}/v2/", timeout=1, context=ctx) as resp:
                if resp.status == 200:
                    return True
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


# -- a scripted HTTP server ------------------------------------------------------
Responder = Callable[[str, str, dict[str, str]], tuple[int, dict[str, str], bytes]]


class StubServer:
    """An HTTP server answering every request with ``responder(method, path, headers)``.

    The responder returns ``(status, headers, body)``; a ``Content-Length``
    header larger than the body simulates a connection lost mid-body.

    ``hits`` counts requests. ``StubServer.html()`` / ``.status(500)`` build
    the usual ones; ``StubServer.closed_port()`` is a URL nobody listens on.
    """

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.hits: list[tuple[str, str]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @classmethod
    def html(cls) -> StubServer:
        page = b"<!doctype html><html><body><h1>Welcome</h1></body></html>"
        return cls(lambda m, p, h: (200, {"Content-Type": "text/html"}, page))

    @classmethod
    def status(cls, code: int, body: bytes = b"oops") -> StubServer:
        return cls(lambda m, p, h: (code, {"Content-Type": "text/plain"}, body))

    @staticmethod
    def closed_port() -> str:
        return f"http://127.0.0.1:{free_port()}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> StubServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                if length:
                    self.rfile.read(length)
                server.hits.append((self.command, self.path))
                status, headers, body = server.responder(self.command, self.path, dict(self.headers))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                elif headers["Content-Length"] != str(len(body)):
                    self.close_connection = True  # a truncated body: hang up after it
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        return Handler


# -- pytest fixtures -------------------------------------------------------------
def _need_registry() -> None:
    if not os.access(REGISTRY_BIN, os.X_OK):
        pytest.skip(f"{REGISTRY_BIN} is not installed")


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """An anonymous registry over plain HTTP."""
    _need_registry()
    server = start_registry(tmp_path_factory.mktemp("registry"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry with htpasswd (Basic) auth for ``.username`` / ``.password``."""
    _need_registry()
    server = start_registry(tmp_path_factory.mktemp("auth-registry"), htpasswd={TEST_USER: TEST_PASSWORD})
    yield server
    server.stop()


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """A registry with Bearer token auth; ``.token_server`` issues the tokens."""
    _need_registry()
    pytest.importorskip("cryptography")
    work = tmp_path_factory.mktemp("token-registry")
    tokens = TokenServer(work / "token")
    server = start_registry(work, token_server=tokens)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """An anonymous registry over HTTPS with a self-signed certificate (``.ca_cert``)."""
    _need_registry()
    server = start_registry(tmp_path_factory.mktemp("tls-registry"), tls=True)
    yield server
    server.stop()


@pytest.fixture
def stub_server() -> Iterator[Callable[[Responder], StubServer]]:
    """Factory of :class:`StubServer` s, all stopped after the test."""
    started: list[StubServer] = []

    def make(responder: Responder) -> StubServer:
        s = StubServer(responder)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()
