"""fetch_url (ADD's URLs) against a local http.server on 127.0.0.1 in a thread."""

from __future__ import annotations

import http.server
import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from berth.build.context import FetchFailed, fetch_url

BODY = b"#!/bin/sh\necho fetched\n"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/missing"):
            self.send_error(404, "Not Found")
            return
        if self.path == "/boom":
            self.send_error(500, "Internal Server Error")
            return
        if self.path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"only a part")
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        if self.path.startswith("/dated"):
            self.send_header("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
        if self.path == "/":
            self.send_header("Content-Disposition", 'attachment; filename="from-header.sh"')
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass  # quiet tests


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_download_is_named_after_the_url_mode_0600(server: str, tmp_path: Path) -> None:
    path = fetch_url(f"{server}/dl/tool.sh?version=2", tmp_path)
    assert path == tmp_path / "tool.sh" and path.read_bytes() == BODY
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.stat(path).st_mtime == 0  # no Last-Modified: Docker's zero time, the epoch
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tool.sh"]  # no temp file left
    assert fetch_url(f"{server}/dl/with%20space", tmp_path).name == "with space"


def test_last_modified_sets_the_mtime(server: str, tmp_path: Path) -> None:
    path = fetch_url(f"{server}/dated/file.txt", tmp_path)
    assert os.stat(path).st_mtime == 1445412480  # 2015-10-21T07:28:00Z


def test_name_from_content_disposition_or_unnamed(server: str, tmp_path: Path) -> None:
    assert fetch_url(f"{server}/", tmp_path).name == "from-header.sh"
    assert fetch_url(f"{server}/dir/", tmp_path).name == "__unnamed__"


def test_http_errors_name_the_url_and_status(server: str, tmp_path: Path) -> None:
    url = f"{server}/missing/x.tar.gz"
    with pytest.raises(FetchFailed, match=f"failed to GET {url} with status 404 Not Found") as info:
        fetch_url(url, tmp_path)
    assert info.value.data["status"] == 404
    with pytest.raises(FetchFailed, match="with status 500"):
        fetch_url(f"{server}/boom", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_truncated_body_leaves_nothing(server: str, tmp_path: Path) -> None:
    with pytest.raises(FetchFailed, match=r"failed to GET .*/truncated"):
        fetch_url(f"{server}/truncated", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_connection_refused_and_bad_schemes(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x"
    with pytest.raises(FetchFailed, match=f"failed to GET {url}: .*refused"):
        fetch_url(url, tmp_path, timeout=5)
    for bad in ("ftp://example.com/x", "file:///etc/passwd", "http:///nohost"):
        with pytest.raises(FetchFailed, match="only http and https"):
            fetch_url(bad, tmp_path)
    assert list(tmp_path.iterdir()) == []
