"""Registry authentication: ``WWW-Authenticate`` challenges, Basic and Bearer tokens.

Bearer tokens come from the challenge's realm (``GET realm?service=..&scope=..``
with the user's Basic credentials, if any) and are cached per set of scopes
until they expire. Neither passwords nor tokens appear in ``repr`` or errors.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from berth.config.credentials import Credentials
from berth.distribution.failures import describe_exception
from berth.errors import AuthenticationRequired, RegistryError, RegistryUnreachable
from berth.structs import dataclass, field

CATALOG_SCOPE = "registry:catalog:*"
#: Tokens live at least this long (the distribution spec's default).
MIN_TOKEN_LIFETIME = 60

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_WS = " \t"


@dataclass(frozen=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header; ``scheme`` is lower-case."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        return self.params.get("service", "")

    @property
    def scope(self) -> str:
        return self.params.get("scope", "")


def parse_www_authenticate(header: str) -> list[Challenge]:
    """All challenges in a header: ``Bearer realm="https://a/token",service="reg",scope="repository:x:pull,push"``.

    Parameter names are lower-cased; quoted values may hold commas and
    backslash escapes. Garbage is skipped rather than fatal.
    """
    out: list[tuple[str, dict[str, str]]] = []
    pos, n = 0, len(header)
    while pos < n:
        while pos < n and (header[pos] in _WS or header[pos] == ","):
            pos += 1
        if pos >= n:
            break
        m = _TOKEN.match(header, pos)
        if not m:
            pos += 1  # skip a stray character
            continue
        word, end = m.group(0), m.end()
        after = end
        while after < n and header[after] in _WS:
            after += 1
        if after < n and header[after] == "=" and out and not _is_token68_end(header, after):
            name = word.lower()
            pos = after + 1
            while pos < n and header[pos] in _WS:
                pos += 1
            value, pos = _value(header, pos)
            out[-1][1][name] = value
            continue
        # a new challenge, maybe followed by a token68 (``Negotiate abc==``)
        out.append((word.lower(), {}))
        pos = after
        t68 = _TOKEN68.match(header, pos)
        if t68 and _is_token68_end(header, t68.end() - 1) and "=" in t68.group(0):
            out[-1][1][""] = t68.group(0)
            pos = t68.end()
    return [Challenge(scheme, params) for scheme, params in out]


def _is_token68_end(header: str, eq_pos: int) -> bool:
    """After ``=`` at ``eq_pos``: only more ``=`` then end or comma (so not ``name=value``)."""
    i = eq_pos
    while i < len(header) and header[i] == "=":
        i += 1
    while i < len(header) and header[i] in _WS:
        i += 1
    return i >= len(header) or header[i] == ","


def _value(header: str, pos: int) -> tuple[str, int]:
    n = len(header)
    if pos < n and header[pos] == '"':
        buf: list[str] = []
        pos += 1
        while pos < n and header[pos] != '"':
            if header[pos] == "\\" and pos + 1 < n:
                pos += 1
            buf.append(header[pos])
            pos += 1
        return "".join(buf), pos + 1
    start = pos
    while pos < n and header[pos] != "," and header[pos] not in _WS:
        pos += 1
    return header[start:pos], pos


def pick_challenge(challenges: Iterable[Challenge]) -> Challenge | None:
    """Bearer if offered (with a realm), else Basic, else None."""
    found = {c.scheme: c for c in reversed(list(challenges))}
    bearer = found.get("bearer")
    if bearer is not None and bearer.realm:
        return bearer
    return found.get("basic")


def repository_scope(repository: str, actions: str | Sequence[str] = "pull") -> str:
    """``repository:<repo>:pull`` or ``repository:<repo>:pull,push``."""
    acts = actions if isinstance(actions, str) else ",".join(actions)
    return f"repository:{repository}:{acts}"


def merge_scopes(*groups: Iterable[str]) -> tuple[str, ...]:
    """Union of scopes; actions of the same resource are merged (``pull`` + ``push``)."""
    merged: dict[str, list[str]] = {}
    for group in groups:
        for scope in group:
            if not scope:
                continue
            for one in scope.split(" "):
                resource, sep, actions = one.rpartition(":")
                if not sep or not resource:
                    merged.setdefault(one, [])
                    continue
                acts = merged.setdefault(resource, [])
                for a in actions.split(","):
                    if a and a not in acts:
                        acts.append(a)
    return tuple(sorted(f"{res}:{','.join(acts)}" if acts else res for res, acts in merged.items()))


class Authorizer:
    """Gives the ``Authorization`` header for a request needing ``scopes``."""

    def header(self, scopes: tuple[str, ...]) -> str | None:
        raise NotImplementedError

    def forget(self, scopes: tuple[str, ...]) -> None:
        """Drop anything cached for ``scopes`` (the registry refused it)."""


class BasicAuth(Authorizer):
    def __init__(self, credentials: Credentials | None) -> None:
        self._credentials = credentials

    def header(self, scopes: tuple[str, ...]) -> str | None:
        if self._credentials is None:
            return None
        pair = f"{self._credentials.username}:{self._credentials.password}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def __repr__(self) -> str:
        user = self._credentials.username if self._credentials else None
        return f"BasicAuth(username={user!r})"


@dataclass
class _Token:
    value: str = field(repr=False)
    valid_until: float


class TokenAuth(Authorizer):
    """Bearer tokens from ``challenge.realm``, cached per scope set until expiry."""

    def __init__(
        self,
        challenge: Challenge,
        credentials: Credentials | None,
        *,
        session: Any,
        registry: str,
        timeout: tuple[float, float] = (10.0, 60.0),
        verify: bool | str = True,
        cert: tuple[str, str] | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        if not challenge.realm.startswith(("https://", "http://")):
            raise RegistryError(
                f"registry {registry} sent a Bearer challenge with an invalid realm {challenge.realm!r}",
                registry=registry,
            )
        self.realm = challenge.realm
        self.service = challenge.service
        self._credentials = credentials
        self._session = session
        self._registry = registry
        self._timeout = timeout
        self._verify = verify
        self._cert = cert
        self._clock = clock
        self._tokens: dict[tuple[str, ...], _Token] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        user = self._credentials.username if self._credentials else None
        return f"TokenAuth(realm={self.realm!r}, service={self.service!r}, username={user!r})"

    def header(self, scopes: tuple[str, ...]) -> str | None:
        return "Bearer " + self.token(scopes)

    def token(self, scopes: tuple[str, ...]) -> str:
        key = tuple(sorted(scopes))
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and self._clock() < cached.valid_until:
                return cached.value
            tok = self._fetch(key)
            self._tokens[key] = tok
            return tok.value

    def forget(self, scopes: tuple[str, ...]) -> None:
        with self._lock:
            self._tokens.pop(tuple(sorted(scopes)), None)

    def _fetch(self, scopes: tuple[str, ...]) -> _Token:
        import requests

        params: list[tuple[str, str]] = []
        if self.service:
            params.append(("service", self.service))
        params.extend(("scope", s) for s in scopes)
        auth = None
        if self._credentials is not None:
            params.append(("account", self._credentials.username))
            auth = (self._credentials.username, self._credentials.password)
        realm_host = urlsplit(self.realm).netloc
        try:
            resp = self._session.get(
                self.realm,
                params=params,
                auth=auth,
                timeout=self._timeout,
                verify=self._verify,
                cert=self._cert,
            )
        except requests.RequestException as exc:
            raise RegistryUnreachable(
                f"cannot get a token for registry {self._registry} from {realm_host}: {describe_exception(exc)}",
                registry=self._registry,
                transient=True,
            ) from exc
        with resp:
            status = resp.status_code
            body = resp.content
        if status in (401, 403):
            if self._credentials is None:
                msg = (
                    f"authentication required by registry {self._registry}: token server {realm_host} refused "
                    f"anonymous access (try berth login {self._registry})"
                )
            else:
                msg = f"login to {self._registry} failed: unauthorized: incorrect username or password"
            user = self._credentials.username if self._credentials else None
            raise AuthenticationRequired(msg, registry=self._registry, status=status, username=user)
        if status != 200:
            raise RegistryError(
                f"token server {realm_host} for registry {self._registry} answered HTTP {status}",
                registry=self._registry,
                status=status,
                transient=status in (408, 429) or status >= 500,
            )
        try:
            doc = resp.json() if body else {}
        except ValueError:
            doc = None
        value = (doc.get("token") or doc.get("access_token")) if isinstance(doc, dict) else None
        if not isinstance(value, str) or not value:
            raise RegistryError(
                f"token server {realm_host} for registry {self._registry} sent no token",
                registry=self._registry,
            )
        expires_in = doc.get("expires_in") if isinstance(doc, dict) else None
        lifetime = expires_in if isinstance(expires_in, int) and not isinstance(expires_in, bool) else 0
        lifetime = max(lifetime, MIN_TOKEN_LIFETIME)
        now = self._clock()
        # renew a little early so a token never expires on its way to the registry
        return _Token(value, now + lifetime * 0.9)
