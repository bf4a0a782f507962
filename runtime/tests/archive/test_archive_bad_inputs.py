"""``load`` refuses broken or hostile archives and leaves the store as it was."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from archivekit import assert_store_empty

from berth.archive import load_archive
from berth.errors import ArchiveError
from berth.store import Store


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _layer(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            _add(tar, name, data)
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _archive(path: Path, layers: list[bytes], *, diff_ids: list[str] | None = None,
             layer_names: list[str] | None = None, skip: set[str] = frozenset(),  # type: ignore[assignment]
             extra: dict[str, bytes] | None = None, config_name: str | None = None) -> Path:
    config = {"architecture": "amd64", "os": "linux",
              "rootfs": {"type": "layers", "diff_ids": diff_ids or [_sha(t) for t in layers]}}
    config_raw = json.dumps(config).encode()
    cname = config_name or f"blobs/sha256/{_sha(config_raw).removeprefix('sha256:')}"
    names = layer_names or [f"blobs/sha256/{_sha(t).removeprefix('sha256:')}" for t in layers]
    with tarfile.open(path, "w") as tar:
        for name, data in zip(names, layers, strict=False):
            if name not in skip:
                _add(tar, name, data)
        _add(tar, cname, config_raw)
        _add(tar, "manifest.json", json.dumps([{"Config": cname, "RepoTags": ["bad:1"], "Layers": names}]).encode())
        for name, data in (extra or {}).items():
            _add(tar, name, data)
    return path


GOOD = _layer({"etc/good": b"fine"})


def test_not_a_tar(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "notes.txt"
    src.write_text("hello\n" * 200)
    with pytest.raises(ArchiveError, match=r"notes.txt is not a tar archive"):
        load_archive(store, src)
    assert_store_empty(store)


def test_empty_file(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "empty.tar"
    src.write_bytes(b"")
    with pytest.raises(ArchiveError, match="is not a tar archive"):
        load_archive(store, src)
    assert_store_empty(store)


def test_missing_file(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="cannot open"):
        load_archive(store, tmp_path / "nope.tar")


def test_tar_without_manifest(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "rootfs.tar"
    src.write_bytes(GOOD)
    with pytest.raises(ArchiveError, match=r"rootfs.tar is not a docker-archive: no manifest.json"):
        load_archive(store, src)
    assert_store_empty(store)


def test_manifest_names_a_missing_layer(store: Store, tmp_path: Path) -> None:
    other = _layer({"etc/other": b"2"})
    missing = f"blobs/sha256/{_sha(other).removeprefix('sha256:')}"
    src = _archive(tmp_path / "a.tar", [GOOD, other], skip={missing})
    with pytest.raises(ArchiveError, match=f"{missing} is missing from the archive"):
        load_archive(store, src)
    assert_store_empty(store)


def test_layer_content_does_not_match_its_diff_id(store: Store, tmp_path: Path) -> None:
    tampered = _layer({"etc/evil": b"swapped"})
    names = ["good/layer.tar", "second/layer.tar"]
    src = _archive(tmp_path / "a.tar", [GOOD, tampered], diff_ids=[_sha(GOOD), _sha(b"expected")],
                   layer_names=names)
    with pytest.raises(ArchiveError, match=r"layer second/layer.tar does not match its diff_id"):
        load_archive(store, src)
    assert_store_empty(store)  # not even the good first layer is left behind


def test_config_does_not_match_its_name(store: Store, tmp_path: Path) -> None:
    src = _archive(tmp_path / "a.tar", [GOOD], config_name="0" * 64 + ".json")
    with pytest.raises(ArchiveError, match="does not match its digest"):
        load_archive(store, src)
    assert_store_empty(store)


def test_layer_count_differs_from_diff_ids(store: Store, tmp_path: Path) -> None:
    src = _archive(tmp_path / "a.tar", [GOOD], diff_ids=[_sha(GOOD), _sha(b"x")])
    with pytest.raises(ArchiveError, match="lists 1 layers but its config has 2 diff_ids"):
        load_archive(store, src)
    assert_store_empty(store)


@pytest.mark.parametrize("name", ["../evil", "blobs/../../evil", "/etc/evil"])
def test_member_escaping_the_archive(store: Store, tmp_path: Path, name: str) -> None:
    src = _archive(tmp_path / "a.tar", [GOOD], extra={name: b"x"})
    with pytest.raises(ArchiveError, match="unsafe member name"):
        load_archive(store, src)
    assert_store_empty(store)


def test_manifest_path_escaping_the_archive(store: Store, tmp_path: Path) -> None:
    src = _archive(tmp_path / "a.tar", [GOOD], layer_names=["../../etc/passwd"], skip={"../../etc/passwd"})
    with pytest.raises(ArchiveError, match="unsafe member name"):
        load_archive(store, src)
    assert_store_empty(store)


def test_symlinked_layer_pointing_outside(store: Store, tmp_path: Path) -> None:
    src = _archive(tmp_path / "a.tar", [GOOD], layer_names=["x/layer.tar"], skip={"x/layer.tar"})
    with tarfile.open(src, "a") as tar:
        info = tarfile.TarInfo("x/layer.tar")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../../etc/passwd"
        tar.addfile(info)
    with pytest.raises(ArchiveError, match="points outside the archive"):
        load_archive(store, src)
    assert_store_empty(store)


def test_hostile_layer_content(store: Store, tmp_path: Path) -> None:
    evil = _layer({"../../escaped": b"x"})
    src = _archive(tmp_path / "a.tar", [GOOD, evil])
    with pytest.raises(ArchiveError, match=r"layer blobs/sha256/"):
        load_archive(store, src)
    # the good first layer may have been unpacked; it is unreferenced garbage that gc removes
    assert_store_empty(store, after_gc=True)
    assert not (tmp_path / "escaped").exists()


def test_malformed_manifest(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "a.tar"
    with tarfile.open(src, "w") as tar:
        _add(tar, "manifest.json", b'{"not": "a list"}')
    with pytest.raises(ArchiveError, match="not a list"):
        load_archive(store, src)
    with tarfile.open(src, "w") as tar:
        _add(tar, "manifest.json", b"[{")
    with pytest.raises(ArchiveError, match="not valid JSON"):
        load_archive(store, src)
    assert_store_empty(store)


def test_truncated_compressed_archive(store: Store, tmp_path: Path) -> None:
    whole = _archive(tmp_path / "a.tar", [GOOD]).read_bytes()
    packed = gzip.compress(whole)
    src = tmp_path / "a.tar.gz"
    src.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ArchiveError):
        load_archive(store, src)
    assert_store_empty(store)


def test_good_archive_of_this_builder_loads(store: Store, tmp_path: Path) -> None:
    """The builder above makes valid archives; the failures are the tampering's."""
    src = _archive(tmp_path / "a.tar", [GOOD, _layer({"etc/two": b"2"})])
    assert load_archive(store, src) == ["bad:1"]
