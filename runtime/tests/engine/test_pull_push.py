"""Pull and push through the Engine against a real registry (Debian's docker-registry)."""

from __future__ import annotations

import json
import stat

import pytest
from imagekit import make_image, random_layer

from berth.config import EngineConfig
from berth.engine import Engine
from berth.errors import (
    AuthenticationRequired,
    DigestMismatch,
    ImageNotFound,
    InvalidReference,
    ManifestNotFound,
    PlatformNotFound,
    RegistryError,
    RegistryUnreachable,
    SizeMismatch,
)
from berth.reference import Digest


def _catalog(server) -> list[str]:
    import requests

    return requests.get(f"{server.url}/v2/_catalog", timeout=5).json()["repositories"]


def _registry_blob(server, digest: Digest):
    return server.root / "docker/registry/v2/blobs" / digest.algorithm / digest.hex[:2] / digest.hex / "data"


def test_seed_private_registry_scenario(tmp_path, registry) -> None:
    """tag, push, /v2/_catalog lists it, rmi, pull back: same digest, same image ID."""
    eng = Engine(root=tmp_path / "a")
    rec = make_image(eng.store, "centos:7", [random_layer(200_000), random_layer(50_000), {"etc/hosts": b"x"}])
    target = f"{registry.host}/seed/centos:7.1"
    assert eng.tag("centos:7", target)
    pushed = eng.push(target)
    assert pushed.uploaded == 4  # config + 3 layers
    assert "seed/centos" in _catalog(registry)
    assert eng.push(target).uploaded == 0  # HEAD says the registry has everything
    eng.rmi(target)
    eng.rmi("centos:7")
    assert eng.images() == [] and list(eng.store.blobs) == []
    res = eng.pull(target)
    assert res.digest == pushed.digest and res.image_id == rec.id and res.downloaded
    info = eng.inspect_image(target)
    assert info["RepoDigests"] == [f"{registry.host}/seed/centos@{pushed.digest}"]
    again = eng.pull(target)
    assert not again.downloaded and again.status.startswith("Image is up to date")
    assert eng.system_check().clean


def test_cold_pull_into_another_engine_and_cross_repo_mount(tmp_path, registry) -> None:
    src = Engine(root=tmp_path / "src")
    rec = make_image(src.store, f"{registry.host}/mount/one:1", [random_layer(100_000)])
    src.push(f"{registry.host}/mount/one:1")
    src.tag(f"{registry.host}/mount/one:1", f"{registry.host}/mount/two:1")
    res = src.push(f"{registry.host}/mount/two:1")
    assert res.uploaded == 0  # blobs mounted from mount/one, not uploaded again
    dst = Engine(root=tmp_path / "dst")
    pulled = dst.pull(f"{registry.host}/mount/two:1")
    assert pulled.image_id == rec.id
    layer_dir = dst.store.layers.diff_dir(rec.layers[0].diff_id)
    assert (layer_dir / "blob.bin").stat().st_size == 100_000


def test_pull_by_digest_and_wrong_digest(tmp_path, registry) -> None:
    src = Engine(root=tmp_path / "src")
    make_image(src.store, f"{registry.host}/bydigest/app:1", [random_layer(1000)])
    pushed = src.push(f"{registry.host}/bydigest/app:1")
    dst = Engine(root=tmp_path / "dst")
    res = dst.pull(f"{registry.host}/bydigest/app@{pushed.digest}")
    assert res.digest == pushed.digest
    assert dst.images()[0]["Repository"] == "<none>"  # pulled by digest only: no tag, like docker
    with pytest.raises(ManifestNotFound):
        dst.pull(f"{registry.host}/bydigest/app@sha256:{'0' * 64}")


def _push_index(registry, src: Engine, repo: str, arches: list[str]) -> Digest:
    from berth.distribution import mediatypes as mt

    entries = []
    for arch in arches:
        rec = make_image(src.store, f"{registry.host}/{repo}:{arch}", [random_layer(500)], arch=arch)
        pushed = src.push(f"{registry.host}/{repo}:{arch}")
        plat = {"architecture": arch, "os": "linux", **({"variant": "v8"} if arch == "arm64" else {})}
        entries.append({"mediaType": rec.manifest_media_type, "digest": str(pushed.digest),
                        "size": pushed.size, "platform": plat})
    index = json.dumps({"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST_LIST, "manifests": entries}).encode()
    client = src.registry_client(registry.host)
    return client.put_manifest(repo, "multi", index, mt.DOCKER_MANIFEST_LIST)


def test_manifest_list_platform_choice(tmp_path, registry) -> None:
    src = Engine(root=tmp_path / "src")
    index_digest = _push_index(registry, src, "plat/app", ["amd64", "arm64"])
    dst = Engine(root=tmp_path / "dst")
    res = dst.pull(f"{registry.host}/plat/app:multi")
    assert res.digest == index_digest
    assert dst.inspect_image(f"{registry.host}/plat/app:multi")["Architecture"] == "amd64"
    arm = Engine(root=tmp_path / "arm")
    arm.pull(f"{registry.host}/plat/app:multi", platform="linux/arm64")
    assert arm.inspect_image(f"{registry.host}/plat/app:multi")["Architecture"] == "arm64"
    assert arm.system_check().clean


def test_manifest_list_without_this_platform(tmp_path, registry) -> None:
    src = Engine(root=tmp_path / "src")
    _push_index(registry, src, "armonly/app", ["arm64"])
    dst = Engine(root=tmp_path / "dst")
    with pytest.raises(PlatformNotFound, match="linux/amd64"):
        dst.pull(f"{registry.host}/armonly/app:multi")
    assert list(dst.store.blobs) == [] and dst.images() == []


def test_corrupted_blob_is_an_error_and_nothing_is_kept(tmp_path, registry) -> None:
    src = Engine(root=tmp_path / "src")
    rec = make_image(src.store, f"{registry.host}/corrupt/app:1", [random_layer(10_000)])
    src.push(f"{registry.host}/corrupt/app:1")
    data = _registry_blob(registry, rec.layers[0].blob)
    good = data.read_bytes()
    data.write_bytes(good[:-10] + b"0123456789")  # same size, different bytes
    dst = Engine(root=tmp_path / "dst")
    with pytest.raises(DigestMismatch, match="digest mismatch"):
        dst.pull(f"{registry.host}/corrupt/app:1")
    assert list(dst.store.blobs) == [] and list(dst.store.layers) == [] and dst.images() == []
    assert not any(dst.paths.tmp.iterdir())
    data.write_bytes(good[:-100])  # truncated
    with pytest.raises((SizeMismatch, RegistryError)):
        dst.pull(f"{registry.host}/corrupt/app:1")
    assert list(dst.store.blobs) == [] and dst.images() == []
    data.write_bytes(good)
    assert dst.pull(f"{registry.host}/corrupt/app:1").image_id == rec.id


def test_unknown_image_and_bad_hosts(tmp_path, registry) -> None:
    eng = Engine(root=tmp_path / "e", config=EngineConfig(max_download_attempts=2))
    with pytest.raises(ManifestNotFound, match="not found"):
        eng.pull(f"{registry.host}/no/such:image")
    with pytest.raises(InvalidReference):
        eng.pull("Bad:Ref:")
    with pytest.raises(RegistryUnreachable, match="cannot connect"):
        eng.pull("127.0.0.1:1/app:1")
    from registry_fixture import StubServer

    with StubServer.html() as page, pytest.raises(RegistryUnreachable):
        eng.pull(f"{page.host}/app:1")
    for code, exc in ((500, RegistryError), (403, RegistryError), (401, RegistryError)):
        with StubServer.status(code) as srv, pytest.raises(exc):
            eng.pull(f"{srv.host}/app:1")
    assert list(eng.store.blobs) == [] and eng.images() == []
    with pytest.raises(ImageNotFound):
        eng.push("never/pulled:1")


def test_login_push_pull_with_basic_auth(tmp_path, auth_registry) -> None:
    eng = Engine(root=tmp_path / "e")
    make_image(eng.store, f"{auth_registry.host}/team/app:1", [random_layer(1000)])
    with pytest.raises(AuthenticationRequired):
        eng.push(f"{auth_registry.host}/team/app:1")
    with pytest.raises(AuthenticationRequired, match="login"):
        eng.login(auth_registry.host, auth_registry.username, "wrong")
    assert not eng.paths.auth_file.exists()
    assert eng.login(auth_registry.host, auth_registry.username, auth_registry.password) is True
    assert eng.login(auth_registry.host, auth_registry.username, auth_registry.password) is False
    assert stat.S_IMODE(eng.paths.auth_file.stat().st_mode) == 0o600
    eng.push(f"{auth_registry.host}/team/app:1")
    other = Engine(root=tmp_path / "e")  # a new process would read the stored credentials
    other.rmi(f"{auth_registry.host}/team/app:1")
    assert other.pull(f"{auth_registry.host}/team/app:1").downloaded
    assert eng.logout(auth_registry.host) is True
    with pytest.raises(AuthenticationRequired):
        Engine(root=tmp_path / "fresh").pull(f"{auth_registry.host}/team/app:1")


def test_login_push_pull_with_bearer_tokens(tmp_path, token_registry) -> None:
    eng = Engine(root=tmp_path / "e")
    make_image(eng.store, f"{token_registry.host}/tok/app:1", [random_layer(1000)])
    with pytest.raises(AuthenticationRequired):
        eng.push(f"{token_registry.host}/tok/app:1")
    eng.login(token_registry.host, token_registry.username, token_registry.password)
    eng.push(f"{token_registry.host}/tok/app:1")
    fresh = Engine(root=tmp_path / "e2")
    fresh.login(token_registry.host, token_registry.username, token_registry.password)
    assert fresh.pull(f"{token_registry.host}/tok/app:1").downloaded


def test_mirror_serves_docker_io_names_and_dead_mirror_falls_through(tmp_path, registry) -> None:
    from registry_fixture import StubServer

    src = Engine(root=tmp_path / "src")
    rec = make_image(src.store, f"{registry.host}/library/busybox:latest", [random_layer(1000)])
    src.push(f"{registry.host}/library/busybox:latest")
    dead = StubServer.closed_port()
    cfg = EngineConfig(registry_mirrors=[f"http://{dead}", registry.url], max_download_attempts=2)
    eng = Engine(root=tmp_path / "m", config=cfg)
    res = eng.pull("busybox")
    assert res.image_id == rec.id
    assert eng.images()[0]["Repository"] == "busybox"
