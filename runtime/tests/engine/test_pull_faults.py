"""Crash safety and concurrency of pull: kill -9 anywhere, races with rmi and other pulls.

A crash is simulated for real: a child process runs ``Engine.pull`` and
SIGKILLs itself at a chosen point (a patched store function), or is killed
by the test after a random delay. Afterwards ``system check --repair`` must
leave a clean store and a new pull must succeed.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from imagekit import make_image

from berth.engine import Engine

RUNTIME_TESTS = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def big_image(registry, tmp_path_factory):
    """~24 MB in 3 layers, pushed once; pulls of it take long enough to be interrupted."""
    src = Engine(root=tmp_path_factory.mktemp("src"))
    ref = f"{registry.host}/faults/big:1"
    files = [{f"d/f{i}": random.randbytes(400_000) for i in range(20)} for _ in range(3)]
    rec = make_image(src.store, ref, files)
    src.push(ref)
    return ref, rec


_CHILD = """
import os, sys
sys.path.insert(0, {tests!r})
from berth.engine import Engine
import berth.store.blobs, berth.store.layerstore, berth.store.store, berth.fsutil, berth.layers.extract as ex
point, root, ref = {point!r}, {root!r}, {ref!r}

def die(*a, **k):
    os.kill(os.getpid(), 9)

def after(obj, name, n=1):
    orig = getattr(obj, name)
    count = [0]
    def wrapper(*a, **k):
        out = orig(*a, **k)
        count[0] += 1
        if count[0] >= n:
            die()
        return out
    setattr(obj, name, wrapper)

if point == "mid-download":
    after(berth.store.blobs.BlobWriter, "write", 3)
elif point == "blob-committed":
    after(berth.store.blobs.BlobWriter, "commit", 2)
elif point == "mid-extract":
    # extraction runs in a child process: kill the pull while the child is writing files
    import subprocess, time
    import berth.store.layerstore as ls
    def run(cmd, **kw):
        child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        dest = cmd[-1]
        while child.poll() is None:
            if os.path.isdir(dest) and len(os.listdir(dest)) > 0:
                die()
            time.sleep(0.001)
        raise SystemExit("extraction finished before it could be interrupted")
    ls.subprocess.run = run
elif point == "layer-published":
    after(berth.store.layerstore.LayerStore, "unpack_file", 1)
elif point == "before-record":
    berth.store.store.Store.commit_image = die
elif point == "mid-record-write":
    orig_replace = os.replace
    def replace(src, dst, *a, **k):
        if str(dst).endswith(".json") and "/images/" in str(dst):
            die()
        return orig_replace(src, dst, *a, **k)
    os.replace = replace
Engine(root=root).pull(ref)
print("completed")
"""


def _run_child(point: str, root: Path, ref: str) -> subprocess.CompletedProcess:
    code = _CHILD.format(tests=str(RUNTIME_TESTS), point=point, root=str(root), ref=ref)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def _assert_recovers(root: Path, ref: str, image_id) -> None:
    eng = Engine(root=root)
    eng.system_check(repair=True)
    report = eng.system_check()
    assert report.clean and report.problems == [], report.to_dict()
    res = eng.pull(ref)
    assert res.image_id == image_id
    final = eng.system_check()
    assert final.clean and final.problems == [] and final.garbage_blobs == 0 and final.garbage_layers == 0
    assert not eng.paths.tmp.exists() or not any(eng.paths.tmp.iterdir())
    assert not eng.paths.leases.exists() or not any(eng.paths.leases.iterdir())


@pytest.mark.parametrize(
    "point", ["mid-download", "blob-committed", "mid-extract", "layer-published", "before-record", "mid-record-write"]
)
def test_kill_9_at_each_stage_then_repair_and_pull(tmp_path, big_image, point) -> None:
    ref, rec = big_image
    root = tmp_path / "root"
    proc = _run_child(point, root, ref)
    assert proc.returncode == -9, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    _assert_recovers(root, ref, rec.id)


def test_kill_9_of_cli_pull_at_random_moments(tmp_path, big_image) -> None:
    ref, rec = big_image
    rng = random.Random(1234)
    root = tmp_path / "root"
    berth = [sys.executable, "-m", "berth.cli.main", "--root", str(root)]
    for _ in range(5):
        proc = subprocess.Popen([*berth, "pull", ref], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 0.6))
        proc.kill()
        proc.wait()
        check = subprocess.run([*berth, "system", "check", "--repair"], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        assert subprocess.run([*berth, "system", "check"], capture_output=True).returncode == 0
        subprocess.run([*berth, "rmi", ref], capture_output=True)  # next round starts cold if it completed
    _assert_recovers(root, ref, rec.id)


def test_two_concurrent_pulls_both_succeed_and_store_one_copy(tmp_path, big_image) -> None:
    ref, rec = big_image
    root = tmp_path / "root"
    berth = [sys.executable, "-m", "berth.cli.main", "--root", str(root)]
    procs = [subprocess.Popen([*berth, "pull", "-q", ref], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    eng = Engine(root=root)
    assert eng.image_id(ref) == rec.id
    assert sorted(eng.store.blobs) == sorted(rec.blobs())  # one copy of each blob, nothing else
    assert sorted(eng.store.layers) == sorted(rec.diff_ids())
    assert eng.system_check().clean and eng.system_check().garbage_blobs == 0


def test_pull_during_rmi_corrupts_nothing(tmp_path, big_image) -> None:
    ref, rec = big_image
    root = tmp_path / "root"
    berth = [sys.executable, "-m", "berth.cli.main", "--root", str(root)]
    Engine(root=root).pull(ref)
    deadline = time.monotonic() + 8
    rounds = 0
    while time.monotonic() < deadline and rounds < 6:
        rmi = subprocess.Popen([*berth, "rmi", ref], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pull = subprocess.run([*berth, "pull", "-q", ref], capture_output=True, text=True, timeout=120)
        rmi.wait(60)
        assert pull.returncode == 0, pull.stderr
        report = Engine(root=root).system_check()
        assert report.clean and report.problems == [], report.to_dict()
        rounds += 1
    eng = Engine(root=root)
    eng.pull(ref)  # whatever order they ran in, the image is whole after a final pull
    assert eng.system_check().clean
    layer = eng.store.layers.diff_dir(rec.layers[0].diff_id)
    assert len(list((layer / "d").iterdir())) == 20


def test_rmi_between_existence_check_and_commit_cannot_break_the_pull(tmp_path, big_image) -> None:
    """Deterministic interleaving of the race above: GC runs right after pull decided a layer is present."""
    ref, rec = big_image
    root = tmp_path / "root"
    eng = Engine(root=root)
    eng.pull(ref)
    other = Engine(root=root)  # a second process, as far as the store is concerned
    original_has = eng.store.layers.has
    fired = []

    def has_then_rmi(diff_id):
        present = original_has(diff_id)
        if present and not fired:
            fired.append(diff_id)
            other.rmi(ref)  # deletes the record and collects garbage now
        return present

    eng.store.layers.has = has_then_rmi
    eng.pull(ref)
    assert fired
    report = Engine(root=root).system_check()
    assert report.clean and report.problems == [], report.to_dict()
    assert Engine(root=root).image_id(ref) == rec.id
