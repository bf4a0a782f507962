"""RegistryClient against a real Distribution registry (anonymous, plain HTTP)."""

from __future__ import annotations

import io
import json
import os

import pytest

from berth.distribution import mediatypes as mt
from berth.distribution.failures import BlobUnknown
from berth.distribution.manifests import ImageIndex, ImageManifest, parse_manifest
from berth.errors import DigestMismatch, ManifestInvalid, ManifestNotFound, RegistryError
from berth.reference import Digest, Platform


def _record_methods(client) -> list[str]:
    calls: list[str] = []
    session = client._t.session
    original = session.request

    def request(method: str, url: str, **kw: object) -> object:
        calls.append(method)
        return original(method, url, **kw)

    session.request = request
    return calls


def test_ping(registry, make_client) -> None:
    make_client(registry).ping()


def test_push_then_pull_by_tag_and_digest(registry, make_client, pusher) -> None:
    client = make_client(registry)
    img = pusher(client, "berth/roundtrip", "v1")
    body, media_type, digest = client.get_manifest("berth/roundtrip", "v1")
    assert body == img.manifest
    assert media_type == mt.DOCKER_MANIFEST
    assert digest == img.digest
    body2, _, digest2 = client.get_manifest("berth/roundtrip", str(img.digest))
    assert (body2, digest2) == (img.manifest, img.digest)
    manifest = parse_manifest(body, media_type)
    assert isinstance(manifest, ImageManifest)
    assert b"".join(client.blob_chunks("berth/roundtrip", manifest.config.digest)) == img.config
    assert b"".join(client.blob_chunks("berth/roundtrip", manifest.layers[0].digest)) == img.layer
    assert client.blob_exists("berth/roundtrip", img.layer_digest) == len(img.layer)
    assert client.blob_exists("berth/roundtrip", Digest.of_bytes(b"nope")) is None
    assert client.manifest_digest("berth/roundtrip", "v1") == img.digest
    assert client.manifest_digest("berth/roundtrip", "v404") is None
    assert client.tags("berth/roundtrip") == ["v1"]


def test_blob_chunks_resume_from_offset(registry, make_client, pusher) -> None:
    client = make_client(registry)
    img = pusher(client, "berth/offset")
    assert b"".join(client.blob_chunks("berth/offset", img.layer_digest, offset=10)) == img.layer[10:]


def test_manifest_not_found(registry, make_client, pusher) -> None:
    client = make_client(registry)
    pusher(client, "berth/present")
    with pytest.raises(ManifestNotFound, match=r"manifest for berth/present:nope not found on 127\.0\.0\.1:") as info:
        client.get_manifest("berth/present", "nope")
    assert info.value.status == 404
    with pytest.raises(ManifestNotFound, match="manifest for berth/absent:latest not found"):
        client.get_manifest("berth/absent", "latest")
    with pytest.raises(ManifestNotFound, match="repository berth/absent not found"):
        client.tags("berth/absent")


def test_blob_not_found_raises_before_first_chunk(registry, make_client, pusher) -> None:
    client = make_client(registry)
    pusher(client, "berth/blobs")
    with pytest.raises(BlobUnknown, match="not found in berth/blobs"):
        client.blob_chunks("berth/blobs", Digest.of_bytes(b"missing"))


def test_mount_blob_across_repositories(registry, make_client, pusher) -> None:
    client = make_client(registry)
    img = pusher(client, "berth/mount-src")
    assert client.blob_exists("berth/mount-dst", img.layer_digest) is None
    assert client.mount_blob("berth/mount-dst", img.layer_digest, "berth/mount-src") is True
    assert client.blob_exists("berth/mount-dst", img.layer_digest) == len(img.layer)
    calls = _record_methods(client)
    assert client.mount_blob("berth/mount-dst", Digest.of_bytes(b"unknown"), "berth/mount-src") is False
    assert calls == ["POST", "DELETE"]  # the upload session the registry opened instead is cancelled


def test_chunked_upload(registry, make_client) -> None:
    client = make_client(registry)
    data = os.urandom(3 * 1024 * 1024 + 123)
    digest = Digest.of_bytes(data)
    calls = _record_methods(client)
    client.upload_blob("berth/big", digest, len(data), lambda: io.BytesIO(data), chunk_size=1024 * 1024)
    assert calls == ["POST", "PATCH", "PATCH", "PATCH", "PATCH", "PUT"]
    assert client.blob_exists("berth/big", digest) == len(data)
    assert b"".join(client.blob_chunks("berth/big", digest)) == data
    chunks = list(client.blob_chunks("berth/big", digest))
    assert max(len(c) for c in chunks) <= 1024 * 1024


def test_monolithic_upload_streams_and_closes(registry, make_client) -> None:
    client = make_client(registry)
    data = os.urandom(200_000)
    digest = Digest.of_bytes(data)
    opened: list[io.BytesIO] = []

    def open_stream() -> io.BytesIO:
        opened.append(io.BytesIO(data))
        return opened[-1]

    calls = _record_methods(client)
    client.upload_blob("berth/mono", digest, len(data), open_stream)
    assert calls == ["POST", "PUT"]
    assert all(f.closed for f in opened)
    assert client.blob_exists("berth/mono", digest) == len(data)


def test_upload_with_wrong_digest_is_rejected(registry, make_client) -> None:
    client = make_client(registry)
    with pytest.raises(RegistryError, match="rejected blob") as info:
        client.upload_blob("berth/bad", Digest.of_bytes(b"other"), 4, lambda: io.BytesIO(b"data"))
    assert "DIGEST_INVALID" in info.value.data["codes"]


def test_put_manifest_with_missing_blobs_is_invalid(registry, make_client) -> None:
    from berth.distribution.manifests import Descriptor, build_manifest

    client = make_client(registry)
    m = build_manifest(Descriptor(mt.DOCKER_CONFIG, Digest.of_bytes(b"c"), 1), [])
    with pytest.raises(ManifestInvalid, match="rejected the manifest for berth/incomplete:v1"):
        client.put_manifest("berth/incomplete", "v1", m.raw, m.media_type)


def test_put_manifest_by_digest_checks_digest(registry, make_client) -> None:
    client = make_client(registry)
    with pytest.raises(DigestMismatch):
        client.put_manifest("berth/x", str(Digest.of_bytes(b"a")), b"{}", mt.DOCKER_MANIFEST)


def test_index_push_pull_and_select(registry, make_client, pusher) -> None:
    client = make_client(registry)
    img = pusher(client, "berth/multi", "amd64-only")
    index = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_INDEX,
        "manifests": [
            {"mediaType": mt.DOCKER_MANIFEST, "digest": str(img.digest), "size": len(img.manifest),
             "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    }
    raw = json.dumps(index).encode()
    client.put_manifest("berth/multi", "latest", raw, mt.OCI_INDEX)
    body, media_type, digest = client.get_manifest("berth/multi", "latest")
    assert media_type == mt.OCI_INDEX and digest == Digest.of_bytes(raw)
    parsed = parse_manifest(body, media_type)
    assert isinstance(parsed, ImageIndex)
    assert parsed.select(Platform.parse("linux/amd64")).digest == img.digest


def test_catalog_and_delete(registry, make_client, pusher) -> None:
    client = make_client(registry)
    img = pusher(client, "berth/cat-a")
    pusher(client, "berth/cat-b")
    repos = client.catalog()
    assert {"berth/cat-a", "berth/cat-b"} <= set(repos)
    client.delete_manifest("berth/cat-a", img.digest)
    with pytest.raises(ManifestNotFound):
        client.get_manifest("berth/cat-a", str(img.digest))


def test_catalog_follows_link_pagination(stub_server, make_client) -> None:
    def respond(method: str, path: str, headers: dict) -> tuple[int, dict, bytes]:
        if path == "/v2/_catalog":
            return 200, {"Link": '</v2/_catalog?last=b&n=2>; rel="next"'}, b'{"repositories": ["a", "b"]}'
        if path == "/v2/_catalog?last=b&n=2":
            return 200, {}, b'{"repositories": ["c"]}'
        return 404, {}, b""

    stub = stub_server(respond)
    assert make_client(stub.host).catalog() == ["a", "b", "c"]


def test_client_repr_hides_password(registry, make_client) -> None:
    from berth.config.credentials import Credentials

    client = make_client(registry, credentials=Credentials("bob", "hunter2"))
    assert "hunter2" not in repr(client)
    assert "bob" in repr(client)
