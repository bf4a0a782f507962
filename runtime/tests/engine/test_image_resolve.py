"""Looking before acting, for the image module's check mode and change detection: what a pull would
bring (``remote_image``), what the registry holds under a tag (``registry_digest``) and what an
archive holds (``archive_images``), each without writing anything to the store."""

from __future__ import annotations

import pytest
from imagekit import make_image, random_layer

from berth.engine import Engine
from berth.errors import ArchiveError, ManifestNotFound, RegistryUnreachable
from berth.reference import Digest


def _store_files(eng: Engine) -> list[str]:
    return sorted(str(p.relative_to(eng.paths.root)) for p in eng.paths.root.rglob("*")
                  if p.is_file() and "locks" not in p.parts)


def test_remote_image_and_registry_digest_read_manifests_only(tmp_path, registry) -> None:
    src = Engine(root=tmp_path / "src")
    rec = make_image(src.store, f"{registry.host}/resolve/app:1", [random_layer(50_000)])
    ref = f"{registry.host}/resolve/app:1"
    assert src.registry_digest(ref) is None  # nothing pushed yet
    pushed = src.push(ref)
    assert src.registry_digest(ref) == pushed.digest == rec.manifest
    assert src.registry_digest(f"{registry.host}/resolve/app:2") is None

    dst = Engine(root=tmp_path / "dst")
    before = _store_files(dst)
    assert dst.remote_image(ref) == (pushed.digest, rec.id)
    assert dst.remote_image(f"{registry.host}/resolve/app@{pushed.digest}") == (pushed.digest, rec.id)
    assert _store_files(dst) == before and dst.images() == []
    with pytest.raises(ManifestNotFound):
        dst.remote_image(f"{registry.host}/resolve/app:nope")
    # and the pull that follows brings exactly that image
    assert dst.pull(ref).image_id == rec.id


def test_remote_image_of_a_closed_port_is_unreachable(tmp_path) -> None:
    from registry_fixture import free_port

    eng = Engine(root=tmp_path / "e")
    ref = f"127.0.0.1:{free_port()}/app:1"
    with pytest.raises(RegistryUnreachable):
        eng.remote_image(ref)
    with pytest.raises(RegistryUnreachable):
        eng.registry_digest(ref)


def test_archive_images_reads_what_load_would_bring(tmp_path) -> None:
    eng = Engine(root=tmp_path / "e")
    one = make_image(eng.store, "app:1", [random_layer(10_000)])
    two = make_image(eng.store, None, [random_layer(10_000)])
    out = tmp_path / "images.tar"
    eng.save(["app:1", str(two.id)], out)
    other = Engine(root=tmp_path / "other")
    before = _store_files(other)
    got = other.archive_images(out)
    assert sorted(got) == sorted([(one.id, ["docker.io/library/app:1"]), (two.id, [])])
    assert all(isinstance(i, Digest) for i, _ in got)
    assert _store_files(other) == before
    with pytest.raises(ArchiveError, match="cannot open"):
        other.archive_images(tmp_path / "missing.tar")
