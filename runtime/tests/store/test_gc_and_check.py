from __future__ import annotations

import json
import os
import subprocess
import sys

from imagekit import make_image, random_layer

from berth.reference import Digest
from berth.store.check import check_store


def test_shared_layers_survive_until_last_user_goes(engine) -> None:
    store = engine.store
    shared = {"etc/os-release": b"ID=test\n"}
    a = make_image(store, "a:1", [shared, random_layer(1000)])
    b = make_image(store, "b:1", [shared, random_layer(1000)])
    assert a.layers[0].diff_id == b.layers[0].diff_id
    assert len(list(store.layers)) == 3
    out = engine.rmi("a:1")
    assert out[-1] == {"Deleted": str(a.id)}
    assert store.layers.has(a.layers[0].diff_id)  # still used by b
    assert not store.layers.has(a.layers[1].diff_id)
    engine.rmi("b:1")
    assert list(store.layers) == [] and list(store.blobs) == []


def test_lease_protects_unreferenced_blobs_from_gc(store) -> None:
    d = store.blobs.put_bytes(b"in flight")
    with store.lease() as lease:
        store.claim(lease, blobs=[d])
        assert store.gc().blobs == []
        assert store.blobs.has(d)
    assert store.gc().blobs == [d]


def test_lease_of_killed_process_is_reaped(store, tmp_path) -> None:
    script = (
        "import os, sys; from berth.paths import Paths; from berth.store import Store;"
        "from berth.reference import Digest;"
        f"s = Store(Paths.for_root({str(store.paths.root)!r}));"
        "cm = s.lease(); lease = cm.__enter__(); s.claim(lease, blobs=[Digest.of_bytes(b'x')]);"
        "os.kill(os.getpid(), 9)"
    )
    subprocess.run([sys.executable, "-c", script], check=False)
    assert len(list(store.paths.leases.iterdir())) == 1
    report = check_store(store, repair=True)
    assert any(p.kind == "stale-lease" for p in report.problems)
    assert list(store.paths.leases.iterdir()) == []


def test_check_clean_store(engine) -> None:
    make_image(engine.store, "ok:1", [random_layer(100)])
    report = engine.system_check()
    assert report.clean and report.problems == [] and report.images_checked == 1


def test_check_finds_and_repairs_corruption(engine) -> None:
    store = engine.store
    good = make_image(store, "good:1", [random_layer(100)])
    bad = make_image(store, "bad:1", [random_layer(100)])
    # 1. a blob whose bytes rotted
    blob_path = store.blobs.path(bad.layers[0].blob)
    os.chmod(blob_path, 0o644)
    blob_path.write_bytes(b"garbage")
    # 2. a temp file of a dead writer
    store.paths.tmp.mkdir(exist_ok=True)
    (store.paths.tmp / "blob-999999999-abc").write_bytes(b"partial")
    # 3. a name pointing at nothing
    with store.images.editing_names() as names:
        names.tags["docker.io/library/ghost:1"] = "sha256:" + "f" * 64
    report = check_store(store)
    kinds = sorted(p.kind for p in report.problems)
    assert kinds == ["broken-image", "corrupt-blob", "dangling-name", "stale-temp"]
    assert not report.clean
    repaired = check_store(store, repair=True)
    assert all(p.repaired for p in repaired.problems)
    after = check_store(store)
    assert after.clean and after.problems == [] and after.garbage_blobs == 0 and after.garbage_layers == 0
    assert store.images.get(good.id) is not None and store.images.get(bad.id) is None
    assert engine.image_id("good:1") == good.id


def test_record_with_missing_layer_is_broken(engine) -> None:
    rec = make_image(engine.store, "x:1", [random_layer(10)])
    engine.store.layers.delete(rec.layers[0].diff_id)
    report = engine.system_check()
    assert [p.kind for p in report.problems] == ["broken-image"]
    assert "unpacked layer" in report.problems[0].detail


def test_corrupt_record_json(engine) -> None:
    rec = make_image(engine.store, "x:1", [random_layer(10)])
    (engine.paths.images / f"{rec.id.hex}.json").write_text(json.dumps({"id": "nonsense"}))
    report = engine.system_check(repair=True)
    assert [p.kind for p in report.problems] == ["broken-image"]
    assert engine.system_check().clean
    assert Digest.parse(str(rec.id)) not in engine.store.images.ids()
