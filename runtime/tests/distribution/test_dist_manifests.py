from __future__ import annotations

import json

import pytest

from berth.distribution import mediatypes as mt
from berth.distribution.manifests import Descriptor, ImageIndex, ImageManifest, build_manifest, parse_manifest
from berth.errors import ManifestInvalid, PlatformNotFound
from berth.reference import Digest, Platform

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64


def _manifest(**over: object) -> dict:
    doc = {
        "schemaVersion": 2,
        "mediaType": mt.DOCKER_MANIFEST,
        "config": {"mediaType": mt.DOCKER_CONFIG, "digest": D1, "size": 100},
        "layers": [
            {"mediaType": mt.DOCKER_LAYER_GZIP, "digest": D2, "size": 2000},
            {"mediaType": mt.DOCKER_LAYER_GZIP, "digest": D3, "size": 3000},
        ],
    }
    doc.update(over)
    return doc


def _entry(digest: str, os_: str, arch: str, variant: str = "", **extra: object) -> dict:
    plat = {"os": os_, "architecture": arch}
    if variant:
        plat["variant"] = variant
    return {"mediaType": mt.OCI_MANIFEST, "digest": digest, "size": 500, "platform": plat, **extra}


def _index(entries: list[dict]) -> ImageIndex:
    raw = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": entries}).encode()
    idx = parse_manifest(raw, mt.OCI_INDEX)
    assert isinstance(idx, ImageIndex)
    return idx


def h(n: int) -> str:
    return f"sha256:{n:064x}"


def test_parse_docker_manifest() -> None:
    raw = json.dumps(_manifest()).encode()
    m = parse_manifest(raw, mt.DOCKER_MANIFEST + "; charset=utf-8")
    assert isinstance(m, ImageManifest)
    assert m.media_type == mt.DOCKER_MANIFEST
    assert m.config.digest == Digest.parse(D1)
    assert [x.size for x in m.layers] == [2000, 3000]
    assert m.digest == Digest.of_bytes(raw)
    assert m.total_size == 5100
    assert m.raw == raw


def test_media_type_detected_from_body_when_header_missing() -> None:
    raw = json.dumps(_manifest()).encode()
    assert parse_manifest(raw, None).media_type == mt.DOCKER_MANIFEST
    assert parse_manifest(raw, "application/json").media_type == mt.DOCKER_MANIFEST


def test_oci_manifest_without_media_type_is_detected_by_shape() -> None:
    doc = _manifest()
    del doc["mediaType"]
    assert parse_manifest(json.dumps(doc).encode(), None).media_type == mt.OCI_MANIFEST
    idx = {"schemaVersion": 2, "manifests": [_entry(D1, "linux", "amd64")]}
    assert isinstance(parse_manifest(json.dumps(idx).encode(), None), ImageIndex)


def test_index_detected_by_header() -> None:
    raw = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert parse_manifest(raw, mt.DOCKER_MANIFEST_LIST).media_type == mt.DOCKER_MANIFEST_LIST


@pytest.mark.parametrize(
    ("raw", "media_type"),
    [
        (json.dumps({"schemaVersion": 1, "name": "x", "fsLayers": []}).encode(), None),
        (b'{"schemaVersion": 1}', mt.DOCKER_SCHEMA1_SIGNED),
        (json.dumps(_manifest(mediaType=mt.DOCKER_SCHEMA1)).encode(), None),
    ],
)
def test_schema1_rejected(raw: bytes, media_type: str | None) -> None:
    with pytest.raises(ManifestInvalid, match="schema1 manifests are not supported"):
        parse_manifest(raw, media_type)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_manifest(layers=[{"mediaType": mt.DOCKER_LAYER_GZIP, "digest": D2, "size": 1},
                           {"mediaType": mt.DOCKER_LAYER_GZIP, "digest": "sha256:zz", "size": 1}]),
         r"layers\[1\]\.digest"),
        (_manifest(config={"mediaType": mt.DOCKER_CONFIG, "digest": D1, "size": -1}), r"config\.size"),
        (_manifest(config={"mediaType": mt.DOCKER_CONFIG, "digest": D1, "size": True}), r"config\.size"),
        (_manifest(config={"digest": D1, "size": 1}), r"config\.mediaType"),
        (_manifest(layers="nope"), "layers: expected a list"),
        ({k: v for k, v in _manifest().items() if k != "config"}, "config: missing"),
        (_manifest(schemaVersion=3), "schemaVersion: expected 2"),
        (_manifest(mediaType="application/vnd.example+json"), "unsupported manifest media type"),
        ({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [{"mediaType": mt.OCI_MANIFEST, "digest": D1,
                                                                        "size": 1, "platform": "linux"}]},
         r"manifests\[0\]\.platform"),
        ([1, 2], "not a JSON object"),
    ],
)
def test_invalid_manifests_name_the_field(doc: object, message: str) -> None:
    with pytest.raises(ManifestInvalid, match=message):
        parse_manifest(json.dumps(doc).encode(), None)


def test_not_json() -> None:
    with pytest.raises(ManifestInvalid, match="not valid JSON"):
        parse_manifest(b"<html>", "text/html")


def test_build_manifest_round_trips() -> None:
    config = Descriptor(mt.OCI_CONFIG, Digest.parse(D1), 10)
    layers = [Descriptor(mt.OCI_LAYER_GZIP, Digest.parse(D2), 20, annotations={"a": "b"})]
    built = build_manifest(config, layers, oci=True)
    parsed = parse_manifest(built.raw, built.media_type)
    assert parsed == built
    assert parsed.digest == Digest.of_bytes(built.raw)


MULTI = [
    _entry(h(1), "linux", "amd64"),
    _entry(h(2), "linux", "arm64", "v8"),
    _entry(h(3), "linux", "arm", "v6"),
    _entry(h(4), "linux", "arm", "v7"),
    _entry(h(5), "unknown", "unknown",
           annotations={"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": h(1)}),
    _entry(h(6), "windows", "amd64"),
]


@pytest.mark.parametrize(
    ("wanted", "digest"),
    [
        ("linux/amd64", h(1)),
        ("linux/arm64", h(2)),
        ("linux/arm64/v8", h(2)),
        ("linux/aarch64", h(2)),
        ("linux/arm/v7", h(4)),
        ("linux/arm/v6", h(3)),
        ("windows/amd64", h(6)),
    ],
)
def test_select_platform(wanted: str, digest: str) -> None:
    assert str(_index(MULTI).select(Platform.parse(wanted)).digest) == digest


def test_select_arm64_without_variant_in_index() -> None:
    idx = _index([_entry(h(1), "linux", "amd64"), _entry(h(2), "linux", "arm64")])
    assert str(idx.select(Platform.parse("linux/arm64/v8")).digest) == h(2)


def test_select_missing_platform_lists_available_and_skips_attestations() -> None:
    idx = _index([e for e in MULTI if e["digest"] != h(1)])
    with pytest.raises(PlatformNotFound) as info:
        idx.select(Platform.parse("linux/amd64"))
    msg = str(info.value)
    assert "no matching manifest for linux/amd64" in msg
    assert "linux/arm64/v8, linux/arm/v6, linux/arm/v7, windows/amd64" in msg
    assert "unknown" not in msg
    assert info.value.data["available"] == ["linux/arm64/v8", "linux/arm/v6", "linux/arm/v7", "windows/amd64"]


def test_attestation_never_selected_even_if_annotated_with_real_platform() -> None:
    att = _entry(h(9), "linux", "amd64", annotations={"vnd.docker.reference.type": "attestation-manifest"})
    idx = _index([att, _entry(h(1), "linux", "amd64")])
    assert str(idx.select(Platform.parse("linux/amd64")).digest) == h(1)


def test_layer_compression() -> None:
    assert mt.layer_compression(mt.DOCKER_LAYER_GZIP) == "gzip"
    assert mt.layer_compression(mt.OCI_LAYER_ZSTD) == "zstd"
    assert mt.layer_compression(mt.OCI_LAYER_TAR) == "none"
    with pytest.raises(ValueError, match="unsupported layer media type"):
        mt.layer_compression("text/plain")
