"""Create, inspect, list, remove and prune with Docker's semantics."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from berth.errors import Conflict, InvalidArgument, NotFound
from berth.volumes import ANONYMOUS_LABEL, VolumeInUse, VolumeNotFound, VolumeStore


def test_create_and_inspect_are_docker_shaped(vols: VolumeStore, root: Path) -> None:
    info = vols.create("data", labels={"app": "db"})
    assert set(info) == {"CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"}
    assert info["Name"] == "data" and info["Driver"] == "local" and info["Scope"] == "local"
    assert info["Labels"] == {"app": "db"} and info["Options"] == {}
    assert info["Mountpoint"] == str(root / "volumes" / "data" / "_data")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["CreatedAt"])
    assert Path(info["Mountpoint"]).is_dir() and oct(Path(info["Mountpoint"]).stat().st_mode & 0o777) == "0o755"
    assert vols.inspect("data") == info
    assert not vols.is_anonymous("data")


def test_anonymous_volume_gets_a_random_name_and_docker_label(vols: VolumeStore) -> None:
    info = vols.create()
    assert re.fullmatch(r"[0-9a-f]{64}", info["Name"])
    assert info["Labels"] == {ANONYMOUS_LABEL: ""}
    assert vols.is_anonymous(info["Name"])


def test_create_existing_returns_it_unchanged_and_ensure_says_so(vols: VolumeStore) -> None:
    first, created = vols.ensure("data", labels={"a": "1"})
    assert created
    again, created = vols.ensure("data", labels={"a": "2"}, options={})
    assert not created and again == first  # Docker returns the existing volume silently
    assert vols.create("data") == first


@pytest.mark.parametrize("name", ["x/y", "a", "-lead", ".hidden", "sp ace", "", "é" * 3, "a" * 241])
def test_invalid_names_are_refused(vols: VolumeStore, name: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid volume name"):
        vols.create(name)
    assert vols.list() == []


def test_docker_message_for_a_path_like_name(vols: VolumeStore) -> None:
    with pytest.raises(InvalidArgument) as err:
        vols.create("x/y")
    assert str(err.value).startswith('invalid volume name "x/y": "x/y" includes invalid characters')


def test_unknown_driver_and_options_are_refused_before_anything_exists(vols: VolumeStore) -> None:
    with pytest.raises(InvalidArgument, match='driver "nfs"'):
        vols.create("v1", driver="nfs")
    with pytest.raises(InvalidArgument, match='invalid option key: "size2"'):
        vols.create("v1", options={"size2": "1"})
    with pytest.raises(InvalidArgument, match="not supported yet"):
        vols.create("v1", options={"type": "tmpfs", "device": "tmpfs"})
    with pytest.raises(InvalidArgument, match="absolute host path"):
        vols.create("v1", options={"type": "none", "o": "bind", "device": "rel"})
    assert vols.list() == []


def test_bind_volume_mounts_its_device(vols: VolumeStore, tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    vols.create("b1", options={"type": "none", "o": "bind", "device": str(dev)})
    with pytest.raises(InvalidArgument, match="does not exist"):
        vols.mount_source("b1")
    dev.mkdir()
    (dev / "keep").write_text("x")
    assert vols.mount_source("b1") == dev
    assert vols.mount_source(vols.create("plain")["Name"]) == vols.data_dir("plain")
    assert vols.remove("b1")
    assert (dev / "keep").read_text() == "x"  # removing the volume never touches its device


def test_missing_volume(vols: VolumeStore) -> None:
    for call in (vols.inspect, vols.remove, vols.mount_source, vols.is_anonymous):
        with pytest.raises(VolumeNotFound, match="No such volume: nope") as err:
            call("nope")
        assert isinstance(err.value, NotFound)
    assert vols.remove("nope", force=True) is False
    with pytest.raises(VolumeNotFound):
        vols.inspect("../etc")  # a lookup with an impossible name is simply not found


def test_list_filters(vols: VolumeStore, fake_container) -> None:
    vols.create("alpha", labels={"tier": "db", "x": ""})
    vols.create("beta", labels={"tier": "web"})
    anon = vols.create()["Name"]
    fake_container(mounts=[{"Type": "volume", "Source": "alpha", "Target": "/d"}])

    def names(filters=None):
        return [v["Name"] for v in vols.list(filters)]

    assert names() == sorted(["alpha", "beta", anon])
    assert names({"dangling": "true"}) == sorted(["beta", anon])
    assert names({"dangling": ["false"]}) == ["alpha"]
    assert names({"label": "tier"}) == ["alpha", "beta"]
    assert names({"label": "tier=web"}) == ["beta"]
    assert names({"label": ["tier", "x"]}) == ["alpha"]  # labels: all must match
    assert names({"name": ["alp", "bet"]}) == ["alpha", "beta"]  # names: any may match
    assert names({"driver": "local", "name": "eta"}) == ["beta"]  # "t": never in a hex name
    with pytest.raises(InvalidArgument, match="invalid filter 'colour'"):
        vols.list({"colour": "red"})
    with pytest.raises(InvalidArgument, match="dangling=maybe"):
        vols.list({"dangling": "maybe"})


def test_volume_in_use_cannot_be_removed_even_with_force(vols: VolumeStore, fake_container) -> None:
    vols.create("used")
    vols.create("bound")
    c1 = fake_container(mounts=[{"Type": "volume", "Source": "used", "Target": "/data"}])
    c2 = fake_container(binds=["used:/other:ro", "/host/path:/x", "bound:/b"])
    for force in (False, True):
        with pytest.raises(VolumeInUse) as err:
            vols.remove("used", force=force)
        assert isinstance(err.value, Conflict)
        assert str(err.value) == f"remove used: volume is in use - [{', '.join(sorted([c1, c2]))}]"
    assert vols.exists("used")
    with pytest.raises(VolumeInUse, match=c2):
        vols.remove("bound")


def test_remove(vols: VolumeStore, root: Path) -> None:
    vols.create("gone")
    (vols.data_dir("gone") / "f").write_text("data")
    assert vols.remove("gone") is True
    assert not (root / "volumes" / "gone").exists()
    assert vols.list() == []
    assert list((root / "volumes" / ".tmp").iterdir()) == []


def test_prune_removes_unused_anonymous_only_unless_all(vols: VolumeStore, fake_container) -> None:
    anon_free = vols.create()["Name"]
    anon_used = vols.create()["Name"]
    vols.create("named")
    vols.create("named-used")
    fake_container(binds=[f"{anon_used}:/a", "named-used:/n"])
    (vols.data_dir(anon_free) / "blob").write_bytes(b"x" * 3000)
    removed, size = vols.prune()
    assert removed == [anon_free] and size == 3000
    (vols.data_dir("named") / "f").write_bytes(b"y" * 10)
    removed, size = vols.prune(all_=True)
    assert removed == ["named"] and size == 10
    assert sorted(v["Name"] for v in vols.list()) == sorted([anon_used, "named-used"])


def test_remove_anonymous_is_rm_v(vols: VolumeStore, fake_container) -> None:
    anon = vols.create()["Name"]
    vols.create("named")
    owner = fake_container(binds=[f"{anon}:/a", "named:/n"])
    assert not vols.remove_anonymous("named", owner=owner)  # named volumes survive rm -v
    other = fake_container(binds=[f"{anon}:/a"])
    assert not vols.remove_anonymous(anon, owner=owner)  # shared: skipped silently
    assert vols.remove_anonymous(anon, owner=other) is False  # the first one still uses it
    (Path(vols.paths.root) / "containers" / other / "config.json").unlink()
    assert vols.remove_anonymous(anon, owner=owner)
    assert not vols.remove_anonymous(anon, owner=owner)  # already gone: no error


def test_custom_users_hook(root: Path) -> None:
    from berth.paths import Paths

    vols = VolumeStore(Paths.for_root(root), users=lambda name: ["abc"] if name == "busy" else [])
    vols.create("busy")
    vols.create("idle")
    with pytest.raises(VolumeInUse, match=r"\[abc\]"):
        vols.remove("busy")
    assert [v["Name"] for v in vols.list({"dangling": "true"})] == ["idle"]
    assert vols.prune(all_=True)[0] == ["idle"]


def test_lock_is_reentrant_for_the_runtime(vols: VolumeStore, tmp_path: Path) -> None:
    src = tmp_path / "img"
    src.mkdir()
    (src / "f").write_text("hi")
    vols.create("v1")
    with vols.lock("v1"):
        # The runtime holds the volume while it writes its record and copies up.
        assert vols.ensure("v1")[1] is False
        assert vols.copy_up("v1", src)
