"""Fixtures of the distribution tests: real registries and a client factory."""

from __future__ import annotations

import gzip
import io
import json
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry_fixture import *  # noqa: F403
from registry_fixture import RegistryServer

from berth.config.credentials import Credentials
from berth.config.engine_config import EngineConfig
from berth.distribution import mediatypes as mt
from berth.distribution.endpoints import Endpoint
from berth.distribution.manifests import Descriptor, build_manifest
from berth.reference import Digest


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., object]]:
    """``make_client(server_or_host, credentials=None, config=None, endpoints=None, certs_dir=None)``."""
    from berth.distribution.client import RegistryClient

    made: list[RegistryClient] = []

    def make(
        target: RegistryServer | str,
        *,
        credentials: Credentials | None = None,
        config: EngineConfig | None = None,
        endpoints: list[Endpoint] | None = None,
        certs_dir: Path | None = None,
        backoff: float = 0.01,
    ) -> RegistryClient:
        host = target if isinstance(target, str) else target.host
        client = RegistryClient(
            host,
            config=config or EngineConfig(max_download_attempts=3),
            certs_dir=certs_dir or tmp_path / "certs.d",
            credentials=credentials,
            endpoints=endpoints,
            backoff=backoff,
        )
        made.append(client)
        return client

    yield make
    for c in made:
        c.close()


@dataclass
class PushedImage:
    repository: str
    tag: str
    manifest: bytes
    digest: Digest
    config: bytes
    config_digest: Digest
    layer: bytes
    layer_digest: Digest


def make_layer(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


def push_image(client: object, repository: str, tag: str = "latest", *, content: bytes = b"hello\n") -> PushedImage:
    """Push a one-layer image by hand: config blob, layer blob, manifest."""
    layer = make_layer({"hello.txt": content})
    diff_id = Digest.of_bytes(gzip.decompress(layer))
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": [str(diff_id)]},
        }
    ).encode()
    cdesc = Descriptor(mt.DOCKER_CONFIG, Digest.of_bytes(config), len(config))
    ldesc = Descriptor(mt.DOCKER_LAYER_GZIP, Digest.of_bytes(layer), len(layer))
    for data, desc in ((config, cdesc), (layer, ldesc)):
        if client.blob_exists(repository, desc.digest) is None:
            client.upload_blob(repository, desc.digest, desc.size, lambda data=data: io.BytesIO(data))
    manifest = build_manifest(cdesc, [ldesc])
    digest = client.put_manifest(repository, tag, manifest.raw, manifest.media_type)
    assert digest == manifest.digest
    return PushedImage(repository, tag, manifest.raw, digest, config, cdesc.digest, layer, ldesc.digest)


@pytest.fixture
def pusher() -> Callable[..., PushedImage]:
    return push_image
