"""``RegistryClient``: the OCI distribution API of one registry.

No store logic: manifests come back as bytes, blobs as an iterator of
chunks, uploads read from a stream the caller opens. Every failure is a typed
:mod:`berth.errors` exception whose message names the registry, the
repository and the cause; ``err.data["transient"]`` says whether trying again
later may help (a download loop resumes a blob with ``offset``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, NoReturn, Self
from urllib.parse import quote, urlencode, urljoin, urlsplit, urlunsplit

from berth.config.credentials import Credentials
from berth.config.engine_config import EngineConfig
from berth.distribution import mediatypes as mt
from berth.distribution.auth import CATALOG_SCOPE, repository_scope
from berth.distribution.endpoints import Endpoint, endpoints_for
from berth.distribution.failures import BlobUnknown, describe_exception, registry_errors
from berth.distribution.manifests import MAX_MANIFEST_SIZE
from berth.distribution.transport import Reply, Transport
from berth.errors import (
    AccessDenied,
    AuthenticationRequired,
    DigestMismatch,
    InvalidReference,
    ManifestInvalid,
    ManifestNotFound,
    RegistryError,
    RegistryUnreachable,
    SizeMismatch,
)
from berth.ioutil import read_full
from berth.reference import Digest

#: Blob download chunk size.
CHUNK_SIZE = 1 << 20
#: Blobs up to this size are uploaded with one PUT; bigger ones with PATCHes of this size.
UPLOAD_CHUNK_SIZE = 16 << 20
_LIST_LIMIT = 16 << 20
_ERROR_BODY_LIMIT = 64 << 10


class RegistryClient:
    """A client for one registry (``docker.io``, ``localhost:5000``...), for one operation.

    Thread-safe for parallel blob transfers. Use as a context manager or
    call :meth:`close` to release the connection pool.
    """

    def __init__(
        self,
        registry: str,
        *,
        config: EngineConfig,
        certs_dir: Path,
        credentials: Credentials | None = None,
        user_agent: str = "berth/0.1",
        endpoints: list[Endpoint] | None = None,
        backoff: float = 0.5,
        timeout: tuple[float, float] = (10.0, 60.0),
    ) -> None:
        self.registry = registry
        self.credentials = credentials
        eps = list(endpoints) if endpoints is not None else endpoints_for(registry, config, certs_dir)
        pool = max(8, config.max_concurrent_downloads, config.max_concurrent_uploads) + 2
        self._t = Transport(
            registry,
            eps,
            credentials,
            user_agent=user_agent,
            attempts=config.max_download_attempts,
            backoff=backoff,
            timeout=timeout,
            pool_size=pool,
            certs_dir=certs_dir,
        )

    def __repr__(self) -> str:
        user = self.credentials.username if self.credentials else None
        return f"RegistryClient({self.registry!r}, username={user!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._t.close()

    @property
    def endpoints(self) -> list[Endpoint]:
        return list(self._t.endpoints)

    # -- registry ------------------------------------------------------------
    def ping(self, *, mirrors: bool = False) -> None:
        """Is there a registry (API v2) at all? Raises RegistryUnreachable if not.

        ``mirrors``: a pull may be served by a mirror, so the mirror answering is enough.
        """
        reply = self._get_base(mirrors=mirrors)
        if reply.status == 401 and reply.headers.get("WWW-Authenticate"):
            return
        if reply.status == 200 and _looks_like_registry(reply):
            return
        raise self._not_a_registry(reply)

    def check_login(self) -> None:
        """Authenticate with the client's credentials (``berth login``)."""
        reply = self._get_base()
        if reply.status == 200 and _looks_like_registry(reply):
            return  # the registry wants no authentication
        if reply.status != 401 or not reply.headers.get("WWW-Authenticate"):
            raise self._not_a_registry(reply)
        if self.credentials is None:
            raise AuthenticationRequired(
                f"login to {self.registry} failed: no username and password given", registry=self.registry, status=401
            )
        reply = self._t.request("GET", "/v2/", read_limit=_ERROR_BODY_LIMIT)
        if reply.status == 200:
            return
        if reply.status == 401:
            raise AuthenticationRequired(
                f"login to {self.registry} failed: unauthorized",
                registry=self.registry,
                status=401,
                username=self.credentials.username,
            )
        self._fail(reply, op="login", subject="/v2/", what="login")

    def catalog(self) -> list[str]:
        """Every repository of the registry (``/v2/_catalog``, all pages)."""
        return self._paged("/v2/_catalog", "repositories", (CATALOG_SCOPE,), subject="the catalog")

    def tags(self, repository: str) -> list[str]:
        return self._paged(
            f"/v2/{_path(repository)}/tags/list", "tags", (repository_scope(repository, "pull"),), subject=repository
        )

    # -- manifests -------------------------------------------------------------
    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str, Digest]:
        """Body, media type and digest of ``repository:reference`` (tag or digest, verified)."""
        expected = _as_digest(reference)
        try:
            reply = self._t.request(
                "GET",
                f"/v2/{_path(repository)}/manifests/{_path(reference)}",
                scopes=(repository_scope(repository, "pull"),),
                headers={"Accept": ", ".join(mt.MANIFEST_ACCEPT)},
                mirrors=True,
                read_limit=MAX_MANIFEST_SIZE,
            )
        except RegistryError as exc:
            if exc.data.get("too_large"):
                raise ManifestInvalid(
                    f"manifest for {_ref(repository, reference)} on {self.registry} is larger than "
                    f"{MAX_MANIFEST_SIZE} bytes",
                    registry=self.registry,
                ) from exc
            raise
        if reply.status == 404:
            raise self._manifest_not_found(repository, reference)
        if reply.status != 200:
            self._fail(reply, op="pull", subject=repository, what=f"manifest {reference}")
        body = reply.body
        actual = _digest_of(body, expected.algorithm if expected else "sha256")
        if expected is not None and actual != expected:
            raise DigestMismatch(str(expected), str(actual), what=f"manifest {self.registry}/{repository}")
        return body, _media_type(reply.headers.get("Content-Type", ""), body), actual

    def manifest_digest(self, repository: str, reference: str) -> Digest | None:
        """The digest ``reference`` resolves to now (HEAD), or None if the registry has no such manifest."""
        reply = self._t.request(
            "HEAD",
            f"/v2/{_path(repository)}/manifests/{_path(reference)}",
            scopes=(repository_scope(repository, "pull"),),
            headers={"Accept": ", ".join(mt.MANIFEST_ACCEPT)},
            mirrors=True,
        )
        if reply.status == 404:
            return None
        if reply.status != 200:
            self._fail(reply, op="pull", subject=repository, what=f"manifest {reference}")
        header = reply.headers.get("Docker-Content-Digest", "")
        try:
            return Digest.parse(header)
        except InvalidReference:
            return self.get_manifest(repository, reference)[2]

    def put_manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> Digest:
        """Push a manifest under a tag (or its digest); returns its digest."""
        digest = Digest.of_bytes(body)
        expected = _as_digest(reference)
        if expected is not None and _digest_of(body, expected.algorithm) != expected:
            raise DigestMismatch(str(expected), str(_digest_of(body, expected.algorithm)), what="manifest")
        reply = self._t.request(
            "PUT",
            f"/v2/{_path(repository)}/manifests/{_path(reference)}",
            scopes=(repository_scope(repository, "pull,push"),),
            headers={"Content-Type": media_type},
            body=body,
            read_limit=_ERROR_BODY_LIMIT,
        )
        if reply.status in (200, 201, 202):
            return digest
        codes, detail = registry_errors(reply.body)
        if reply.status == 400 and codes:
            raise ManifestInvalid(
                f"registry {self.registry} rejected the manifest for {_ref(repository, reference)}: {detail}",
                registry=self.registry,
                status=400,
                codes=codes,
            )
        self._fail(reply, op="push", subject=repository, what=f"manifest {reference}")

    def delete_manifest(self, repository: str, digest: Digest) -> None:
        reply = self._t.request(
            "DELETE",
            f"/v2/{_path(repository)}/manifests/{digest}",
            scopes=(repository_scope(repository, "*"),),
            read_limit=_ERROR_BODY_LIMIT,
        )
        if reply.status in (200, 202):
            return
        if reply.status == 404:
            raise self._manifest_not_found(repository, str(digest))
        self._fail(reply, op="delete", subject=repository, what=f"manifest {digest}")

    # -- blobs -------------------------------------------------------------------
    def blob_chunks(self, repository: str, digest: Digest, *, offset: int = 0) -> Iterator[bytes]:
        """Stream a blob from ``offset``; errors before the first byte raise here, not in the iterator.

        A connection lost mid-stream raises RegistryError with
        ``data["transient"] = True`` and ``data["offset"]`` (bytes delivered
        so far, counting ``offset``), so the caller can resume.
        """
        headers = {"Accept-Encoding": "identity"}
        if offset > 0:
            headers["Range"] = f"bytes={offset}-"
        reply = self._t.request(
            "GET",
            f"/v2/{_path(repository)}/blobs/{digest}",
            scopes=(repository_scope(repository, "pull"),),
            headers=headers,
            mirrors=True,
            stream=True,
        )
        if reply.status == 206 and offset > 0:
            start = reply.headers.get("Content-Range", "").removeprefix("bytes ").split("-", 1)[0]
            if start != str(offset):
                reply.close()
                raise RegistryError(
                    f"registry {self.registry} answered a range request for blob {digest} of {repository} "
                    f"with the wrong range {reply.headers.get('Content-Range')!r}",
                    registry=self.registry,
                    status=206,
                    transient=True,
                )
            skip = 0
        elif reply.status == 200:
            skip = offset  # the range was ignored: drop what the caller already has
        elif reply.status == 416 and offset > 0:
            # nothing after offset: the caller has it all (its digest check decides)
            reply.close()
            return iter(())
        elif reply.status == 404:
            reply.close()
            raise BlobUnknown(
                f"blob {digest} not found in {repository} on {self.registry}",
                registry=self.registry,
                status=404,
                repository=repository,
                digest=str(digest),
            )
        else:
            self._fail(reply, op="pull", subject=repository, what=f"blob {digest}")
        return self._stream(reply, repository, digest, offset, skip)

    def _stream(self, reply: Reply, repository: str, digest: Digest, offset: int, skip: int) -> Iterator[bytes]:
        import urllib3

        resp = reply.response
        delivered = offset
        try:
            for chunk in resp.raw.stream(CHUNK_SIZE, decode_content=False):
                if skip:
                    if len(chunk) <= skip:
                        skip -= len(chunk)
                        continue
                    chunk = chunk[skip:]
                    skip = 0
                delivered += len(chunk)
                yield chunk
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise RegistryError(
                f"download of blob {digest} from {self.registry}/{repository} was interrupted after "
                f"{delivered} bytes: {describe_exception(exc)}",
                registry=self.registry,
                repository=repository,
                digest=str(digest),
                offset=delivered,
                transient=True,
            ) from exc
        finally:
            resp.close()

    def blob_exists(self, repository: str, digest: Digest) -> int | None:
        """The blob's size if ``repository`` has it, else None (HEAD)."""
        reply = self._t.request(
            "HEAD",
            f"/v2/{_path(repository)}/blobs/{digest}",
            scopes=(repository_scope(repository, "pull,push"),),
            headers={"Accept-Encoding": "identity"},
        )
        if reply.status == 404:
            return None
        if reply.status != 200:
            self._fail(reply, op="push", subject=repository, what=f"blob {digest}")
        try:
            return int(reply.headers.get("Content-Length", "0"))
        except ValueError:
            return 0

    def mount_blob(self, repository: str, digest: Digest, from_repository: str) -> bool:
        """Cross-repository mount; False (upload session cancelled) if the registry would not."""
        reply = self._t.request(
            "POST",
            f"/v2/{_path(repository)}/blobs/uploads/",
            scopes=(repository_scope(repository, "pull,push"), repository_scope(from_repository, "pull")),
            params={"mount": str(digest), "from": from_repository},
            read_limit=_ERROR_BODY_LIMIT,
        )
        if reply.status == 201:
            return True
        if reply.status == 202:
            location = reply.headers.get("Location")
            if location:
                self._cancel_upload(reply.endpoint, urljoin(reply.url, location), repository)
            return False
        self._fail(reply, op="push", subject=repository, what=f"mount of blob {digest} from {from_repository}")

    def upload_blob(
        self,
        repository: str,
        digest: Digest,
        size: int,
        open_stream: Callable[[], BinaryIO],
        chunk_size: int = UPLOAD_CHUNK_SIZE,
    ) -> None:
        """Upload ``size`` bytes from ``open_stream()``: one PUT, or PATCHes of ``chunk_size`` then PUT.

        ``open_stream`` is called again for every attempt; the stream is
        closed by this method.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                self._upload_once(repository, digest, size, open_stream, chunk_size)
                return
            except RegistryError as exc:
                if exc.data.get("transient") and attempt < self._t.attempts:
                    self._t.sleep_backoff(attempt)
                    continue
                raise

    def _upload_once(
        self, repository: str, digest: Digest, size: int, open_stream: Callable[[], BinaryIO], chunk_size: int
    ) -> None:
        scopes = (repository_scope(repository, "pull,push"),)
        reply = self._t.request(
            "POST", f"/v2/{_path(repository)}/blobs/uploads/", scopes=scopes, read_limit=_ERROR_BODY_LIMIT
        )
        if reply.status != 202:
            self._fail(reply, op="push", subject=repository, what=f"upload of blob {digest}")
        ep = reply.endpoint
        location = self._location(reply, repository)
        put_headers = {"Content-Type": "application/octet-stream"}
        if size <= chunk_size:
            opened: list[BinaryIO] = []

            def body() -> _SizedReader:
                f = open_stream()
                opened.append(f)
                return _SizedReader(f, size, digest)

            try:
                reply = self._t.request(
                    "PUT",
                    (ep, _add_query(location, digest=str(digest))),
                    scopes=scopes,
                    headers=put_headers,
                    body=body,
                    retry=False,
                    read_limit=_ERROR_BODY_LIMIT,
                )
            finally:
                for f in opened:
                    f.close()
        else:
            with open_stream() as f:
                done = 0
                while done < size:
                    data = read_full(f, min(chunk_size, size - done))
                    if not data:
                        raise SizeMismatch(str(digest), size, done)
                    reply = self._t.request(
                        "PATCH",
                        (ep, location),
                        scopes=scopes,
                        headers={**put_headers, "Content-Range": f"{done}-{done + len(data) - 1}"},
                        body=data,
                        retry=False,
                        read_limit=_ERROR_BODY_LIMIT,
                    )
                    if reply.status != 202:
                        self._fail(reply, op="push", subject=repository, what=f"upload of blob {digest}")
                    location = self._location(reply, repository)
                    done += len(data)
                if f.read(1):
                    raise SizeMismatch(str(digest), size, size + 1)
            reply = self._t.request(
                "PUT",
                (ep, _add_query(location, digest=str(digest))),
                scopes=scopes,
                headers=put_headers,
                body=b"",
                retry=False,
                read_limit=_ERROR_BODY_LIMIT,
            )
        if reply.status not in (201, 204):
            codes, detail = registry_errors(reply.body)
            if "DIGEST_INVALID" in codes or "SIZE_INVALID" in codes:
                raise RegistryError(
                    f"registry {self.registry} rejected blob {digest} for {repository}: {detail}",
                    registry=self.registry,
                    status=reply.status,
                    codes=codes,
                )
            self._fail(reply, op="push", subject=repository, what=f"upload of blob {digest}")

    def _location(self, reply: Reply, repository: str) -> str:
        location = reply.headers.get("Location")
        if not location:
            raise RegistryError(
                f"registry {self.registry} started an upload to {repository} without a Location header",
                registry=self.registry,
                status=reply.status,
            )
        return urljoin(reply.url, location)

    def _cancel_upload(self, ep: Endpoint, url: str, repository: str) -> None:
        try:
            reply = self._t.request(
                "DELETE",
                (ep, url),
                scopes=(repository_scope(repository, "pull,push"),),
                retry=False,
                read_limit=_ERROR_BODY_LIMIT,
            )
        except RegistryError:
            return  # an abandoned upload session expires by itself
        reply.close()

    # -- helpers -----------------------------------------------------------------
    def _get_base(self, *, mirrors: bool = False) -> Reply:
        try:
            return self._t.request("GET", "/v2/", authenticate=False, read_limit=_ERROR_BODY_LIMIT, mirrors=mirrors)
        except RegistryUnreachable:
            raise
        except RegistryError as exc:
            raise RegistryUnreachable(
                f"cannot connect to registry {self.registry}: {exc.message}", registry=self.registry
            ) from exc

    def _not_a_registry(self, reply: Reply) -> RegistryUnreachable:
        ctype = reply.headers.get("Content-Type", "")
        what = " with an HTML page" if "html" in ctype else ""
        return RegistryUnreachable(
            f"{self.registry} is not a registry: GET {reply.endpoint.url}/v2/ answered HTTP {reply.status}"
            f" {reply.reason}{what}".rstrip(),
            registry=self.registry,
            status=reply.status,
        )

    def _manifest_not_found(self, repository: str, reference: str) -> ManifestNotFound:
        return ManifestNotFound(
            f"manifest for {_ref(repository, reference)} not found on {self.registry}",
            registry=self.registry,
            status=404,
            repository=repository,
            reference=reference,
        )

    def _paged(self, path: str, key: str, scopes: tuple[str, ...], *, subject: str) -> list[str]:
        out: list[str] = []
        target: str | tuple[Endpoint, str] = path
        for _ in range(10_000):
            reply = self._t.request("GET", target, scopes=scopes, read_limit=_LIST_LIMIT)
            if reply.status == 404 and key == "tags":
                raise ManifestNotFound(
                    f"repository {subject} not found on {self.registry}", registry=self.registry, status=404
                )
            if reply.status != 200:
                self._fail(reply, op="list", subject=subject, what=key)
            try:
                doc = json.loads(reply.body)
                items = doc.get(key) or []
            except (ValueError, AttributeError) as exc:
                raise RegistryError(
                    f"registry {self.registry} sent an invalid {key} list for {subject}", registry=self.registry
                ) from exc
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise RegistryError(
                    f"registry {self.registry} sent an invalid {key} list for {subject}", registry=self.registry
                )
            out.extend(items)
            nxt = _next_link(reply.headers.get("Link", ""))
            if not nxt:
                return out
            target = (reply.endpoint, urljoin(reply.url, nxt))
        return out

    def _fail(self, reply: Reply, *, op: str, subject: str, what: str) -> NoReturn:
        """Raise the typed error for an unexpected status."""
        if reply.response is not None:
            try:
                self._t.read(reply, _ERROR_BODY_LIMIT)
            except RegistryError:
                reply.close()
        codes, detail = registry_errors(reply.body)
        suffix = f": {detail}" if detail else ""
        status = reply.status
        data: dict[str, Any] = {"registry": self.registry, "status": status, "codes": codes, "subject": subject}
        if status == 401:
            if self.credentials is None:
                msg = f"{op} access denied for {subject}: authentication required (try berth login {self.registry})"
            else:
                msg = (
                    f"{op} access denied for {subject} on {self.registry}: "
                    f"unauthorized for user {self.credentials.username}{suffix}"
                )
            raise AuthenticationRequired(msg, **data)
        if status == 403:
            raise AccessDenied(f"{op} access denied for {subject} on {self.registry}: forbidden{suffix}", **data)
        transient = status in (408, 429) or status >= 500
        raise RegistryError(
            f"registry {self.registry} answered HTTP {status} {reply.reason} to {what} of {subject}{suffix}".replace(
                "  ", " "
            ),
            transient=transient,
            **data,
        )


class _SizedReader:
    """A body of exactly ``size`` bytes for requests (so it sends Content-Length, not chunks)."""

    def __init__(self, f: BinaryIO, size: int, digest: Digest) -> None:
        self._f = f
        self._left = size
        self._size = size
        self._digest = digest

    def __len__(self) -> int:
        return self._left

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK_SIZE):
            yield chunk

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if n is None or n < 0 else min(n, self._left)
        data = self._f.read(want)
        if not data:
            raise SizeMismatch(str(self._digest), self._size, self._size - self._left)
        self._left -= len(data)
        return data


def _looks_like_registry(reply: Reply) -> bool:
    if reply.headers.get("Docker-Distribution-API-Version", "").startswith("registry/2"):
        return True
    ctype = reply.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return ctype == "application/json"


def _as_digest(reference: str) -> Digest | None:
    if ":" not in reference:
        return None
    try:
        return Digest.parse(reference)
    except InvalidReference:
        return None


def _digest_of(body: bytes, algorithm: str) -> Digest:
    h = Digest(algorithm, "").hasher()
    h.update(body)
    return Digest.from_hasher(h)


def _media_type(content_type: str, body: bytes) -> str:
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype and ctype not in mt.GENERIC_TYPES:
        return ctype
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ctype
    found = doc.get("mediaType") if isinstance(doc, dict) else None
    return found if isinstance(found, str) and found else ctype


def _ref(repository: str, reference: str) -> str:
    return f"{repository}@{reference}" if _as_digest(reference) else f"{repository}:{reference}"


def _path(value: str) -> str:
    return quote(value, safe="/:@")


def _add_query(url: str, **params: str) -> str:
    """Append parameters to a URL, keeping its query (upload state) byte for byte."""
    parts = urlsplit(url)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def _next_link(header: str) -> str | None:
    """The ``rel="next"`` target of a Link header."""
    for part in header.split(","):
        url, _, rest = part.partition(";")
        if 'rel="next"' in rest.replace(" ", "") or "rel=next" in rest.replace(" ", ""):
            return url.strip().strip("<>")
    return None
