"""``ADD https://...``: download a URL into a directory, as Docker's ``downloadSource``.

The file is named after the last component of the URL's path (Docker's rule), else after the
``Content-Disposition`` filename, else ``__unnamed__`` (then Docker refuses a destination ending
in ``/``: the builder's call); it gets mode 0600 and the ``Last-Modified`` time (the epoch when
there is none, as Docker's zero time). It is written to a temporary name and renamed once
complete, so a failed download leaves nothing behind. Docker does not unpack archives fetched
from URLs; the caller copies the file as COPY would. Standard library only (urllib).
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import os
import posixpath
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from berth.build.context.errors import FetchFailed

UNNAMED = "__unnamed__"
_BUF = 1 << 20


def fetch_url(url: str, directory: Path, *, timeout: float = 60) -> Path:
    """Download ``url`` (http or https) into ``directory``; the path of the file."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FetchFailed(f"failed to GET {url}: only http and https URLs can be downloaded", url=url)
    request = urllib.request.Request(url, headers={"User-Agent": "berth-build"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise FetchFailed(f"failed to GET {url} with status {exc.code} {exc.reason}", url=url,
                          status=exc.code) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise FetchFailed(f"failed to GET {url}: {reason}", url=url) from None
    with response:
        name = _filename(parts.path, response.headers.get_filename())
        final = Path(directory) / name
        fd, tmp = tempfile.mkstemp(prefix=".fetch-", suffix=".part", dir=directory)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := response.read(_BUF):
                    out.write(chunk)
            if response.length:  # read(n) stops quietly at a short body: Content-Length not met
                raise http.client.IncompleteRead(b"", response.length)
            mtime = _last_modified(response.headers.get("Last-Modified"))
            os.utime(tmp, (mtime, mtime))
            os.replace(tmp, final)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, (OSError, http.client.HTTPException)):
                why = "the connection closed before the end of the body" \
                    if isinstance(exc, http.client.IncompleteRead) else exc
                raise FetchFailed(f"failed to GET {url}: {why}", url=url) from None
            raise
    return final


def _filename(path: str, disposition: str | None) -> str:
    """Docker's ``getFilenameForDownload``: the URL path's base, else the Content-Disposition's."""
    for candidate in (urllib.parse.unquote(path), disposition or ""):
        if candidate and not candidate.endswith("/"):
            base = posixpath.basename(candidate)
            if base not in ("", ".", "..") and "\0" not in base:
                return base
    return UNNAMED


def _last_modified(header: str | None) -> float:
    if header:
        with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
            return email.utils.parsedate_to_datetime(header).timestamp()
    return 0.0  # Docker's zero time becomes the epoch
