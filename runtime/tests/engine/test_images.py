from __future__ import annotations

import pytest
from imagekit import make_image, random_layer

from berth.errors import Conflict, ImageInUse, ImageNotFound, InvalidArgument


def test_tag_is_idempotent_and_resolves_every_way(engine) -> None:
    rec = make_image(engine.store, "busybox", [random_layer(10)])
    assert engine.tag("busybox", "localhost:9000/busybox:v1") is True
    assert engine.tag("busybox", "localhost:9000/busybox:v1") is False
    for name in ["busybox", "busybox:latest", "docker.io/library/busybox", "localhost:9000/busybox:v1",
                 str(rec.id), rec.id.hex[:12], rec.id.hex[:4]]:
        assert engine.image_id(name) == rec.id
    with pytest.raises(ImageNotFound, match="no such image: nothere"):
        engine.image_id("nothere")
    with pytest.raises(InvalidArgument):
        engine.tag("busybox", "busybox@sha256:" + "a" * 64)


def test_rmi_untags_then_deletes(engine) -> None:
    rec = make_image(engine.store, "app:1", [random_layer(10)])
    engine.tag("app:1", "app:2")
    assert engine.rmi("app:1") == [{"Untagged": "app:1"}]
    assert engine.image_id("app:2") == rec.id
    out = engine.rmi("app:2")
    assert out == [{"Untagged": "app:2"}, {"Deleted": str(rec.id)}]
    assert engine.images() == []


def test_rmi_by_id_with_several_repositories_needs_force(engine) -> None:
    rec = make_image(engine.store, "one:1", [random_layer(10)])
    engine.tag("one:1", "two:1")
    with pytest.raises(Conflict, match="referenced in multiple repositories"):
        engine.rmi(rec.id.hex[:12])
    out = engine.rmi(rec.id.hex[:12], force=True)
    assert {"Deleted": str(rec.id)} in out and len(out) == 3


def test_rmi_refuses_image_used_by_container(engine) -> None:
    rec = make_image(engine.store, "used:1", [random_layer(10)])
    engine.store.image_users.append(lambda image_id: ["web"] if image_id == rec.id else [])
    with pytest.raises(ImageInUse, match="in use by container\\(s\\) web"):
        engine.rmi("used:1")
    assert engine.image_id("used:1") == rec.id  # nothing changed
    engine.rmi("used:1", force=True)
    with pytest.raises(ImageNotFound):
        engine.image_id("used:1")


def test_images_inspect_history_shapes(engine) -> None:
    rec = make_image(engine.store, "shape:1", [random_layer(1000), {"a": b"b"}])
    rows = engine.images()
    assert [(r["Repository"], r["Tag"]) for r in rows] == [("shape", "1")]
    assert rows[0]["Size"] >= 1001
    info = engine.inspect_image("shape:1")
    for key in ["Id", "RepoTags", "RepoDigests", "Created", "Config", "RootFS", "Size", "Architecture", "Os"]:
        assert key in info
    assert info["Id"] == str(rec.id) and info["RepoTags"] == ["shape:1"]
    assert info["RootFS"]["Layers"] == [str(d) for d in rec.diff_ids()]
    hist = engine.history("shape:1")
    assert len(hist) == 2 and hist[0]["Id"] == str(rec.id) and hist[1]["Id"] == "<missing>"


def test_dangling_and_prune(engine) -> None:
    old = make_image(engine.store, "app:1", [random_layer(10)])
    new = make_image(engine.store, "app:1", [random_layer(10)], created="2025-01-01T00:00:00Z")
    rows = {r["ID"]: (r["Repository"], r["Tag"]) for r in engine.images()}
    assert rows[str(old.id)] == ("<none>", "<none>") and rows[str(new.id)] == ("app", "1")
    res = engine.system_prune()
    assert res["ImagesDeleted"] == [str(old.id)] and res["SpaceReclaimed"] > 0
    assert engine.system_prune(all=True)["ImagesDeleted"] == [str(new.id)]
    assert list(engine.store.blobs) == []
