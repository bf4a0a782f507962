"""``import``: a busybox rootfs tarball becomes a one-layer image."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from archivekit import assert_store_empty, make_rootfs_tar, sha256_file

from berth.archive import import_rootfs
from berth.errors import ArchiveError, InvalidArgument
from berth.reference import Digest, Platform
from berth.store import Store

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def _config(store: Store, image_id: Digest) -> dict:
    return json.loads(store.blobs.read(image_id))


def test_import_busybox_with_changes(store: Store, rootfs_tar: Path) -> None:
    image_id = import_rootfs(store, rootfs_tar, "busybox:imported", ['CMD ["sh"]', "ENV A=1 B=2"], "")

    cfg = _config(store, image_id)
    assert Digest.of_bytes(store.blobs.read(image_id)) == image_id
    assert cfg["config"] == {"Cmd": ["sh"], "Env": ["A=1", "B=2"]}
    assert cfg["architecture"] == Platform.host().architecture
    assert cfg["os"] == "linux"
    assert cfg["created"].endswith("Z") and "T" in cfg["created"]
    assert cfg["comment"] == "Imported from -"
    assert cfg["history"] == [{"created": cfg["created"], "comment": "Imported from -"}]
    diff_id = sha256_file(rootfs_tar)  # the tar is the layer, byte for byte
    assert cfg["rootfs"] == {"type": "layers", "diff_ids": [diff_id]}

    # record and name
    rec = store.images.get(image_id)
    assert rec is not None and rec.source == "import"
    assert store.images.resolve("busybox:imported") == image_id
    assert store.images.names().tags == {"docker.io/library/busybox:imported": str(image_id)}
    assert [str(d) for d in rec.diff_ids()] == [diff_id]

    # blobs: config, manifest, gzip layer that decompresses to the tar
    layer = rec.layers[0]
    assert layer.media_type == DOCKER_LAYER_GZIP
    for d in (rec.id, rec.manifest, layer.blob):
        assert store.blobs.has(d) and store.blobs.verify(d)
    assert store.blobs.size(layer.blob) == layer.size
    assert gzip.decompress(store.blobs.read(layer.blob)) == rootfs_tar.read_bytes()
    manifest = json.loads(store.blobs.read(rec.manifest))
    assert rec.manifest_media_type == DOCKER_MANIFEST
    assert manifest["mediaType"] == DOCKER_MANIFEST
    assert manifest["config"]["digest"] == str(image_id)
    assert manifest["config"]["size"] == len(store.blobs.read(image_id))
    assert manifest["layers"] == [{"mediaType": DOCKER_LAYER_GZIP, "size": layer.size, "digest": str(layer.blob)}]

    # unpacked layer
    diff = store.layers.diff_dir(layer.diff_id)
    assert (diff / "bin" / "busybox").read_bytes() == Path("/usr/bin/busybox").read_bytes()
    assert os.readlink(diff / "bin" / "sh") == "busybox"
    assert (diff / "etc" / "motd").read_text() == "hello from berth\n"
    assert store.gc().blobs == []  # everything is referenced


def test_import_twice_gives_the_same_layer_blob(store: Store, rootfs_tar: Path) -> None:
    first = import_rootfs(store, rootfs_tar, "a:1", [], "")
    second = import_rootfs(store, rootfs_tar, "a:2", [], "")
    r1, r2 = store.images.get(first), store.images.get(second)
    assert r1 is not None and r2 is not None
    assert r1.layers == r2.layers  # same diff_id, same deterministic gzip blob, same size
    assert first != second  # "created" differs, as with docker import
    # and into another store: the blob digest does not depend on the store
    other = Store(store.paths.for_root(store.paths.root.parent / "other"))
    r3 = other.images.get(import_rootfs(other, rootfs_tar, None, [], ""))
    assert r3 is not None and r3.layers == r1.layers


@pytest.mark.parametrize("compress", ["gzip", "xz", "bzip2"])
def test_import_compressed_source(store: Store, rootfs_tar: Path, tmp_path: Path, compress: str) -> None:
    data = rootfs_tar.read_bytes()
    packed = {"gzip": lambda b: gzip.compress(b, mtime=0), "xz": lzma.compress, "bzip2": bz2.compress}[compress](data)
    src = tmp_path / f"rootfs.tar.{compress}"
    src.write_bytes(packed)
    image_id = import_rootfs(store, src, None, [], "")
    assert _config(store, image_id)["rootfs"]["diff_ids"] == [sha256_file(rootfs_tar)]


def test_import_zstd_source(store: Store, rootfs_tar: Path, tmp_path: Path) -> None:
    if shutil.which("zstd") is None:
        pytest.skip("zstd CLI is not installed")
    src = tmp_path / "rootfs.tar.zst"
    subprocess.run(["zstd", "-q", "-o", str(src), str(rootfs_tar)], check=True)
    try:
        import zstandard  # noqa: F401
    except ImportError:
        with pytest.raises(ArchiveError, match="zstandard"):
            import_rootfs(store, src, None, [], "")
        assert_store_empty(store)
        return
    image_id = import_rootfs(store, src, None, [], "")
    assert _config(store, image_id)["rootfs"]["diff_ids"] == [sha256_file(rootfs_tar)]


def test_import_message_is_the_comment(store: Store, rootfs_tar: Path) -> None:
    cfg = _config(store, import_rootfs(store, rootfs_tar, None, [], "my base image"))
    assert cfg["comment"] == "my base image"
    assert cfg["history"][0]["comment"] == "my base image"
    assert cfg["config"] == {}


def test_import_without_ref_is_untagged(store: Store, rootfs_tar: Path) -> None:
    image_id = import_rootfs(store, rootfs_tar, None, [], "")
    assert store.images.names().tags == {}
    assert store.images.get(image_id) is not None


def test_import_normalises_the_ref(store: Store, rootfs_tar: Path) -> None:
    image_id = import_rootfs(store, rootfs_tar, "localhost:5000/team/app", [], "")
    assert store.images.names().tags == {"localhost:5000/team/app:latest": str(image_id)}


def test_import_empty_tar(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "empty.tar"
    src.write_bytes(b"\0" * 10240)
    image_id = import_rootfs(store, src, None, [], "")
    rec = store.images.get(image_id)
    assert rec is not None and list(store.layers.diff_dir(rec.layers[0].diff_id).iterdir()) == []


def test_import_not_a_tar_leaves_nothing(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "notes.txt"
    src.write_text("this is not a tar archive\n" * 100)
    with pytest.raises(ArchiveError, match=r"notes.txt is not a tar archive"):
        import_rootfs(store, src, "x:y", [], "")
    assert_store_empty(store)


def test_import_gzip_of_garbage_leaves_nothing(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "garbage.tar.gz"
    src.write_bytes(gzip.compress(os.urandom(4096)))
    with pytest.raises(ArchiveError, match="is not a tar archive"):
        import_rootfs(store, src, None, [], "")
    assert_store_empty(store)


def test_import_truncated_gzip_leaves_nothing(store: Store, rootfs_tar: Path, tmp_path: Path) -> None:
    packed = gzip.compress(rootfs_tar.read_bytes())
    src = tmp_path / "cut.tar.gz"
    src.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ArchiveError):
        import_rootfs(store, src, None, [], "")
    assert_store_empty(store)


def test_import_hostile_tar_leaves_nothing(store: Store, tmp_path: Path) -> None:
    src = make_rootfs_tar(tmp_path / "evil.tar", extra={"../../escape": b"x"})
    with pytest.raises(ArchiveError):
        import_rootfs(store, src, None, [], "")
    assert_store_empty(store)
    assert not (store.paths.root.parent / "escape").exists()


def test_import_missing_source(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="cannot open"):
        import_rootfs(store, tmp_path / "nope.tar", None, [], "")
    assert_store_empty(store)


def test_import_rejects_an_invalid_change_before_any_work(store: Store, rootfs_tar: Path) -> None:
    with pytest.raises(InvalidArgument, match="RUN is not a valid change command"):
        import_rootfs(store, rootfs_tar, "x:y", ["RUN echo hi"], "")
    assert_store_empty(store)


def test_import_rejects_an_invalid_ref(store: Store, rootfs_tar: Path) -> None:
    with pytest.raises(InvalidArgument):
        import_rootfs(store, rootfs_tar, "Not Valid", [], "")
    assert_store_empty(store)


def test_import_from_url_is_refused(store: Store) -> None:
    with pytest.raises(InvalidArgument, match="URL"):
        import_rootfs(store, Path("https://example.com/rootfs.tar"), None, [], "")
