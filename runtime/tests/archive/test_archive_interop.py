"""Compatibility with other writers and readers: skopeo, and ``docker save`` before 25."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from archivekit import need_skopeo, sha256_file

from berth.archive import import_rootfs, load_archive, save_images
from berth.reference import Digest
from berth.store import Store


def _skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    exe = need_skopeo()
    proc = subprocess.run([exe, "--insecure-policy", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc


def _oci_config(layout: Path, tag: str) -> dict:
    index = json.loads((layout / "index.json").read_text())
    [desc] = [m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    manifest = json.loads((layout / "blobs" / "sha256" / desc["digest"].removeprefix("sha256:")).read_text())
    return json.loads((layout / "blobs" / "sha256" / manifest["config"]["digest"].removeprefix("sha256:")).read_text())


@pytest.fixture
def saved(store: Store, rootfs_tar: Path, tmp_path: Path) -> tuple[Digest, Path]:
    image_id = import_rootfs(store, rootfs_tar, "busybox:latest", ['CMD ["sh"]'], "")
    out = tmp_path / "ours.tar"
    save_images(store, ["busybox:latest"], out)
    return image_id, out


def test_skopeo_reads_our_archive_as_docker_archive(saved: tuple[Digest, Path], rootfs_tar: Path,
                                                     tmp_path: Path) -> None:
    _, archive = saved
    layout = tmp_path / "oci"
    _skopeo("copy", f"docker-archive:{archive}", f"oci:{layout}:bb")
    cfg = _oci_config(layout, "bb")
    assert cfg["rootfs"]["diff_ids"] == [sha256_file(rootfs_tar)]
    assert cfg["config"]["Cmd"] == ["sh"]


def test_skopeo_reads_our_archive_as_oci_layout(saved: tuple[Digest, Path], rootfs_tar: Path,
                                                 tmp_path: Path) -> None:
    image_id, archive = saved
    # index.json + OCI manifest + blobs: the same tar is a valid OCI image layout
    proc = _skopeo("inspect", "--raw", f"oci-archive:{archive}:latest")
    manifest = json.loads(proc.stdout)
    assert manifest["config"]["digest"] == str(image_id)
    layout = tmp_path / "oci"
    _skopeo("copy", f"oci-archive:{archive}:latest", f"oci:{layout}:bb")
    assert _oci_config(layout, "bb")["rootfs"]["diff_ids"] == [sha256_file(rootfs_tar)]


def test_we_read_skopeo_docker_archives(saved: tuple[Digest, Path], fresh_store: Store, rootfs_tar: Path,
                                        tmp_path: Path) -> None:
    _, archive = saved
    layout = tmp_path / "oci"
    _skopeo("copy", f"docker-archive:{archive}", f"oci:{layout}:bb")
    theirs = tmp_path / "theirs.tar"
    _skopeo("copy", f"oci:{layout}:bb", f"docker-archive:{theirs}:example.com/team/bb:v1")
    with tarfile.open(theirs) as tar:  # the legacy layout, with <v1 id>/layer.tar symlinks
        assert any(m.issym() and m.name.endswith("/layer.tar") for m in tar.getmembers())

    assert load_archive(fresh_store, theirs) == ["example.com/team/bb:v1"]
    image_id = fresh_store.images.resolve("example.com/team/bb:v1")
    cfg = json.loads(fresh_store.blobs.read(image_id))
    assert cfg == _oci_config(layout, "bb")
    [diff_id] = cfg["rootfs"]["diff_ids"]
    assert diff_id == sha256_file(rootfs_tar)
    assert (fresh_store.layers.diff_dir(Digest.parse(diff_id)) / "bin" / "busybox").is_file()


def test_round_trip_through_skopeo_keeps_the_image_id(saved: tuple[Digest, Path], fresh_store: Store,
                                                       tmp_path: Path) -> None:
    image_id, archive = saved
    theirs = tmp_path / "theirs.tar"
    # docker-archive -> docker-archive keeps the config byte for byte
    _skopeo("copy", f"docker-archive:{archive}", f"docker-archive:{theirs}:busybox:copied")
    assert load_archive(fresh_store, theirs) == ["busybox:copied"]
    assert fresh_store.images.resolve("busybox:copied") == image_id


def _tar_add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _layer(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            _tar_add(tar, name, data)
    return buf.getvalue()


def build_legacy_archive(path: Path, layers: list[bytes], *, repo_tags: list[str], compress_layers: bool = False,
                         cmd: list[str] | None = None) -> Digest:
    """An archive as ``docker save`` wrote it before Docker 25 (1.10 to 24.x)."""
    diff_ids = ["sha256:" + hashlib.sha256(t).hexdigest() for t in layers]
    config = {
        "architecture": "amd64", "os": "linux", "created": "2020-01-01T00:00:00Z",
        "config": {"Cmd": cmd or ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2020-01-01T00:00:00Z", "created_by": f"layer {i}"} for i in range(len(layers))],
    }
    config_raw = json.dumps(config).encode()
    image_id = Digest.of_bytes(config_raw)
    v1_ids = [hashlib.sha256(f"v1-{d}".encode()).hexdigest() for d in diff_ids]
    with tarfile.open(path, "w") as tar:
        for i, (v1, data) in enumerate(zip(v1_ids, layers, strict=True)):
            info = tarfile.TarInfo(v1)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
            _tar_add(tar, f"{v1}/VERSION", b"1.0")
            v1_json = {"id": v1, "created": "2020-01-01T00:00:00Z"}
            if i:
                v1_json["parent"] = v1_ids[i - 1]
            _tar_add(tar, f"{v1}/json", json.dumps(v1_json).encode())
            _tar_add(tar, f"{v1}/layer.tar", gzip.compress(data) if compress_layers else data)
        _tar_add(tar, f"{image_id.hex}.json", config_raw)
        manifest = [{"Config": f"{image_id.hex}.json", "RepoTags": repo_tags,
                     "Layers": [f"{v1}/layer.tar" for v1 in v1_ids]}]
        _tar_add(tar, "manifest.json", json.dumps(manifest).encode())
        repos: dict[str, dict[str, str]] = {}
        for t in repo_tags:
            name, _, tag = t.rpartition(":")
            repos.setdefault(name, {})[tag] = v1_ids[-1]
        _tar_add(tar, "repositories", json.dumps(repos).encode())
    return image_id


@pytest.mark.parametrize("compress_layers", [False, True])
def test_load_legacy_docker_save(store: Store, tmp_path: Path, compress_layers: bool) -> None:
    layers = [_layer({"etc/a": b"first"}), _layer({"etc/b": b"second", "etc/a": b"changed"})]
    archive = tmp_path / "legacy.tar"
    image_id = build_legacy_archive(archive, layers, repo_tags=["legacy:1", "legacy:latest"],
                                    compress_layers=compress_layers)
    assert load_archive(store, archive) == ["legacy:1", "legacy:latest"]
    assert store.images.resolve("legacy:1") == store.images.resolve("legacy") == image_id
    rec = store.images.get(image_id)
    assert rec is not None
    assert [str(d) for d in rec.diff_ids()] == ["sha256:" + hashlib.sha256(t).hexdigest() for t in layers]
    for layer, plain in zip(rec.layers, layers, strict=True):
        assert gzip.decompress(store.blobs.read(layer.blob)) == plain
    assert (store.layers.diff_dir(rec.diff_ids()[1]) / "etc" / "a").read_bytes() == b"changed"
    manifest = json.loads(store.blobs.read(rec.manifest))
    assert [x["digest"] for x in manifest["layers"]] == [str(x.blob) for x in rec.layers]


def test_load_then_save_keeps_legacy_image_id(store: Store, fresh_store: Store, tmp_path: Path) -> None:
    archive = tmp_path / "legacy.tar"
    image_id = build_legacy_archive(archive, [_layer({"x": b"1"})], repo_tags=["legacy:1"])
    load_archive(store, archive)
    out = tmp_path / "resaved.tar"
    save_images(store, ["legacy:1"], out)
    assert load_archive(fresh_store, out) == ["legacy:1"]
    assert fresh_store.images.resolve("legacy:1") == image_id
