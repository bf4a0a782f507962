"""ContainerStore: atomic records, the names index, lookups (no runtime needed)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from berth.errors import InvalidArgument
from berth.paths import Paths
from berth.runtime.errors import ContainerNotFound, NameInUse
from berth.state import ContainerStore


def _config(cid: str, name: str) -> dict:
    return {"Id": cid, "Name": f"/{name}", "Image": "sha256:" + "0" * 64, "Config": {}, "HostConfig": {}}


@pytest.fixture
def cs(tmp_path: Path) -> ContainerStore:
    return ContainerStore(Paths.for_root(tmp_path / "root"))


def test_create_lookup_and_remove(cs: ContainerStore) -> None:
    cid = cs.create("web", _config)
    assert len(cid) == 64 and all(c in "0123456789abcdef" for c in cid)
    assert cs.config(cid)["Name"] == "/web"
    assert cs.state(cid).Status == "created"
    for text in (cid, "web", "/web", cid[:12], cid[:3]):
        assert cs.lookup(text) == cid
    with pytest.raises(ContainerNotFound, match="No such container: nope"):
        cs.lookup("nope")
    cs.remove(cid)
    cs.remove(cid)  # idempotent
    with pytest.raises(ContainerNotFound):
        cs.lookup("web")
    assert cs.create("web", _config) != cid  # the name is free again


def test_name_conflict_and_validation(cs: ContainerStore) -> None:
    cid = cs.create("x1", _config)
    with pytest.raises(NameInUse, match=f'The container name "/x1" is already in use by container "{cid}"'):
        cs.create("/x1", _config)
    with pytest.raises(InvalidArgument, match="Invalid container name"):
        cs.create("bad name", _config)
    assert cs.ids() == [cid]


def test_generated_names_are_unique(cs: ContainerStore) -> None:
    ids = [cs.create(None, _config) for _ in range(30)]
    names = {cs.name_of(i) for i in ids}
    assert len(names) == 30 and all("_" in n for n in names)


def test_failed_prepare_leaves_nothing(cs: ContainerStore) -> None:
    def boom(cid: str, d: Path) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        cs.create("late", _config, boom)
    assert cs.ids() == []
    assert not (cs.names_dir / "late").exists()  # no claim for system check to find stale


def test_a_refused_config_leaves_no_name_claim(cs: ContainerStore) -> None:
    def refuse(cid: str, bare: str) -> dict:
        raise InvalidArgument("no such network: nosuch")  # what the network checks raise there

    with pytest.raises(InvalidArgument):
        cs.create("web", refuse)
    assert cs.ids() == [] and not (cs.names_dir / "web").exists()
    assert list(cs.paths.tmp.iterdir()) == []
    assert cs.lookup(cs.create("late", _config)) and cs.lookup("late")  # the name was released
    assert list(cs.paths.tmp.iterdir()) == []


def test_stale_name_of_a_crashed_create_is_taken_over(cs: ContainerStore) -> None:
    cs.names_dir.mkdir(parents=True)
    (cs.names_dir / "ghost").write_text("f" * 64)  # a create killed after claiming the name
    cid = cs.create("ghost", _config)
    assert cs.lookup("ghost") == cid


def test_state_edits_are_atomic(cs: ContainerStore) -> None:
    cid = cs.create("s1", _config)
    with cs.editing_state(cid) as st:
        st.Status, st.Pid = "running", 42
    assert cs.state(cid).Pid == 42
    with pytest.raises(RuntimeError), cs.editing_state(cid) as st:
        st.Pid = 7
        raise RuntimeError("abort")
    assert cs.state(cid).Pid == 42  # nothing written


def _create(root: str, name: str, q) -> None:
    try:
        q.put(ContainerStore(Paths.for_root(root)).create(name, _config))
    except NameInUse:
        q.put("conflict")


def test_parallel_creates_across_processes(cs: ContainerStore) -> None:
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    names = [f"p{i}" for i in range(10)] + ["same"] * 4
    procs = [ctx.Process(target=_create, args=(str(cs.paths.root), n, q)) for n in names]
    for p in procs:
        p.start()
    results = [q.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(10)
    assert results.count("conflict") == 3
    assert len(cs.ids()) == 11


@pytest.mark.parametrize("name", ["ab\n", "a", "-ab", "a b", "//ab"])
def test_invalid_names_are_refused(name: str) -> None:
    # the one name rule (berth.containers.values.NAME_PATTERN), matched in full: no trailing newline slips by
    from berth.state.names import validate_name

    with pytest.raises(InvalidArgument, match="Invalid container name"):
        validate_name(name)
    assert validate_name("/web.1_a-b") == "web.1_a-b"
