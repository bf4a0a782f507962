"""What the process inside sees: capabilities, masked paths, read-only rootfs, limits, user."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from rtkit import output, run

from berth.containers import ContainerSpec, Mount
from berth.engine import container_ops as co


def test_default_capabilities_are_dockers(rt) -> None:
    cid, code = run(rt, "grep", "Cap", "/proc/self/status")
    assert code == 0
    assert "CapBnd:\t00000000a80425fb" in output(rt, cid)


def test_cap_drop_and_privileged(rt) -> None:
    cid, _ = run(rt, "grep", "CapBnd", "/proc/self/status", cap_drop=("ALL",), cap_add=("KILL",))
    assert output(rt, cid).strip() == "CapBnd:\t0000000000000020"
    cid, _ = run(rt, "sh", "-c", "grep CapBnd /proc/self/status; wc -c < /proc/timer_list", privileged=True)
    bnd, timer_list = output(rt, cid).splitlines()
    assert int(bnd.split()[1], 16) > 0xa80425fb  # every capability the engine itself has
    assert int(timer_list) > 0  # not masked


def test_masked_and_readonly_paths(rt) -> None:
    # /proc/kcore does not exist on every kernel (not on this CI's); /proc/timer_list does
    cid, code = run(rt, "sh", "-c", "wc -c < /proc/timer_list; test -e /proc/kcore && wc -c < /proc/kcore;"
                                    "echo 1 > /proc/sys/kernel/ns_last_pid || echo ro")
    lines = output(rt, cid).splitlines()
    assert code == 0
    assert lines[0] == "0"  # bind-mounted /dev/null
    if Path("/proc/kcore").exists():
        assert lines[1] == "0"
    assert "ro" in lines and any("Read-only file system" in ln for ln in lines)


def test_read_only_rootfs_refuses_writes_but_tmpfs_and_etc_work(rt) -> None:
    cid, code = run(rt, "sh", "-c", "touch /x && echo wrote; touch /tmp/y && echo tmp; cat /etc/hostname",
                    read_only=True, mounts=(Mount(type="tmpfs", target="/tmp"),), hostname="box")
    out = output(rt, cid)
    assert code == 0
    assert "wrote" not in out and "Read-only file system" in out
    assert "tmp\n" in out and "box\n" in out


def test_writes_go_to_the_container_layer_only(rt) -> None:
    cid, code = run(rt, "sh", "-c", "echo hi > /etc/motd2 && cat /etc/motd2")
    assert code == 0 and output(rt, cid) == "hi\n"
    assert (rt.paths.root / "containers" / cid / "overlay" / "upper" / "etc" / "motd2").read_text() == "hi\n"
    cid2, _ = run(rt, "sh", "-c", "test -e /etc/motd2 && echo leaked || echo clean")
    assert output(rt, cid2) == "clean\n"


def _cgroup_dir(pid: int, controller: str) -> Path:
    """The host path of ``pid``'s cgroup for ``controller`` (v1), or its unified cgroup (v2)."""
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    for line in lines:
        _, ctrls, path = line.split(":", 2)
        if controller in ctrls.split(","):
            for m in Path("/proc/self/mountinfo").read_text().splitlines():
                f = m.split()
                if f[-3] == "cgroup" and controller in f[-1].split(","):
                    return Path(f[4]) / path[len(f[3]):].lstrip("/") if path.startswith(f[3]) else Path(f[4])
    path = next(ln.split(":", 2)[2] for ln in lines if ln.startswith("0::"))
    return Path("/sys/fs/cgroup") / path.lstrip("/")


def test_memory_cpu_and_pids_limits_reach_the_cgroup(rt) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "30"), memory=64 * 1024 * 1024,
                                      nano_cpus=500_000_000, pids_limit=50))
    co.start(rt, cid)
    pid = co.inspect(rt, cid)["State"]["Pid"]
    mem = _cgroup_dir(pid, "memory")
    limit = (mem / "memory.limit_in_bytes") if (mem / "memory.limit_in_bytes").exists() else mem / "memory.max"
    assert int(limit.read_text()) == 64 * 1024 * 1024
    pids = _cgroup_dir(pid, "pids") / "pids.max"
    assert pids.read_text().strip() == "50"
    co.rm(rt, cid, force=True)


def test_user_nobody_and_workdir_env(rt) -> None:
    cid, code = run(rt, "sh", "-c", "id -u; id -g; pwd; echo $FOO $HOSTNAME", user="nobody", workdir="/tmp",
                    env=(("FOO", "bar"),), hostname="h1")
    assert code == 0
    assert output(rt, cid).splitlines() == ["65534", "65534", "/tmp", "bar h1"]


def test_unknown_user_fails_start_clearly(rt) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("true",), user="nosuchuser"))
    with pytest.raises(Exception, match="unable to find user nosuchuser"):
        co.start(rt, cid)


def test_bind_mount_and_none_network(rt, tmp_path: Path) -> None:
    host = tmp_path / "data"
    host.mkdir()
    (host / "in.txt").write_text("from host\n")
    cid, code = run(rt, "sh", "-c", "cat /data/in.txt; echo back > /data/out.txt; ls /sys/class/net",
                    mounts=(Mount(type="bind", source=str(host), target="/data"),), network="none")
    assert code == 0
    assert output(rt, cid).splitlines() == ["from host", "lo"]  # --network none: loopback only
    assert (host / "out.txt").read_text() == "back\n"
    mounts = co.inspect(rt, cid)["Mounts"]
    assert mounts == [{"Type": "bind", "Source": str(host), "Destination": "/data", "Mode": "", "RW": True,
                       "Propagation": "rprivate"}]


def test_start_is_fast(rt) -> None:
    t0 = time.monotonic()
    run(rt, "true")
    assert time.monotonic() - t0 < 5


def test_user_lookup_never_follows_an_etc_symlink_out_of_the_rootfs(rt, busybox_tar: Path, tmp_path: Path) -> None:
    """Regression: an image whose /etc is a symlink to a host dir must not have --user resolved from the
    host's passwd; the link is resolved with the rootfs as / (libcontainer reads the files in the container)."""
    import io
    import tarfile

    outside = tmp_path / "host-etc"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nintruder:x:4242:4242::/:/bin/sh\n")
    (outside / "group").write_text("root:x:0:\nintruder:x:4242:\n")
    evil = tmp_path / "etc-link.tar"
    with tarfile.open(busybox_tar) as src, tarfile.open(evil, "w") as dst:
        for member in src.getmembers():
            if member.name.lstrip("./").split("/")[0] != "etc":
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        link = tarfile.TarInfo("./etc")
        link.type, link.linkname = tarfile.SYMTYPE, str(outside)
        dst.addfile(link, io.BytesIO(b""))
    rt.import_image(evil, "etc-link")

    cid = co.create(rt, ContainerSpec(image="etc-link", command=("true",), user="intruder"))
    with pytest.raises(Exception, match="unable to find user intruder"):
        co.start(rt, cid)
    assert co.inspect(rt, cid)["State"]["Running"] is False
