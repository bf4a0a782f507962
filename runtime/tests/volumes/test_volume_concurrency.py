"""Many processes at once, and what ``check --repair`` finds after a crash."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from pathlib import Path

from berth.errors import BerthError
from berth.paths import Paths
from berth.volumes import VolumeStore

N = 8
ctx = mp.get_context("fork")


def _worker(root: str, op: str, name: str, barrier, results) -> None:
    store = VolumeStore(Paths.for_root(root))
    barrier.wait()
    try:
        if op == "ensure":
            info, created = store.ensure(name, labels={"by": str(os.getpid())})
            results.put(("ok", created, info["Name"]))
        else:
            results.put(("ok", store.remove(name), name))
    except BerthError as exc:
        results.put(("err", type(exc).__name__, str(exc)))


def _run_all(root: Path, op: str, name: str) -> list[tuple]:
    barrier, results = ctx.Barrier(N), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(root), op, name, barrier, results)) for _ in range(N)]
    for p in procs:
        p.start()
    out = [results.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return out


def test_concurrent_create_of_one_name_makes_one_volume(root: Path, vols: VolumeStore) -> None:
    out = _run_all(root, "ensure", "shared")
    assert all(r[0] == "ok" and r[2] == "shared" for r in out), out
    assert sum(r[1] for r in out) == 1  # exactly one process created it
    assert [v["Name"] for v in vols.list()] == ["shared"]
    assert os.listdir(vols.staging) == []
    assert vols.check() == []


def test_concurrent_remove_removes_once(root: Path, vols: VolumeStore) -> None:
    vols.create("doomed")
    (vols.data_dir("doomed") / "f").write_bytes(b"x" * 100_000)
    out = _run_all(root, "remove", "doomed")
    assert sorted(r[:2] for r in out) == [("err", "VolumeNotFound")] * (N - 1) + [("ok", True)], out
    assert vols.list() == [] and not vols.dir("doomed").exists()
    assert os.listdir(vols.staging) == []


def test_half_created_volume_is_ignored_then_repaired(vols: VolumeStore) -> None:
    vols.create("good")
    (vols.base / "half" / "_data").mkdir(parents=True)  # a create killed without our staging
    (vols.base / "orphan").mkdir()
    (vols.staging / "c.killed.0badf00d" / "_data").mkdir(parents=True)  # killed mid-create
    (vols.staging / "r.removed.0badf00d" / "_data").mkdir(parents=True)  # killed mid-remove
    (vols.base / "adopt" / "_data").mkdir(parents=True)
    (vols.base / "adopt" / "_data" / "precious").write_text("user data")
    (vols.base / "good" / "_data").rmdir()
    (vols.base / "bad name").mkdir()

    assert [v["Name"] for v in vols.list()] == ["good"]
    assert not vols.exists("half")
    found = {(p["kind"], p["subject"]) for p in vols.check()}
    assert found == {
        ("volume-incomplete", "half"), ("volume-incomplete", "orphan"),
        ("volume-metadata-missing", "adopt"), ("volume-data-missing", "good"),
        ("volume-staging-leftover", "c.killed.0badf00d"), ("volume-staging-leftover", "r.removed.0badf00d"),
        ("volume-unknown-entry", "bad name"),
    }
    repaired = vols.check(repair=True)
    assert all(p["repaired"] for p in repaired if p["kind"] != "volume-unknown-entry")
    assert [p["kind"] for p in vols.check()] == ["volume-unknown-entry"]  # never deletes what is not ours
    assert [v["Name"] for v in vols.list()] == ["adopt", "good"]
    assert (vols.data_dir("adopt") / "precious").read_text() == "user data"
    assert not vols.is_anonymous("adopt")  # so prune cannot delete adopted data
    assert vols.data_dir("good").is_dir() and os.listdir(vols.staging) == []
    # A half directory does not block creating that name.
    (vols.base / "half2").mkdir()
    assert vols.ensure("half2")[1] is True
    (vols.base / "half3" / "_data").mkdir(parents=True)
    (vols.base / "half3" / "_data" / "keep").write_text("k")
    assert vols.ensure("half3", labels={"a": "b"})[1] is True  # adopted with what was asked, data kept
    assert vols.inspect("half3")["Labels"] == {"a": "b"} and (vols.data_dir("half3") / "keep").exists()


def test_check_leaves_live_operations_alone(vols: VolumeStore) -> None:
    (vols.staging / "c.busy.12345678").mkdir(parents=True)
    (vols.base / "busy").mkdir()
    with vols.lock("busy"):
        # Another thread's view: the lock is per thread, like another process's.
        seen: list = []
        t = threading.Thread(target=lambda: seen.extend(vols.check(repair=True)))
        t.start()
        t.join(10)
    assert seen == []
    assert (vols.staging / "c.busy.12345678").exists()
