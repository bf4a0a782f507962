"""A dropped connection mid-blob is retried and resumed, not restarted or fatal.

A thin HTTP proxy sits in front of the real registry and cuts the first
transfer of each blob halfway (headers promise the full length, the socket
closes early) — what a flaky network does at the I/O boundary.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from imagekit import make_image, random_layer

from berth.config import EngineConfig
from berth.engine import Engine
from berth.errors import RegistryError

_RELAY = ("Content-Type", "Content-Length", "Content-Range", "Docker-Content-Digest", "Accept-Ranges",
          "Docker-Distribution-Api-Version", "WWW-Authenticate", "Location")


class FlakyProxy:
    def __init__(self, upstream: str, cuts_per_blob: int = 1) -> None:
        self.upstream = upstream
        self.cuts: dict[str, int] = {}
        self.cuts_per_blob = cuts_per_blob
        self.ranges: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "range", "authorization")}
                if "Range" in headers:
                    proxy.ranges.append(headers["Range"])
                up = requests.get(proxy.upstream + self.path, headers=headers, stream=True, timeout=10,
                                  allow_redirects=True)
                body = up.raw.read()
                cut = "/blobs/" in self.path and proxy.cuts.get(self.path, 0) < proxy.cuts_per_blob and len(body) > 1000
                self.send_response(up.status_code)
                for k in _RELAY:
                    if k in up.headers and k != "Content-Length":
                        self.send_header(k, up.headers[k])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if cut:
                    proxy.cuts[self.path] = proxy.cuts.get(self.path, 0) + 1
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

            do_HEAD = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky(registry):
    proxies: list[FlakyProxy] = []

    def make(cuts_per_blob: int = 1) -> FlakyProxy:
        p = FlakyProxy(registry.url, cuts_per_blob)
        proxies.append(p)
        return p

    yield make
    for p in proxies:
        p.stop()


def test_dropped_blob_transfer_resumes_with_range(tmp_path, registry, flaky) -> None:
    src = Engine(root=tmp_path / "src")
    rec = make_image(src.store, f"{registry.host}/flaky/app:1", [random_layer(300_000), random_layer(200_000)])
    src.push(f"{registry.host}/flaky/app:1")
    proxy = flaky(cuts_per_blob=1)
    dst = Engine(root=tmp_path / "dst", config=EngineConfig(max_download_attempts=3))
    res = dst.pull(f"{proxy.host}/flaky/app:1")
    assert res.image_id == rec.id
    assert len(proxy.cuts) == 2  # each layer blob was cut once...
    assert all(r.startswith("bytes=") and not r.startswith("bytes=0-") for r in proxy.ranges)  # ...and resumed
    assert dst.system_check().clean


def test_a_blob_that_always_breaks_fails_cleanly_after_the_attempts(tmp_path, registry, flaky) -> None:
    src = Engine(root=tmp_path / "src")
    make_image(src.store, f"{registry.host}/flaky/bad:1", [random_layer(300_000)])
    src.push(f"{registry.host}/flaky/bad:1")
    proxy = flaky(cuts_per_blob=100)
    dst = Engine(root=tmp_path / "dst", config=EngineConfig(max_download_attempts=2))
    with pytest.raises(RegistryError, match="flaky/bad was interrupted after"):
        dst.pull(f"{proxy.host}/flaky/bad:1")
    assert list(dst.store.blobs) == [] and dst.images() == []
    assert not any(dst.paths.tmp.iterdir())
