"""Volumes and binds in real containers (runc + conmon): named, anonymous, image VOLUMEs,
copy-up, ``--volumes-from`` (seed 004 test_1..3), bind mounts of dirs and files (seed 004 c1-c4),
``rm -v`` and ``volume rm`` of a volume in use."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rtkit import output

from berth.containers import ContainerSpec, Mount
from berth.containers.mounts import parse_mount, parse_volume
from berth.engine import container_ops as co
from berth.errors import InvalidArgument
from berth.runtime.errors import ContainerNotFound
from berth.runtime.volumes_mounts import remove_volumes_of, resolve_dir_in_root
from berth.volumes import ANONYMOUS_LABEL, VolumeInUse


def run(engine, *cmd: str, image: str = "busybox", **spec_args) -> tuple[str, int]:
    cid = co.create(engine, ContainerSpec(image=image, command=cmd or None, **spec_args))
    co.start(engine, cid)
    return cid, co.wait(engine, cid, timeout=30)


def sh(engine, script: str, *mounts: str, **spec_args) -> tuple[str, int, str]:
    """``run [-v M]... busybox sh -c SCRIPT`` -> (cid, exit code, output)."""
    spec_mounts = tuple(parse_volume(m) for m in mounts) + tuple(spec_args.pop("mounts", ()))
    cid, code = run(engine, "sh", "-c", script, mounts=spec_mounts, **spec_args)
    return cid, code, output(engine, cid)


def volume_mounts(engine, cid: str) -> list[dict]:
    return [m for m in co.inspect(engine, cid)["Mounts"] if m["Type"] == "volume"]


def names_of(engine) -> set[str]:
    return {v["Name"] for v in engine.volumes.list()}


@pytest.fixture
def bbvol(rt, busybox_tar: Path):
    rt.import_image(busybox_tar, "bbvol", changes=["VOLUME /data"])
    return "bbvol"


# -- named volumes ------------------------------------------------------------------
def test_named_volume_is_created_and_persists_across_containers(rt) -> None:
    c1, code, _ = sh(rt, "echo kept > /data/f", "data:/data")
    assert code == 0
    assert rt.volumes.exists("data") and not rt.volumes.is_anonymous("data")
    info = co.inspect(rt, c1)
    assert info["HostConfig"]["Binds"] == ["data:/data"]
    assert info["Mounts"] == [{"Type": "volume", "Name": "data", "Source": str(rt.volumes.data_dir("data")),
                               "Destination": "/data", "Driver": "local", "Mode": "z", "RW": True,
                               "Propagation": ""}]
    _, code, out = sh(rt, "cat /data/f", "data:/data")
    assert (code, out) == (0, "kept\n")
    co.rm(rt, c1, volumes=True)  # rm -v never removes a named volume
    assert rt.volumes.exists("data")


def test_volume_in_use_cannot_be_removed_until_its_containers_are(rt) -> None:
    c1, _, _ = sh(rt, "true", "data:/data")
    with pytest.raises(VolumeInUse, match=r"remove data: volume is in use - \[" + c1):
        rt.volumes.remove("data")
    with pytest.raises(VolumeInUse):
        rt.volumes.remove("data", force=True)
    assert rt.volumes.prune(all_=True)[0] == []
    co.rm(rt, c1)
    assert rt.volumes.remove("data") and not rt.volumes.exists("data")


def test_read_only_volume_refuses_writes(rt) -> None:
    _, code, out = sh(rt, "echo x > /data/f", "data:/data:ro")
    assert code != 0 and "Read-only file system" in out


# -- anonymous volumes ----------------------------------------------------------------
def test_anonymous_volume_from_dash_v_is_kept_by_rm_and_removed_by_rm_v(rt) -> None:
    c1, code, _ = sh(rt, "echo hi > /data/f", "/data")
    c2, _, _ = sh(rt, "true", "/data")
    assert code == 0
    (m1,), (m2,) = volume_mounts(rt, c1), volume_mounts(rt, c2)
    assert m1["Destination"] == "/data" and len(m1["Name"]) == 64 and m1["Name"] != m2["Name"]
    assert m1["Mode"] == "" and m1["RW"] is True
    assert ANONYMOUS_LABEL in rt.volumes.inspect(m1["Name"])["Labels"]
    assert (rt.volumes.data_dir(m1["Name"]) / "f").read_text() == "hi\n"
    assert co.inspect(rt, c1)["Config"]["Volumes"] == {"/data": {}}
    co.rm(rt, c1)
    assert rt.volumes.exists(m1["Name"])  # plain rm keeps it
    co.rm(rt, c2, volumes=True)
    assert not rt.volumes.exists(m2["Name"])
    assert names_of(rt) == {m1["Name"]}


def test_image_volume_gets_an_anonymous_volume_unless_something_is_mounted_there(rt, bbvol) -> None:
    c1, code, _ = sh(rt, "echo img > /data/f", image=bbvol)
    assert code == 0
    (m1,) = volume_mounts(rt, c1)
    assert m1["Destination"] == "/data" and rt.volumes.is_anonymous(m1["Name"])
    # a named volume (or a bind) at the image's VOLUME replaces the anonymous one
    c2, _, _ = sh(rt, "true", "named:/data", image=bbvol)
    assert [m["Name"] for m in volume_mounts(rt, c2)] == ["named"]
    c3, _, _ = sh(rt, "true", "/data:ro", image=bbvol)  # -v /data:ro and VOLUME /data: one volume
    (m3,) = volume_mounts(rt, c3)
    assert m3["RW"] is False and m3["Name"] not in ("named", m1["Name"])
    assert names_of(rt) == {m1["Name"], "named", m3["Name"]}
    co.rm(rt, c1, volumes=True)
    co.rm(rt, c2, volumes=True)
    co.rm(rt, c3)
    assert names_of(rt) == {"named", m3["Name"]}


# -- copy-up ---------------------------------------------------------------------------
def test_copy_up_fills_an_empty_volume_once(rt) -> None:
    _, code, out = sh(rt, "cat /etc/passwd | head -1", "etcvol:/etc")
    assert code == 0 and out.startswith("root:")
    data = rt.volumes.data_dir("etcvol")
    assert (data / "passwd").is_file()
    # the volume is no longer empty: a second container does not copy again
    for entry in data.iterdir():
        entry.unlink()
    (data / "marker").write_text("mine\n")
    _, code, out = sh(rt, "ls /etc", "etcvol:/etc")
    assert code == 0 and "marker" in out.split() and "passwd" not in out.split()
    assert not (data / "passwd").exists()


def test_copy_up_of_an_image_volume_and_nocopy(rt, busybox_tar: Path) -> None:
    rt.import_image(busybox_tar, "bbetc", changes=["VOLUME /etc"])
    c1, code, _ = sh(rt, "true", image="bbetc")
    (m1,) = volume_mounts(rt, c1)
    assert code == 0 and (rt.volumes.data_dir(m1["Name"]) / "passwd").is_file()
    _, code, out = sh(rt, "ls -A /etc | wc -l", "empty:/etc:nocopy")
    assert (code, out.strip()) == (0, "0")
    assert list(rt.volumes.data_dir("empty").iterdir()) == []
    # a target missing from the image: nothing to copy, the volume just mounts
    _, code, _ = sh(rt, "test -d /nowhere/deep", "fresh:/nowhere/deep")
    assert code == 0 and list(rt.volumes.data_dir("fresh").iterdir()) == []


def test_copy_up_source_is_resolved_inside_the_rootfs(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "real" / "dir").mkdir(parents=True)
    (root / "abs").symlink_to("/real")  # absolute: the rootfs is /
    (root / "up").symlink_to("../../../../real")  # .. stops at the rootfs
    (root / "file").write_text("x")
    assert resolve_dir_in_root(root, "/abs/dir") == root / "real" / "dir"
    assert resolve_dir_in_root(root, "/up/dir/../dir") == root / "real" / "dir"
    assert resolve_dir_in_root(root, "/missing") is None
    assert resolve_dir_in_root(root, "/file") is None
    (root / "loop").symlink_to("/loop")
    with pytest.raises(OSError):
        resolve_dir_in_root(root, "/loop")


# -- --volumes-from (seed 004: test_1, test_2, test_3) -----------------------------------------
SHARE = "echo from-$(hostname) > /share/$(hostname); echo $(ls /share)"


def test_volumes_from_shares_the_same_volumes(rt) -> None:
    t1, code, _ = sh(rt, SHARE, "/share", name="test_1", hostname="test_1")
    assert code == 0
    (vol,) = volume_mounts(rt, t1)
    t2, code, out2 = sh(rt, SHARE, name="test_2", hostname="test_2", volumes_from=("test_1",))
    assert code == 0 and out2.split() == ["test_1", "test_2"]
    t3, code, out3 = sh(rt, SHARE + "; cat /share/test_1", name="test_3", hostname="test_3",
                        volumes_from=("test_1",))
    assert code == 0 and out3.split() == ["test_1", "test_2", "test_3", "from-test_1"]
    for cid in (t2, t3):
        (m,) = volume_mounts(rt, cid)
        assert (m["Name"], m["Destination"], m["RW"]) == (vol["Name"], "/share", True)
        assert co.inspect(rt, cid)["HostConfig"]["VolumesFrom"] == ["test_1"]
    co.start(rt, t1)  # test_1 sees what the others wrote
    co.wait(rt, t1, timeout=30)
    assert output(rt, t1).splitlines()[-1].split() == ["test_1", "test_2", "test_3"]
    # the volume outlives its first container, and rm -v keeps it while another still uses it
    co.rm(rt, t1, volumes=True)
    co.rm(rt, t2, volumes=True)
    assert rt.volumes.exists(vol["Name"])
    with pytest.raises(VolumeInUse):
        rt.volumes.remove(vol["Name"])
    _, code, out = sh(rt, "cat /share/test_2", volumes_from=("test_3",))
    assert (code, out) == (0, "from-test_2\n")
    co.rm(rt, t3, volumes=True)
    assert rt.volumes.exists(vol["Name"])  # the last container above still uses it


def test_volumes_from_read_only_and_binds(rt, tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    sh(rt, "true", "/share", f"{host}:/h", name="src")
    _, code, out = sh(rt, "echo x > /share/f", volumes_from=("src:ro",))
    assert code != 0 and "Read-only file system" in out
    _, code, out = sh(rt, "echo x > /h/f", volumes_from=("src:ro",))
    assert code != 0 and "Read-only file system" in out
    c, code, _ = sh(rt, "echo y > /h/g", volumes_from=("src",))
    assert code == 0 and (host / "g").read_text() == "y\n"
    binds = [m for m in co.inspect(rt, c)["Mounts"] if m["Type"] == "bind"]
    assert binds == [{"Type": "bind", "Source": str(host), "Destination": "/h", "Mode": "", "RW": True,
                      "Propagation": "rprivate"}]
    # the new container's own mount at a target replaces the inherited one
    _, code, out = sh(rt, "ls /share", "own:/share", volumes_from=("src",))
    assert code == 0 and out == ""


def test_volumes_from_a_missing_container_is_a_clear_error_and_creates_nothing(rt) -> None:
    before = names_of(rt)
    with pytest.raises(ContainerNotFound, match="--volumes-from nope: No such container: nope"):
        co.create(rt, ContainerSpec(image="busybox", command=("true",), mounts=(parse_volume("/x"),),
                                    volumes_from=("nope",)))
    assert co.ps(rt, all=True) == [] and names_of(rt) == before


# -- binds (seed 004: c1-c4) ----------------------------------------------------------------
def test_bind_of_a_missing_host_dir_creates_it(rt, tmp_path: Path) -> None:
    host = tmp_path / "host_data"  # c1: -v HOST:/root/container_data
    c1, code, out = sh(rt, "echo hi > /root/container_data/f; ls /root", f"{host}:/root/container_data",
                       name="c1")
    assert (code, out) == (0, "container_data\n")
    assert (host / "f").read_text() == "hi\n"
    assert co.inspect(rt, c1)["HostConfig"]["Binds"] == [f"{host}:/root/container_data"]


def test_file_binds_several_targets_and_containers(rt, tmp_path: Path) -> None:
    data = tmp_path / "data_1.txt"
    data.write_text("one\n")
    # c2: one host file at two targets
    _, code, out = sh(rt, "ls /root; cat /root/container_data_1.txt /root/container_data_2.txt",
                      f"{data}:/root/container_data_1.txt", f"{data}:/root/container_data_2.txt", name="c2")
    assert (code, out) == (0, "container_data_1.txt\ncontainer_data_2.txt\none\none\n")
    # c3, c4: one config file in two containers, changed on the host after create: both see it
    cfg = tmp_path / "config.ini.txt"
    cfg.write_text("before\n")
    cids = [co.create(rt, ContainerSpec(image="busybox", name=n, command=("cat", target),
                                        mounts=(parse_volume(f"{cfg}:{target}"),)))
            for n, target in (("c3", "/root/container_config.ini.txt.txt"), ("c4", "/root/container_config.ini.txt"))]
    with open(cfg, "w") as f:  # in place, as an editor that keeps the inode
        f.write("changed on the host\n")
    for cid in cids:
        co.start(rt, cid)
        assert co.wait(rt, cid, timeout=30) == 0
        assert output(rt, cid) == "changed on the host\n"
    # a file onto an existing file of the image
    _, code, out = sh(rt, "cat /etc/something /etc/hostname-x 2>&1; true",
                      f"{data}:/etc/something:ro", f"{data}:/etc/hostname-x")
    assert out == "one\none\n"


def test_read_only_bind_refuses_writes(rt, tmp_path: Path) -> None:
    host = tmp_path / "ro"
    host.mkdir()
    c, code, out = sh(rt, "echo x > /ro/f", f"{host}:/ro:ro")
    assert code != 0 and "Read-only file system" in out and not (host / "f").exists()
    (m,) = co.inspect(rt, c)["Mounts"]
    assert (m["Mode"], m["RW"]) == ("ro", False)
    assert co.inspect(rt, c)["HostConfig"]["Binds"] == [f"{host}:/ro:ro"]


def test_mount_flag_bind_with_a_missing_source_is_an_error_and_creates_nothing(rt, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    spec = ContainerSpec(image="busybox", command=("true",), name="nope",
                         mounts=(parse_mount(f"type=bind,source={missing},target=/m"), parse_volume("/anon"),
                                 parse_volume("newvol:/v")))
    with pytest.raises(InvalidArgument, match=f"bind source path does not exist: {missing}"):
        co.create(rt, spec)
    assert not missing.exists() and co.ps(rt, all=True) == [] and names_of(rt) == set()


def test_failed_create_removes_the_volumes_it_created(rt) -> None:
    rt.volumes.create("old")
    sh(rt, "true", name="taken")
    spec = ContainerSpec(image="busybox", command=("true",), name="taken",
                         mounts=(parse_volume("/anon"), parse_volume("newvol:/v"), parse_volume("old:/o")))
    with pytest.raises(Exception, match="already in use"):
        co.create(rt, spec)
    assert names_of(rt) == {"old"}


def test_mount_flag_records_host_config_mounts(rt, tmp_path: Path) -> None:
    host = tmp_path / "h"
    host.mkdir()
    c, code, _ = sh(rt, "test -d /h && test -d /v", mounts=(
        parse_mount(f"type=bind,source={host},target=/h,readonly"),
        parse_mount("type=volume,source=mv,target=/v,volume-nocopy")))
    assert code == 0
    hc = co.inspect(rt, c)["HostConfig"]
    assert hc["Binds"] is None
    assert hc["Mounts"] == [{"Type": "bind", "Source": str(host), "Target": "/h", "ReadOnly": True},
                            {"Type": "volume", "Source": "mv", "Target": "/v", "VolumeOptions": {"NoCopy": True}}]
    with pytest.raises(VolumeInUse):
        rt.volumes.remove("mv")


def test_duplicate_mount_point_is_refused(rt, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="Duplicate mount point: /d"):
        co.create(rt, ContainerSpec(image="busybox", command=("true",),
                                    mounts=(parse_volume("a1:/d"), Mount("bind", "/d", str(tmp_path)))))
    assert names_of(rt) == set()


def test_rm_v_of_a_running_container_with_force(rt) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "60"), mounts=(parse_volume("/d"),)))
    co.start(rt, cid)
    (m,) = volume_mounts(rt, cid)
    co.rm(rt, cid, force=True, volumes=True)
    assert not rt.volumes.exists(m["Name"])
    assert not os.path.exists(rt.volumes.dir(m["Name"]))


def test_auto_remove_hook_removes_anonymous_volumes_only(rt) -> None:
    cid, _, _ = sh(rt, "true", "/anon", "named:/named")
    record = co.runtime_context(rt).containers.config(cid)
    (anon,) = [m["Name"] for m in volume_mounts(rt, cid) if m["Name"] != "named"]
    co.rm(rt, cid)
    assert remove_volumes_of(rt.paths, cid, record) == [anon]
    assert names_of(rt) == {"named"}
