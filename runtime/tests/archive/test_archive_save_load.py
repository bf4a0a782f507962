"""``save`` writes Docker 25+'s layout; ``load`` reads it back (and other layouts)."""

from __future__ import annotations

import gzip
import hashlib
import json
import lzma
import tarfile
from pathlib import Path

import pytest
from archivekit import make_rootfs_tar, sha256_file
from imagekit import make_image

from berth.archive import import_rootfs, load_archive, save_images
from berth.errors import ArchiveError, ImageNotFound
from berth.reference import Digest
from berth.store import Store

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: (tar.extractfile(m).read() if m.isfile() else b"") for m in tar.getmembers()}  # type: ignore[union-attr]


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def busybox(store: Store, rootfs_tar: Path) -> Digest:
    return import_rootfs(store, rootfs_tar, "busybox:latest", ['CMD ["sh"]', "ENV A=1 B=2"], "")


def test_save_layout_is_docker_25(store: Store, busybox: Digest, rootfs_tar: Path, tmp_path: Path) -> None:
    out = tmp_path / "busybox.tar"
    save_images(store, ["busybox"], out)
    files = _members(out)
    diff_id = sha256_file(rootfs_tar)
    layer_name = f"blobs/sha256/{diff_id.removeprefix('sha256:')}"
    config_name = f"blobs/sha256/{busybox.hex}"

    assert files["oci-layout"] == b'{"imageLayoutVersion": "1.0.0"}'
    assert files[layer_name] == rootfs_tar.read_bytes()  # uncompressed, hashes to its diff_id
    assert files[config_name] == store.blobs.read(busybox)
    assert json.loads(files["manifest.json"]) == [
        {"Config": config_name, "RepoTags": ["busybox:latest"], "Layers": [layer_name]}
    ]
    assert json.loads(files["repositories"]) == {"busybox": {"latest": diff_id.removeprefix("sha256:")}}

    index = json.loads(files["index.json"])
    assert index["schemaVersion"] == 2 and index["mediaType"] == OCI_INDEX
    [entry] = index["manifests"]
    assert entry["annotations"] == {"io.containerd.image.name": "docker.io/library/busybox:latest",
                                    "org.opencontainers.image.ref.name": "latest"}
    manifest_raw = files[f"blobs/sha256/{entry['digest'].removeprefix('sha256:')}"]
    assert _sha(manifest_raw) == entry["digest"] and len(manifest_raw) == entry["size"]
    manifest = json.loads(manifest_raw)
    assert manifest["mediaType"] == entry["mediaType"] == OCI_MANIFEST
    assert manifest["config"] == {"mediaType": OCI_CONFIG, "digest": str(busybox), "size": len(files[config_name])}
    assert manifest["layers"] == [{"mediaType": OCI_LAYER_TAR, "digest": diff_id, "size": rootfs_tar.stat().st_size}]
    # every blob is named by its content
    for name, data in files.items():
        if name.startswith("blobs/sha256/") and data:
            assert _sha(data) == "sha256:" + name.rsplit("/", 1)[1]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp file left


def test_save_is_reproducible(store: Store, busybox: Digest, tmp_path: Path) -> None:
    save_images(store, ["busybox:latest"], tmp_path / "a.tar")
    save_images(store, ["busybox:latest"], tmp_path / "b.tar")
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()


def test_save_then_load_into_a_fresh_store(store: Store, fresh_store: Store, busybox: Digest, tmp_path: Path) -> None:
    out = tmp_path / "busybox.tar"
    save_images(store, ["busybox:latest"], out)
    assert load_archive(fresh_store, out) == ["busybox:latest"]

    assert fresh_store.images.resolve("busybox:latest") == busybox
    assert fresh_store.blobs.read(busybox) == store.blobs.read(busybox)
    original, loaded = store.images.get(busybox), fresh_store.images.get(busybox)
    assert original is not None and loaded is not None
    assert loaded.source == "load"
    assert loaded.layers == original.layers  # same deterministic gzip blob
    assert loaded.manifest == original.manifest  # hence the same manifest digest: push is stable
    for d in loaded.blobs():
        assert fresh_store.blobs.verify(d)
    assert all(fresh_store.layers.has(d) for d in loaded.diff_ids())
    assert fresh_store.gc().blobs == []

    # loading again changes nothing
    blobs = sorted(fresh_store.blobs)
    assert load_archive(fresh_store, out) == ["busybox:latest"]
    assert sorted(fresh_store.blobs) == blobs


def test_round_trip_of_a_multi_layer_image(store: Store, fresh_store: Store, tmp_path: Path) -> None:
    rec = make_image(store, "app:v1", [{"a.txt": b"one"}, {"b.txt": b"two"}, {"a.txt": b"three"}])
    out = tmp_path / "app.tar"
    save_images(store, ["app:v1"], out)
    assert load_archive(fresh_store, out) == ["app:v1"]
    loaded = fresh_store.images.get(rec.id)
    assert loaded is not None
    assert loaded.diff_ids() == rec.diff_ids()
    for mine, theirs in zip(loaded.layers, rec.layers, strict=True):
        assert gzip.decompress(fresh_store.blobs.read(mine.blob)) == gzip.decompress(store.blobs.read(theirs.blob))
    assert (fresh_store.layers.diff_dir(rec.diff_ids()[2]) / "a.txt").read_bytes() == b"three"


def test_two_tags_of_one_image_make_one_entry(store: Store, busybox: Digest, fresh_store: Store,
                                               tmp_path: Path) -> None:
    with store.images.editing_names() as names:
        names.tags["localhost:5000/tools/busybox:1.36"] = str(busybox)
    out = tmp_path / "two.tar"
    save_images(store, ["busybox:latest", "localhost:5000/tools/busybox:1.36", "busybox"], out)
    files = _members(out)
    [item] = json.loads(files["manifest.json"])
    assert item["RepoTags"] == ["busybox:latest", "localhost:5000/tools/busybox:1.36"]
    index = json.loads(files["index.json"])
    assert [m["annotations"]["io.containerd.image.name"] for m in index["manifests"]] == [
        "docker.io/library/busybox:latest", "localhost:5000/tools/busybox:1.36"]
    repos = json.loads(files["repositories"])
    assert set(repos) == {"busybox", "localhost:5000/tools/busybox"}
    assert load_archive(fresh_store, out) == ["busybox:latest", "localhost:5000/tools/busybox:1.36"]
    assert fresh_store.images.resolve("localhost:5000/tools/busybox:1.36") == busybox


def test_save_by_id_is_untagged(store: Store, busybox: Digest, fresh_store: Store, tmp_path: Path) -> None:
    out = tmp_path / "byid.tar"
    save_images(store, [busybox.short], out)
    files = _members(out)
    [item] = json.loads(files["manifest.json"])
    assert item["RepoTags"] == []
    assert "repositories" not in files
    [entry] = json.loads(files["index.json"])["manifests"]
    assert "annotations" not in entry
    assert load_archive(fresh_store, out) == [str(busybox)]
    assert fresh_store.images.names().tags == {}
    assert fresh_store.images.get(busybox) is not None


def test_save_several_images_shares_layers(store: Store, rootfs_tar: Path, fresh_store: Store,
                                           tmp_path: Path) -> None:
    a = import_rootfs(store, rootfs_tar, "a:1", ['CMD ["a"]'], "")
    b = import_rootfs(store, rootfs_tar, "b:1", ['CMD ["b"]'], "")
    other = make_rootfs_tar(tmp_path / "other.tar", extra={"etc/other": b"x"})
    c = import_rootfs(store, other, "c:1", [], "")
    out = tmp_path / "abc.tar"
    save_images(store, ["a:1", "b:1", f"sha256:{c.hex}"], out)
    files = _members(out)
    layer_files = [n for n, d in files.items() if n.startswith("blobs/") and d[257:262] == b"ustar"]
    assert len(layer_files) == 2  # a and b share theirs
    items = json.loads(files["manifest.json"])
    assert [i["RepoTags"] for i in items] == [["a:1"], ["b:1"], []]
    assert load_archive(fresh_store, out) == ["a:1", "b:1", str(c)]
    assert {str(i) for i in fresh_store.images.ids()} == {str(a), str(b), str(c)}


def test_save_unknown_image_writes_nothing(store: Store, busybox: Digest, tmp_path: Path) -> None:
    out = tmp_path / "x.tar"
    for ref in ("busybox:nope", "nothing", "sha256:" + "0" * 64):
        with pytest.raises(ImageNotFound):
            save_images(store, ["busybox", ref], out)
    assert list(tmp_path.glob("*x.tar*")) == []


def test_save_replaces_output_atomically(store: Store, busybox: Digest, tmp_path: Path) -> None:
    out = tmp_path / "busybox.tar"
    out.write_bytes(b"old")
    with pytest.raises(ImageNotFound):
        save_images(store, ["missing:tag"], out)
    assert out.read_bytes() == b"old"
    save_images(store, ["busybox"], out)
    assert tarfile.is_tarfile(out)


def test_save_into_a_missing_directory(store: Store, busybox: Digest, tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="cannot write"):
        save_images(store, ["busybox"], tmp_path / "no" / "such" / "dir.tar")


@pytest.mark.parametrize("compress", ["gzip", "xz"])
def test_load_compressed_archive(store: Store, busybox: Digest, fresh_store: Store, tmp_path: Path,
                                 compress: str) -> None:
    plain = tmp_path / "busybox.tar"
    save_images(store, ["busybox"], plain)
    packed = tmp_path / f"busybox.tar.{compress}"
    data = plain.read_bytes()
    packed.write_bytes(gzip.compress(data) if compress == "gzip" else lzma.compress(data))
    assert load_archive(fresh_store, packed) == ["busybox:latest"]
    assert fresh_store.images.resolve("busybox") == busybox
    assert list(fresh_store.paths.tmp.iterdir()) == []  # the decompressed copy is gone


def test_load_retags_an_existing_image(store: Store, busybox: Digest, tmp_path: Path) -> None:
    out = tmp_path / "busybox.tar"
    save_images(store, ["busybox"], out)
    before = store.images.get(busybox)
    with store.images.editing_names() as names:
        del names.tags["docker.io/library/busybox:latest"]
    assert load_archive(store, out) == ["busybox:latest"]
    assert store.images.resolve("busybox") == busybox
    assert store.images.get(busybox) == before  # the record (and its manifest) is kept
