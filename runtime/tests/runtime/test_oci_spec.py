"""The OCI spec built from an image config + ContainerSpec: Docker's merge rules (no runtime needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.containers import ContainerSpec
from berth.containers.users import lookup_user
from berth.errors import InvalidArgument
from berth.runtime.caps import DEFAULT_CAPS, host_caps
from berth.runtime.oci import build_spec_for
from berth.runtime.oci_defaults import MASKED_PATHS, READONLY_PATHS, OCIMount

IMG = {"Entrypoint": ["/entry.sh"], "Cmd": ["serve", "--port", "80"], "Env": ["PATH=/opt/bin:/bin", "A=1"],
       "WorkingDir": "/app", "User": "www"}


def spec_of(image: dict | None = None, **kw):
    return build_spec_for(IMG if image is None else image, ContainerSpec(image="img", **kw), container_id="ab" * 32)


@pytest.mark.parametrize(("image", "kw", "args"), [
    (IMG, {}, ["/entry.sh", "serve", "--port", "80"]),
    (IMG, {"command": ("debug",)}, ["/entry.sh", "debug"]),
    (IMG, {"entrypoint": ("/bin/sh",)}, ["/bin/sh"]),  # a new entrypoint drops the image Cmd
    (IMG, {"entrypoint": ("/bin/sh",), "command": ("-c", "x")}, ["/bin/sh", "-c", "x"]),
    (IMG, {"entrypoint": (), "command": ("ls",)}, ["ls"]),  # --entrypoint "" clears the image's ENTRYPOINT
    ({"Cmd": ["sh"]}, {}, ["sh"]),
    ({"Cmd": ["sh"]}, {"command": ("echo", "hi")}, ["echo", "hi"]),
])
def test_entrypoint_cmd_matrix(image, kw, args) -> None:
    assert spec_of(image, **kw)["process"]["args"] == args


@pytest.mark.parametrize(("image", "kw"), [
    ({}, {}),
    # moby: --entrypoint "" reaches the daemon as [""], so the image's Cmd is dropped, and then there is nothing to run
    (IMG, {"entrypoint": ()}),
])
def test_no_command_is_an_error(image, kw) -> None:
    with pytest.raises(InvalidArgument, match="no command specified"):
        spec_of(image, **kw)


def test_env_merge_path_hostname_term() -> None:
    env = spec_of(env=(("A", "2"), ("B", "3")), hostname="h", tty=True)["process"]["env"]
    assert env == ["PATH=/opt/bin:/bin", "HOSTNAME=h", "TERM=xterm", "A=2", "B=3"]
    # Config.Env is the user's variables first, then the image's (moby merge); the process env puts them
    # over PATH/HOSTNAME by key (moby ReplaceOrAppendEnvValues)
    env = spec_of(env=(("B", "3"), ("A", "2")))["process"]["env"]
    assert env == ["PATH=/opt/bin:/bin", "HOSTNAME=" + "ab" * 6, "B=3", "A=2"]
    env = spec_of({"Cmd": ["sh"]})["process"]["env"]
    assert env[0] == "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert env[1] == "HOSTNAME=" + "ab" * 6  # default hostname: the short id


def test_workdir_hostname_terminal_defaults() -> None:
    s = spec_of({"Cmd": ["sh"]})
    assert s["process"]["cwd"] == "/" and s["hostname"] == "ababababab" + "ab"
    assert s["process"]["terminal"] is False
    assert spec_of()["process"]["cwd"] == "/app"
    assert spec_of(workdir="/w", tty=True)["process"]["cwd"] == "/w"


def test_default_caps_masked_readonly_mounts_namespaces() -> None:
    s = spec_of()
    caps = s["process"]["capabilities"]
    assert caps["bounding"] == caps["effective"] == caps["permitted"] == list(DEFAULT_CAPS)
    assert s["linux"]["maskedPaths"] == list(MASKED_PATHS)
    assert s["linux"]["readonlyPaths"] == list(READONLY_PATHS)
    dests = [m["destination"] for m in s["mounts"]]
    assert dests[:7] == ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]
    shm = next(m for m in s["mounts"] if m["destination"] == "/dev/shm")
    assert "size=67108864" in shm["options"]
    assert {n["type"] for n in s["linux"]["namespaces"]} == {"pid", "ipc", "uts", "mount", "network"}
    assert s["process"]["noNewPrivileges"] is False
    assert s["root"]["readonly"] is False


@pytest.mark.parametrize(("add", "drop", "expected"), [
    (("NET_ADMIN",), (), [*DEFAULT_CAPS, "CAP_NET_ADMIN"]),
    ((), ("chown", "CAP_KILL"), [c for c in DEFAULT_CAPS if c not in ("CAP_CHOWN", "CAP_KILL")]),
    (("KILL",), ("ALL",), ["CAP_KILL"]),
    (("ALL",), ("MKNOD",), [c for c in host_caps() if c != "CAP_MKNOD"]),
])
def test_cap_add_drop(add, drop, expected) -> None:
    assert spec_of(cap_add=add, cap_drop=drop)["process"]["capabilities"]["bounding"] == expected


def test_unknown_capability() -> None:
    with pytest.raises(InvalidArgument, match='invalid --cap-add value "FLY": unknown capability'):
        spec_of(cap_add=("FLY",))
    with pytest.raises(InvalidArgument, match='invalid --cap-drop value "FLY": unknown capability'):
        spec_of(cap_drop=("FLY",))


def test_privileged() -> None:
    s = spec_of(privileged=True)
    assert s["process"]["capabilities"]["bounding"] == list(host_caps())
    assert s["linux"]["maskedPaths"] == [] and s["linux"]["readonlyPaths"] == []
    assert s["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    sysfs = next(m for m in s["mounts"] if m["destination"] == "/sys")
    assert "ro" not in sysfs["options"]
    assert any(d["path"] == "/dev/null" for d in s["linux"]["devices"])


def test_read_only_limits_and_host_network() -> None:
    s = spec_of(read_only=True, memory=64 << 20, nano_cpus=1_500_000_000, pids_limit=100)
    assert s["root"]["readonly"] is True
    res = s["linux"]["resources"]
    assert res["memory"] == {"limit": 64 << 20}
    assert res["cpu"] == {"quota": 150_000, "period": 100_000}
    assert res["pids"] == {"limit": 100}
    host = spec_of(network="host")
    assert {n["type"] for n in host["linux"]["namespaces"]} == {"pid", "ipc", "mount"}
    assert "hostname" not in host
    assert {"type": "network"} in spec_of()["linux"]["namespaces"]  # a new netns: loopback only


def test_prepared_netns_and_user_mounts(tmp_path: Path) -> None:
    s = build_spec_for({"Cmd": ["sh"]}, ContainerSpec(image="i"), netns_path="/run/netns/x", etc_dir=tmp_path,
                       mounts=(OCIMount("/data/sub", "bind", "/h/sub", ("rbind",)),
                               OCIMount("/data", "bind", "/h", ("rbind",)),
                               OCIMount("/dev/shm", "tmpfs", "tmpfs", ("size=1m",))))
    assert {"type": "network", "path": "/run/netns/x"} in s["linux"]["namespaces"]
    dests = [m["destination"] for m in s["mounts"]]
    assert dests.count("/dev/shm") == 1  # the user's replaces the default
    assert dests.index("/data") < dests.index("/data/sub")
    for name in ("hosts", "hostname", "resolv.conf"):
        m = next(m for m in s["mounts"] if m["destination"] == f"/etc/{name}")
        assert m["source"] == str(tmp_path / name)


def test_lookup_user(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nwww:x:33:34::/var/www:/bin/false\n")
    (tmp_path / "etc" / "group").write_text("root:x:0:\nwww:x:34:\nextra:x:50:www\n")
    assert lookup_user(tmp_path, "www").uid == 33
    assert lookup_user(tmp_path, "www").gid == 34
    assert lookup_user(tmp_path, "www").additional_gids == (50,)
    assert lookup_user(tmp_path, "www").home == "/var/www"
    # libcontainer: an explicit group replaces the passwd gid, and then no supplementary groups apply
    assert (lookup_user(tmp_path, "www:root").gid, lookup_user(tmp_path, "www:root").additional_gids) == (0, ())
    assert lookup_user(tmp_path, "1000:1000").uid == 1000
    assert lookup_user(tmp_path, None).uid == 0
    with pytest.raises(InvalidArgument, match="unable to find user nobody"):
        lookup_user(tmp_path, "nobody")
    with pytest.raises(InvalidArgument, match="unable to find group nogroup"):
        lookup_user(tmp_path, "www:nogroup")


def test_default_seccomp_profile_follows_the_capabilities() -> None:
    sc = spec_of()["linux"]["seccomp"]
    assert sc["defaultAction"] == "SCMP_ACT_ERRNO" and sc["defaultErrnoRet"] == 1
    allowed = {n for r in sc["syscalls"] if r["action"] == "SCMP_ACT_ALLOW" and not r.get("args") for n in r["names"]}
    assert "read" in allowed and "unshare" not in allowed and "mount" not in allowed
    admin = spec_of(cap_add=("SYS_ADMIN",))["linux"]["seccomp"]
    assert {"unshare", "mount", "setns"} <= {n for r in admin["syscalls"] for n in r["names"]}


def test_no_seccomp_when_privileged_or_unconfined() -> None:
    assert "seccomp" not in spec_of(privileged=True)["linux"]
    assert "seccomp" not in spec_of(security_opt=("seccomp=unconfined",))["linux"]
    # --privileged wins over a profile, as in Docker
    assert "seccomp" not in spec_of(privileged=True, security_opt=('seccomp={"defaultAction":"SCMP_ACT_LOG"}',))[
        "linux"]
    assert spec_of(security_opt=("seccomp=builtin",))["linux"]["seccomp"] == spec_of()["linux"]["seccomp"]


def test_custom_seccomp_profile_and_other_security_options() -> None:
    s = spec_of(security_opt=('seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":'
                              '[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}',
                              "no-new-privileges", "systempaths=unconfined"))
    assert s["linux"]["seccomp"] == {"defaultAction": "SCMP_ACT_ALLOW",
                                     "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    assert s["process"]["noNewPrivileges"] is True
    assert s["linux"]["maskedPaths"] == [] and s["linux"]["readonlyPaths"] == []
    assert spec_of(security_opt=("no-new-privileges=false",))["process"]["noNewPrivileges"] is False
    # a profile that reached the record without the CLI's check (API callers) is refused at start
    with pytest.raises(InvalidArgument, match='--security-opt seccomp: defaultAction "NOPE"'):
        spec_of(security_opt=('seccomp={"defaultAction":"NOPE"}',))
