"""Unreachable registries, non-registries, retries, mirrors, TLS and broken streams."""

from __future__ import annotations

import io
import json
import shutil
import time

import pytest

from berth.config.engine_config import EngineConfig
from berth.distribution import mediatypes as mt
from berth.distribution.endpoints import Endpoint
from berth.errors import DigestMismatch, ManifestNotFound, RegistryError, RegistryUnreachable
from berth.reference import Digest


def test_connection_refused(make_client) -> None:
    client = make_client("127.0.0.1:1")
    start = time.monotonic()
    with pytest.raises(RegistryUnreachable, match=r"cannot connect to registry 127\.0\.0\.1:1: connection refused"):
        client.ping()
    with pytest.raises(RegistryUnreachable, match=r"cannot connect to registry 127\.0\.0\.1:1: connection refused"):
        client.get_manifest("app", "latest")
    assert time.monotonic() - start < 5  # refused before any contact: no retry loop


def test_html_server_is_not_a_registry(make_client) -> None:
    from registry_fixture import StubServer

    with (
        StubServer.html() as stub,
        pytest.raises(RegistryUnreachable, match=rf"{stub.host} is not a registry: .* with an HTML page"),
    ):
        make_client(stub.host).ping()


def test_404_on_v2_is_not_a_registry(make_client) -> None:
    from registry_fixture import StubServer

    with (
        StubServer.status(404) as stub,
        pytest.raises(RegistryUnreachable, match=r"is not a registry: GET http://.*/v2/ answered HTTP 404"),
    ):
        make_client(stub.host).ping()


def test_server_error_retried_then_reported(make_client) -> None:
    from registry_fixture import StubServer

    with StubServer.status(500) as stub:
        client = make_client(stub.host, config=EngineConfig(max_download_attempts=3))
        with pytest.raises(RegistryError, match=f"registry {stub.host} answered HTTP 500") as info:
            client.get_manifest("app", "latest")
        assert info.value.status == 500
        assert info.value.data["transient"] is True
        assert len(stub.hits) == 3


def test_client_errors_are_not_retried(make_client) -> None:
    from registry_fixture import StubServer

    body = json.dumps({"errors": [{"code": "DENIED", "message": "requested access to the resource is denied"}]})
    with StubServer(lambda m, p, h: (403, {"Content-Type": "application/json"}, body.encode())) as stub:
        client = make_client(stub.host)
        with pytest.raises(RegistryError, match=r"pull access denied for app on .*: forbidden: denied: requested"):
            client.get_manifest("app", "latest")
        assert len(stub.hits) == 1


def test_transient_failure_then_success(stub_server, make_client) -> None:
    manifest = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}).encode()
    answers = iter([(503, {}, b"busy"), (429, {"Retry-After": "0"}, b"slow down")])

    def respond(method: str, path: str, headers: dict) -> tuple[int, dict, bytes]:
        return next(answers, (200, {"Content-Type": mt.OCI_INDEX}, manifest))

    stub = stub_server(respond)
    body, media_type, digest = make_client(stub.host).get_manifest("app", "latest")
    assert (body, media_type, digest) == (manifest, mt.OCI_INDEX, Digest.of_bytes(manifest))
    assert len(stub.hits) == 3


def test_media_type_sniffed_when_header_is_generic(stub_server, make_client) -> None:
    manifest = json.dumps({"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST_LIST, "manifests": []}).encode()
    stub = stub_server(lambda m, p, h: (200, {"Content-Type": "application/json"}, manifest))
    assert make_client(stub.host).get_manifest("app", "latest")[1] == mt.DOCKER_MANIFEST_LIST


def test_manifest_digest_verified(stub_server, make_client) -> None:
    stub = stub_server(lambda m, p, h: (200, {"Content-Type": mt.OCI_INDEX}, b'{"schemaVersion": 2}'))
    wanted = Digest.of_bytes(b"something else")
    with pytest.raises(DigestMismatch, match=f"expected {wanted}"):
        make_client(stub.host).get_manifest("app", str(wanted))


def test_connection_dropped_mid_blob_is_transient(stub_server, make_client) -> None:
    data = b"x" * 5000
    stub = stub_server(lambda m, p, h: (200, {"Content-Length": str(len(data) * 2)}, data))
    chunks = make_client(stub.host).blob_chunks("app", Digest.of_bytes(data * 2))
    got = b""
    with pytest.raises(RegistryError, match="was interrupted after 5000 bytes") as info:
        for chunk in chunks:
            got += chunk
    assert got == data
    assert info.value.data["transient"] is True
    assert info.value.data["offset"] == 5000


def test_range_ignored_by_server_is_handled(stub_server, make_client) -> None:
    data = bytes(range(256)) * 10
    stub = stub_server(lambda m, p, h: (200, {}, data))
    assert b"".join(make_client(stub.host).blob_chunks("app", Digest.of_bytes(data), offset=300)) == data[300:]


# -- mirrors -------------------------------------------------------------------------
def _hub_client(make_client, mirror_url: str, upstream_url: str):
    return make_client(
        "docker.io",
        endpoints=[Endpoint(mirror_url, tls_verify=False, mirror=True), Endpoint(upstream_url, tls_verify=False)],
    )


def test_dead_mirror_falls_back(registry, make_client, pusher) -> None:
    from registry_fixture import StubServer

    img = pusher(make_client(registry), "library/hub")
    client = _hub_client(make_client, StubServer.closed_port(), registry.url)
    assert client.get_manifest("library/hub", "latest")[2] == img.digest
    assert b"".join(client.blob_chunks("library/hub", img.layer_digest)) == img.layer


def test_mirror_serves_when_upstream_is_dead(registry, make_client, pusher) -> None:
    from registry_fixture import StubServer

    img = pusher(make_client(registry), "library/mirrored")
    client = _hub_client(make_client, registry.url, StubServer.closed_port())
    assert client.get_manifest("library/mirrored", "latest")[2] == img.digest
    with pytest.raises(ManifestNotFound):
        client.get_manifest("library/mirrored", "nope")


@pytest.mark.parametrize("status", [404, 500])
def test_mirror_error_falls_back_without_retrying_it(registry, make_client, pusher, status) -> None:
    from registry_fixture import StubServer

    img = pusher(make_client(registry), "library/fallback")
    with StubServer.status(status) as mirror:
        client = _hub_client(make_client, mirror.url, registry.url)
        assert client.get_manifest("library/fallback", "latest")[2] == img.digest
        assert len(mirror.hits) == 1
        # the upstream that worked is remembered for the rest of the operation
        assert b"".join(client.blob_chunks("library/fallback", img.layer_digest)) == img.layer
        assert len(mirror.hits) == 1


def test_push_never_goes_to_a_mirror(registry, make_client, pusher) -> None:
    from registry_fixture import StubServer

    with StubServer.status(500) as mirror:
        client = _hub_client(make_client, mirror.url, registry.url)
        pusher(client, "library/pushed")
        assert mirror.hits == []


def test_mirror_config_drives_endpoints(tmp_path, make_client) -> None:
    client = make_client("docker.io", config=EngineConfig(registry_mirrors=["http://127.0.0.1:1"]))
    assert [(e.url, e.mirror) for e in client.endpoints] == [
        ("http://127.0.0.1:1", True),
        ("https://registry-1.docker.io", False),
    ]


# -- TLS -------------------------------------------------------------------------------
def test_tls_registry_trusted_through_certs_dir(tls_registry, make_client, pusher, tmp_path) -> None:
    certs = tmp_path / "certs.d"
    (certs / tls_registry.host).mkdir(parents=True)
    shutil.copy(tls_registry.ca_cert, certs / tls_registry.host / "ca.crt")
    client = make_client(tls_registry, certs_dir=certs)
    assert client.endpoints[0].url == tls_registry.url
    client.ping()
    img = pusher(client, "berth/tls")
    assert client.get_manifest("berth/tls", "latest")[2] == img.digest


def test_tls_without_ca_fails_clearly(tls_registry, make_client, tmp_path) -> None:
    client = make_client(tls_registry, endpoints=[Endpoint(tls_registry.url, tls_verify=True)])
    with pytest.raises(RegistryUnreachable, match="TLS certificate verification failed") as info:
        client.ping()
    message = str(info.value)
    assert message.startswith(f"cannot connect to registry {tls_registry.host}: TLS certificate verification failed")
    # how to trust its CA: the collection's module, or the file it writes (the engine's certs.d, in full)
    assert f"berth.core.registry module (registry: {tls_registry.host}, ca_cert: the CA certificate)" in message
    assert f"copy it to {tmp_path / 'certs.d' / tls_registry.host / 'ca.crt'} on this host" in message


def test_push_first_to_a_loopback_tls_registry_finds_tls(tls_registry, make_client, pusher) -> None:
    """A push starts with HEADs; over plain HTTP a TLS port answers them with a 400 that has no body
    (HEAD), which alone cannot tell a scheme mismatch from a registry's own 400."""
    client = make_client(tls_registry)
    assert [e.url for e in client.endpoints] == [f"http://{tls_registry.host}", tls_registry.url]
    img = pusher(client, "berth/pushed-first")  # no ping, no GET before the first HEAD
    assert client.get_manifest("berth/pushed-first", "latest")[2] == img.digest
    assert client.blob_exists("berth/pushed-first", img.layer_digest) is not None


def test_engine_push_to_a_loopback_tls_registry(tls_registry, tmp_path) -> None:
    from imagekit import make_image, random_layer

    from berth.engine import Engine

    ref = f"{tls_registry.host}/berth/engine-push:1"
    src = Engine(root=tmp_path / "src")
    make_image(src.store, ref, [random_layer(50_000)])
    src.push(ref)
    dst = Engine(root=tmp_path / "dst")
    dst.pull(ref)
    assert dst.image_id(ref) == src.image_id(ref)


def test_head_400_of_a_plain_registry_is_not_a_scheme_mismatch(stub_server, make_client) -> None:
    """A HEAD's body-less 400 costs one GET /v2/ to tell; a real registry's answer keeps the endpoint."""
    from registry_fixture import StubServer

    stub = stub_server(lambda m, p, h: (400, {"Content-Type": "application/json"}, b'{"errors": []}')
                       if m == "HEAD" else (200, {"Docker-Distribution-Api-Version": "registry/2.0"}, b"{}"))
    client = make_client(stub.host, endpoints=[Endpoint(stub.url, tls_verify=False),
                                               Endpoint(StubServer.closed_port().replace("http://", "https://"),
                                                        tls_verify=False)])
    with pytest.raises(RegistryError, match="answered HTTP 400"):
        client.blob_exists("app", Digest.of_bytes(b"x"))
    assert [m for m, _ in stub.hits] == ["HEAD", "GET"] and stub.hits[1][1] == "/v2/"


def test_nginx_style_tls_port_falls_back(stub_server, tls_registry, make_client) -> None:
    """nginx says "The plain HTTP request was sent to HTTPS port" (with an HTML body)."""
    page = b"<html><center>The plain HTTP request was sent to HTTPS port</center></html>"
    stub = stub_server(lambda m, p, h: (400, {"Content-Type": "text/html"}, page))
    client = make_client(tls_registry, endpoints=[Endpoint(stub.url, tls_verify=False),
                                                  Endpoint(tls_registry.url, tls_verify=False)])
    assert client.blob_exists("app", Digest.of_bytes(b"x")) is None  # the TLS registry's 404
    client.ping()
    assert [m for m, _ in stub.hits] == ["HEAD", "GET"]  # the https endpoint is kept afterwards


def test_insecure_loopback_tls_registry_works_unverified(tls_registry, make_client) -> None:
    # 127.0.0.0/8 is insecure as in Docker: plain HTTP is tried first (and refused by
    # the TLS server with a 400), then HTTPS without verification
    make_client(tls_registry).ping()


def test_plain_registry_over_https_endpoint_fails_with_tls_error(registry, make_client) -> None:
    client = make_client(registry, endpoints=[Endpoint(f"https://{registry.host}", tls_verify=True)])
    with pytest.raises(RegistryUnreachable, match=r"cannot connect to registry .*: TLS"):
        client.ping()


def test_upload_restarts_after_transient_failure(stub_server, make_client) -> None:
    puts = []

    def respond(method: str, path: str, headers: dict) -> tuple[int, dict, bytes]:
        if method == "POST":
            return 202, {"Location": "/v2/app/blobs/uploads/u1?_state=a%2Bb%3D"}, b""
        if method == "PUT":
            puts.append(path)
            return (503, {}, b"busy") if len(puts) == 1 else (201, {}, b"")
        return 404, {}, b""

    stub = stub_server(respond)
    data = b"blob data"
    digest = Digest.of_bytes(data)
    make_client(stub.host).upload_blob("app", digest, len(data), lambda: io.BytesIO(data))
    assert [m for m, _ in stub.hits] == ["POST", "PUT", "POST", "PUT"]
    # the upload state in Location is kept byte for byte, the digest appended
    assert puts[-1] == f"/v2/app/blobs/uploads/u1?_state=a%2Bb%3D&digest=sha256%3A{digest.hex}"


def test_range_past_the_end(stub_server, make_client) -> None:
    stub = stub_server(lambda m, p, h: (416, {}, b""))
    assert list(make_client(stub.host).blob_chunks("app", Digest.of_bytes(b"abc"), offset=3)) == []
