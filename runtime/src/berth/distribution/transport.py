"""HTTP transport of a registry client: endpoints, authentication and retries.

One :class:`Transport` per registry and operation. It tries the registry's
endpoints in order, falling back on connection errors (and, for mirrors, on
any error status); the first endpoint that answers is remembered. A 401 with a
challenge is answered once with Basic credentials or a Bearer token for the
request's scopes; later requests are authorised up front. Transient failures
(connection errors once the registry has answered, 408/429/5xx) are retried
with exponential back-off.

This module imports requests at import time; ``berth.distribution`` imports
it only when a client is created.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from berth.config.credentials import Credentials
from berth.distribution.auth import (
    Authorizer,
    BasicAuth,
    Challenge,
    TokenAuth,
    merge_scopes,
    parse_www_authenticate,
    pick_challenge,
)
from berth.distribution.endpoints import Endpoint
from berth.distribution.failures import describe_exception
from berth.errors import RegistryError, RegistryUnreachable
from berth.structs import dataclass, field

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_CONNECTION_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_MAX_BACKOFF = 10.0
_MAX_RETRY_AFTER = 30.0
Body = bytes | Callable[[], Any] | None


@dataclass
class Reply:
    """A registry's answer; ``response`` is open (and ``body`` empty) only for ``stream=True``."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    endpoint: Endpoint
    url: str
    reason: str = ""
    response: Any = field(default=None, repr=False)

    def close(self) -> None:
        if self.response is not None:
            self.response.close()


class _NoNetrc(requests.auth.AuthBase):
    """Keeps requests from adding ``~/.netrc`` credentials: we authorise ourselves."""

    def __call__(self, r: Any) -> Any:
        return r


class Transport:
    def __init__(
        self,
        registry: str,
        endpoints: list[Endpoint],
        credentials: Credentials | None,
        *,
        user_agent: str,
        attempts: int,
        backoff: float,
        timeout: tuple[float, float],
        pool_size: int,
        certs_dir: Path | None = None,
    ) -> None:
        if not endpoints:
            raise ValueError("a registry needs at least one endpoint")
        self.registry = registry
        self.endpoints = list(endpoints)
        self.credentials = credentials
        self.certs_dir = certs_dir  # where a CA to trust goes (named in TLS errors)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.timeout = timeout
        self._sticky = 0
        self.contacted = False
        self._auth: dict[str, Authorizer] = {}
        self._lock = threading.Lock()
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.session.auth = _NoNetrc()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        for ep in self.endpoints:
            if ep.is_tls and ep.tls_verify is False:
                _silence_insecure_warning(urlsplit(ep.url).hostname or "")

    def close(self) -> None:
        self.session.close()

    # -- public ------------------------------------------------------------
    def request(
        self,
        method: str,
        target: str | tuple[Endpoint, str],
        *,
        scopes: tuple[str, ...] = (),
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        params: Mapping[str, str] | None = None,
        mirrors: bool = False,
        stream: bool = False,
        read_limit: int = 4 * 1024 * 1024,
        retry: bool = True,
        authenticate: bool = True,
    ) -> Reply:
        """Send ``method`` to ``target`` (a path on the registry, or an endpoint and an absolute URL).

        Returns the final reply whatever its status (the caller maps statuses
        to errors); raises RegistryUnreachable when no endpoint answers, or
        RegistryError(transient=True) when reading the body failed.
        """
        attempts = self.attempts if retry else 1
        attempt = 0
        while True:
            attempt += 1
            try:
                reply = self._route(method, target, scopes, headers, body, params, mirrors, authenticate)
                if reply.status in RETRY_STATUSES and attempt < attempts:
                    delay = self._retry_after(reply)
                    reply.close()
                    log.debug("%s %s: HTTP %s, retrying", method, reply.url, reply.status)
                    self.sleep_backoff(attempt, delay)
                    continue
                if not stream:
                    self.read(reply, read_limit)
                return reply
            except RegistryError as exc:
                if exc.data.get("transient") and attempt < attempts:
                    self.sleep_backoff(attempt)
                    continue
                raise

    # -- routing -----------------------------------------------------------
    def _candidates(self, mirrors: bool) -> list[Endpoint]:
        eps = self.endpoints[self._sticky :]
        return [e for e in eps if mirrors or not e.mirror] or [e for e in self.endpoints if not e.mirror]

    def _route(
        self,
        method: str,
        target: str | tuple[Endpoint, str],
        scopes: tuple[str, ...],
        headers: Mapping[str, str] | None,
        body: Body,
        params: Mapping[str, str] | None,
        mirrors: bool,
        authenticate: bool,
    ) -> Reply:
        if isinstance(target, tuple):
            ep, url = target
            try:
                return self._send(ep, method, url, scopes, headers, body, params, authenticate)
            except _CONNECTION_ERRORS as exc:
                raise self._unreachable([(ep, exc)]) from exc
        candidates = self._candidates(mirrors)
        failures: list[tuple[Endpoint, BaseException | str]] = []
        held: Reply | None = None
        for i, ep in enumerate(candidates):
            last = i == len(candidates) - 1
            try:
                reply = self._send(ep, method, ep.url + target, scopes, headers, body, params, authenticate)
            except _CONNECTION_ERRORS as exc:
                log.debug("%s %s%s: %s", method, ep.url, target, describe_exception(exc))
                failures.append((ep, exc))
                continue
            if not last and self._falls_back(ep, method, reply):
                failures.append((ep, f"{ep.url} answered HTTP {reply.status}"))
                if ep.mirror and held is None and reply.status < 500:
                    self.read(reply, 64 * 1024)
                    held = reply
                else:
                    reply.close()
                continue
            self._remember(ep)
            if held is not None:
                held.close()
            return reply
        if held is not None:
            return held
        raise self._unreachable(failures)

    def _falls_back(self, ep: Endpoint, method: str, reply: Reply) -> bool:
        if ep.mirror:
            return reply.status >= 400 and reply.status != 416
        if reply.status == 400 and not ep.is_tls:
            # A TLS server answers plain HTTP with a 400 whose body says so. A HEAD's reply has
            # no body (a push starts with HEADs), so then ask the endpoint's /v2/ with a GET.
            self.read(reply, 64 * 1024)
            if method == "HEAD":
                return self._speaks_tls(ep)
            return _is_scheme_mismatch(reply.body)
        return False

    def _speaks_tls(self, ep: Endpoint) -> bool:
        """Whether a plain-HTTP endpoint is really a TLS port (its GET /v2/ says "HTTP request to an HTTPS server")."""
        try:
            resp = self.session.get(ep.url + "/v2/", stream=True, timeout=self.timeout, allow_redirects=False)
        except _CONNECTION_ERRORS:
            return False
        probe = Reply(resp.status_code, resp.headers, b"", ep, resp.url, resp.reason or "", resp)
        try:
            self.read(probe, 64 * 1024)
        except RegistryError:
            return False
        return probe.status == 400 and _is_scheme_mismatch(probe.body)

    def _remember(self, ep: Endpoint) -> None:
        self.contacted = True
        with contextlib.suppress(ValueError):
            self._sticky = self.endpoints.index(ep)

    def _unreachable(self, failures: list[tuple[Endpoint, BaseException | str]]) -> RegistryUnreachable:
        causes = [(ep, describe_exception(f) if isinstance(f, BaseException) else f) for ep, f in failures]
        # the most telling cause: a TLS problem beats "connection refused" on the other scheme
        ep, cause = next(
            ((e, c) for e, c in causes if c != "connection refused"),
            causes[0] if causes else (None, "no endpoint"),
        )
        if ep is not None and cause.startswith("TLS certificate verification failed"):
            cause += f"; {self._how_to_trust(ep)}"
        return RegistryUnreachable(
            f"cannot connect to registry {self.registry}: {cause}",
            registry=self.registry,
            tried=[ep.url for ep, _ in failures],
            transient=self.contacted,
        )

    def _how_to_trust(self, ep: Endpoint) -> str:
        """The two ways to make the engine trust a registry's CA: the collection's registry module, or the
        file it writes (Docker's certs.d layout, under the engine's config directory)."""
        where = self.certs_dir / ep.host / "ca.crt" if self.certs_dir is not None else f"certs.d/{ep.host}/ca.crt"
        return (f"to trust the CA that signed {ep.host}'s certificate, give it to the berth.core.registry module "
                f"(registry: {ep.host}, ca_cert: the CA certificate), or copy it to {where} on this host")

    # -- one request, authorised -------------------------------------------
    def _send(
        self,
        ep: Endpoint,
        method: str,
        url: str,
        scopes: tuple[str, ...],
        headers: Mapping[str, str] | None,
        body: Body,
        params: Mapping[str, str] | None,
        authenticate: bool,
    ) -> Reply:
        hdrs = dict(headers or {})
        same_host = urlsplit(url).netloc == ep.host
        authz = self._auth.get(ep.url) if same_host else None
        if authz is not None and authenticate:
            value = authz.header(scopes)
            if value:
                hdrs["Authorization"] = value
        reply = self._once(ep, method, url, hdrs, body, params)
        if reply.status != 401 or not same_host:
            return reply
        challenge = pick_challenge(parse_www_authenticate(reply.headers.get("WWW-Authenticate", "")))
        if challenge is None:
            return reply
        new = self._authorizer(ep, challenge)
        if not authenticate:
            return reply
        need = merge_scopes(scopes, [challenge.scope]) if challenge.scheme == "bearer" else scopes
        if authz is not None:
            new.forget(need)
        value = new.header(need)
        if not value:
            return reply
        reply.close()
        hdrs["Authorization"] = value
        return self._once(ep, method, url, hdrs, body, params)

    def _once(
        self,
        ep: Endpoint,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Body,
        params: Mapping[str, str] | None,
    ) -> Reply:
        data = body() if callable(body) else body
        resp = self.session.request(
            method,
            url,
            headers=headers,
            data=data,
            params=params,
            stream=True,
            timeout=self.timeout,
            verify=ep.tls_verify,
            cert=ep.client_cert,
            allow_redirects=True,
        )
        log.debug("%s %s -> %s", method, _redact(resp.url), resp.status_code)
        return Reply(resp.status_code, resp.headers, b"", ep, resp.url, resp.reason or "", resp)

    def _authorizer(self, ep: Endpoint, challenge: Challenge) -> Authorizer:
        """The authorizer for this endpoint's challenge (kept while the challenge stays the same)."""
        with self._lock:
            current = self._auth.get(ep.url)
            if challenge.scheme == "bearer":
                if isinstance(current, TokenAuth) and (current.realm, current.service) == (
                    challenge.realm,
                    challenge.service,
                ):
                    return current
                realm_host = urlsplit(challenge.realm).netloc
                new: Authorizer = TokenAuth(
                    challenge,
                    None if ep.mirror else self.credentials,
                    session=self.session,
                    registry=self.registry,
                    timeout=self.timeout,
                    verify=ep.tls_verify if realm_host == ep.host else True,
                    cert=ep.client_cert if realm_host == ep.host else None,
                )
            else:
                if isinstance(current, BasicAuth):
                    return current
                new = BasicAuth(None if ep.mirror else self.credentials)
            self._auth[ep.url] = new
            return new

    # -- helpers -----------------------------------------------------------
    def read(self, reply: Reply, limit: int) -> None:
        """Read a streamed reply's body into ``reply.body`` (at most ``limit`` bytes) and close it."""
        resp = reply.response
        if resp is None:
            return
        buf = bytearray()
        try:
            for chunk in resp.iter_content(64 * 1024):
                buf += chunk
                if len(buf) > limit:
                    raise RegistryError(
                        f"registry {self.registry} sent more than {limit} bytes for {_redact(reply.url)}",
                        registry=self.registry,
                        status=reply.status,
                        too_large=True,
                    )
        except _CONNECTION_ERRORS as exc:
            raise RegistryError(
                f"reading from registry {self.registry} failed: {describe_exception(exc)}",
                registry=self.registry,
                transient=True,
            ) from exc
        finally:
            resp.close()
        reply.body = bytes(buf)
        reply.response = None

    @staticmethod
    def _retry_after(reply: Reply) -> float | None:
        value = reply.headers.get("Retry-After", "")
        try:
            return min(float(value), _MAX_RETRY_AFTER) if value else None
        except ValueError:
            return None

    def sleep_backoff(self, attempt: int, retry_after: float | None = None) -> None:
        """Wait before attempt ``attempt + 1``: exponential, with jitter, honouring Retry-After."""
        delay = min(self.backoff * (2 ** (attempt - 1)), _MAX_BACKOFF)
        delay *= 1 + random.random() * 0.1  # jitter, not crypto
        if retry_after is not None:
            delay = max(delay, retry_after)
        time.sleep(delay)


def _silence_insecure_warning(hostname: str) -> None:
    """The user declared this registry insecure: urllib3 need not warn about it on every request."""
    import warnings

    from urllib3.exceptions import InsecureRequestWarning

    warnings.filterwarnings(
        "ignore",
        message=rf"Unverified HTTPS request is being made to host '{re.escape(hostname)}'",
        category=InsecureRequestWarning,
    )


#: what TLS servers answer a plain HTTP request with: Go's net/http (Distribution), nginx
_SCHEME_MISMATCH = (b"HTTP request to an HTTPS server", b"plain HTTP request was sent to HTTPS port")


def _is_scheme_mismatch(body: bytes) -> bool:
    return any(text in body for text in _SCHEME_MISMATCH)


def _redact(url: str) -> str:
    """A URL without its query (upload URLs carry state; realms may carry secrets)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
