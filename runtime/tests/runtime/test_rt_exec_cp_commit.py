"""exec, cp and commit with real runc + conmon."""

from __future__ import annotations

import argparse
import json
import os
import stat
from pathlib import Path

import pytest
from rtkit import output, run

from berth.containers import ContainerSpec
from berth.engine import Engine
from berth.engine import container_ops as co
from berth.errors import Conflict, InvalidArgument, NotFound
from berth.runtime.cp import CopyError
from berth.runtime.errors import ContainerNotRunning
from berth.runtime.exec import ExecFailed


def _running(engine: Engine, **spec_args) -> str:
    cid = co.create(engine, ContainerSpec(image="busybox", command=("sleep", "300"), **spec_args))
    co.start(engine, cid)
    return cid


def _sh(engine: Engine, cid: str, script: str, **kw) -> tuple[int, str, str]:
    code, out, err = co.exec_(engine, cid, ["sh", "-c", script], **kw)
    return code, out.decode(), err.decode()


# -- exec ------------------------------------------------------------------------------
def test_exec_reads_the_container_hostname_and_propagates_exit_codes(rt) -> None:
    cid = _running(rt, name="ex", hostname="exhost")
    assert co.exec_(rt, "ex", ["cat", "/etc/hostname"]) == (0, b"exhost\n", b"")
    assert _sh(rt, cid, "echo out; echo err >&2; exit 7") == (7, "out\n", "err\n")
    assert co.exec_(rt, cid, ["sh", "-c", "kill -9 $$"])[0] == 137
    with pytest.raises(ExecFailed, match="executable file not found") as info:
        co.exec_(rt, cid, ["no-such-command"])
    assert info.value.exit_code == 127


def test_exec_user_env_workdir_and_capabilities(rt) -> None:
    cid = _running(rt, env=(("FROM_RUN", "1"), ("OVER", "run")), workdir="/tmp")
    assert _sh(rt, cid, "id -u; id -g", user="nobody")[1] == "65534\n65534\n"
    assert _sh(rt, cid, "id -u", user="1234:5")[1] == "1234\n"
    code, out, _ = _sh(rt, cid, "echo $FROM_RUN $OVER $NEW $HOME; pwd", env=["OVER=exec", "NEW=x"])
    assert (code, out) == (0, "1 exec x /root\n/tmp\n")
    assert _sh(rt, cid, "pwd", workdir="/etc")[1] == "/etc\n"
    # the container's capability set (Docker's default: no CAP_SYS_ADMIN, bit 21)
    caps = int(_sh(rt, cid, "grep CapEff /proc/self/status")[1].split()[1], 16)
    assert caps and not caps & (1 << 21)
    with pytest.raises(InvalidArgument, match="unable to find user nosuch"):
        co.exec_(rt, cid, ["id"], user="nosuch")
    with pytest.raises(InvalidArgument, match="absolute path"):
        co.exec_(rt, cid, ["id"], workdir="relative")


def test_exec_detached_keeps_running(rt) -> None:
    cid = _running(rt)
    assert co.exec_(rt, cid, ["sh", "-c", "echo started > /tmp/bg; sleep 30"], detach=True) == (0, b"", b"")
    assert _sh(rt, cid, "cat /tmp/bg; ps | grep -c 'sleep 30'")[1].startswith("started\n")


def test_exec_into_a_stopped_container_is_refused(rt) -> None:
    cid, _ = run(rt, "true")
    with pytest.raises(ContainerNotRunning, match=f"container {cid} is not running") as info:
        co.exec_(rt, cid, ["true"])
    assert isinstance(info.value, Conflict)
    created = co.create(rt, ContainerSpec(image="busybox", command=("true",)))
    with pytest.raises(ContainerNotRunning):
        co.exec_(rt, created, ["true"])
    with pytest.raises(ContainerNotRunning):  # -d -t (a conmon exec session): test_rt_attach
        co.exec_(rt, created, ["true"], tty=True, detach=True)


# -- cp ----------------------------------------------------------------------------------
def test_cp_file_in_then_cat_it_root_owned_mode_kept(rt, tmp_path: Path) -> None:
    cid = _running(rt)
    src = tmp_path / "notes.txt"
    src.write_text("hello from the host\n")
    src.chmod(0o640)
    os.chown(src, 1000, 1000)
    co.cp(rt, str(src), f"{cid}:/tmp/")  # into an existing dir: keeps its name
    co.cp(rt, str(src), f"{cid}:/tmp/renamed.txt")  # to a new name
    assert _sh(rt, cid, "cat /tmp/notes.txt /tmp/renamed.txt")[1] == "hello from the host\n" * 2
    assert _sh(rt, cid, "stat -c '%a %u %g' /tmp/notes.txt")[1] == "640 0 0\n"
    with pytest.raises(CopyError, match="must exist"):
        co.cp(rt, str(src), f"{cid}:/nodir/")
    with pytest.raises(CopyError, match="a parent of the destination must exist"):
        co.cp(rt, str(src), f"{cid}:/nodir/x")
    with pytest.raises(NotFound, match="Could not find the file"):
        co.cp(rt, f"{cid}:/no/such", str(tmp_path / "x"))


def test_cp_dir_out_and_in_with_docker_path_rules(rt, tmp_path: Path) -> None:
    cid = _running(rt)
    assert _sh(rt, cid, "mkdir -p /data/sub && echo a > /data/a && echo b > /data/sub/b && "
                        "chmod 700 /data/sub && ln -s a /data/link")[0] == 0
    co.cp(rt, f"{cid}:/data", str(tmp_path / "out"))  # missing dest: created, with the contents
    assert (tmp_path / "out" / "a").read_text() == "a\n"
    assert (tmp_path / "out" / "sub" / "b").read_text() == "b\n"
    assert os.readlink(tmp_path / "out" / "link") == "a"
    assert (tmp_path / "out" / "sub").stat().st_mode & 0o777 == 0o700
    co.cp(rt, f"{cid}:/data", str(tmp_path / "out"))  # existing dir: nested under its name
    assert (tmp_path / "out" / "data" / "sub" / "b").read_text() == "b\n"
    (tmp_path / "only").mkdir()
    co.cp(rt, f"{cid}:/data/.", str(tmp_path / "only"))  # dir/. : the contents
    assert sorted(os.listdir(tmp_path / "only")) == ["a", "link", "sub"]
    with pytest.raises(CopyError, match="cannot copy a directory to a file"):
        co.cp(rt, f"{cid}:/data", str(tmp_path / "out" / "a"))
    # and back in: a host dir into an existing container dir nests it
    co.cp(rt, str(tmp_path / "only"), f"{cid}:/tmp")
    assert _sh(rt, cid, "cat /tmp/only/sub/b; stat -c %u /tmp/only/sub/b")[1] == "b\n0\n"


def test_cp_from_and_to_a_stopped_container(rt, tmp_path: Path) -> None:
    cid, code = run(rt, "sh", "-c", "echo kept > /result.txt")
    assert code == 0
    co.cp(rt, f"{cid}:/result.txt", str(tmp_path / "r.txt"))
    assert (tmp_path / "r.txt").read_text() == "kept\n"
    (tmp_path / "in.txt").write_text("in\n")
    co.cp(rt, str(tmp_path / "in.txt"), f"{cid}:/in.txt")
    assert not co.runtime_context(rt).rootfs(cid).is_mount()  # unmounted again
    co.start(rt, cid)  # the file is in its writable layer
    co.wait(rt, cid, timeout=30)
    assert (co.runtime_context(rt).containers.dir(cid) / "overlay" / "upper" / "in.txt").read_text() == "in\n"


def test_cp_symlink_escape_is_contained(rt, tmp_path: Path) -> None:
    cid = _running(rt)
    assert _sh(rt, cid, "ln -s / /x && ln -s ../../../../../../etc /up")[0] == 0
    evil = tmp_path / "evil"
    evil.write_text("pwned\n")
    name = f"berth-evil-{os.getpid()}"
    co.cp(rt, str(evil), f"{cid}:/x/etc/{name}")
    co.cp(rt, str(evil), f"{cid}:/up/{name}-2")
    assert not Path(f"/etc/{name}").exists() and not Path(f"/etc/{name}-2").exists()
    assert _sh(rt, cid, f"cat /etc/{name} /etc/{name}-2")[1] == "pwned\n" * 2
    # a destination that is a symlink to a host path is resolved in the container too
    assert _sh(rt, cid, f"ln -s /etc/{name}-3 /link3")[0] == 0
    co.cp(rt, str(evil), f"{cid}:/link3")
    assert not Path(f"/etc/{name}-3").exists()
    assert _sh(rt, cid, f"cat /etc/{name}-3")[1] == "pwned\n"
    # copied out, a symlink stays a symlink (never read through to the host)
    co.cp(rt, f"{cid}:/x", str(tmp_path / "xlink"))
    assert os.readlink(tmp_path / "xlink") == "/"


# -- commit ------------------------------------------------------------------------------
def test_commit_then_run_the_new_image(rt) -> None:
    _, code = run(rt, "sh", "-c", "echo committed > /hello.txt && rm /etc/group", name="builder")
    assert code == 0
    image_id = co.commit(rt, "builder", "newimg:1", changes=['CMD ["cat", "/hello.txt"]'],
                         message="add hello", author="Jane <jane@example.com>")
    assert image_id.startswith("sha256:") and str(rt.image_id("newimg:1")) == image_id
    new = co.create(rt, ContainerSpec(image="newimg:1"))
    co.start(rt, new)
    assert co.wait(rt, new, timeout=30) == 0
    assert output(rt, new) == "committed\n"
    probe, code = _run_image(rt, "newimg:1", "sh", "-c", "test -e /etc/group && echo present || echo absent")
    assert output(rt, probe) == "absent\n"
    hist = rt.history("newimg:1")
    base = rt.history("busybox")
    assert len(hist) == len(base) + 1
    assert hist[0]["Id"] == image_id and hist[0]["Comment"] == "add hello"
    assert "echo committed" in hist[0]["CreatedBy"] and hist[0]["Size"] > 0
    # the new layer: the file and a whiteout, not the mount points runc created (/etc/hosts...)
    top = rt.store.layers.diff_dir(rt.store.images.get(rt.image_id("newimg:1")).diff_ids()[-1])
    found = sorted(str(p.relative_to(top)) for p in top.rglob("*"))
    assert found == ["etc", "etc/group", "hello.txt"]
    assert (top / "etc" / "group").lstat().st_rdev == 0 and stat.S_ISCHR((top / "etc" / "group").lstat().st_mode)
    info = rt.inspect_image("newimg:1")
    cfg = info.get("Config") or info.get("config") or {}
    assert cfg.get("Cmd") == ["cat", "/hello.txt"]
    co.rm(rt, new)
    co.rm(rt, probe)
    report = rt.system_check()
    assert report.problems == []


def test_commit_keeps_container_config_and_running_container(rt) -> None:
    cid = _running(rt, env=(("GREETING", "hi"),), workdir="/tmp", labels=(("tier", "db"),))
    assert _sh(rt, cid, "echo live > /live.txt")[0] == 0
    image_id = co.commit(rt, cid, "live:snap", changes=["ENV EXTRA=1", "EXPOSE 8080"])
    assert co.inspect(rt, cid)["State"]["Running"]  # not stopped (nor frozen) by commit
    new, code = _run_image(rt, "live:snap", "sh", "-c", "cat /live.txt; pwd; echo $GREETING $EXTRA")
    assert (code, output(rt, new)) == (0, "live\n/tmp\nhi 1\n")
    raw = json.loads(rt.store.blobs.read(rt.image_id(image_id)))
    assert raw["config"]["Labels"] == {"tier": "db"} and "8080/tcp" in raw["config"]["ExposedPorts"]
    assert raw["container"] == cid
    # no change since: an empty diff adds no layer
    stopped, _ = run(rt, "true")
    empty = co.commit(rt, stopped)
    raw = json.loads(rt.store.blobs.read(rt.image_id(empty)))
    assert raw["history"][-1]["empty_layer"] is True
    assert len(raw["rootfs"]["diff_ids"]) == len(rt.history("busybox"))


def test_commit_refuses_a_bad_change_before_any_work(rt) -> None:
    cid, _ = run(rt, "true")
    blobs = set(rt.store.blobs)
    with pytest.raises(InvalidArgument, match="not a valid change command"):
        co.commit(rt, cid, "x:1", changes=["RUN echo no"])
    assert set(rt.store.blobs) == blobs


def _run_image(engine: Engine, image: str, *cmd: str) -> tuple[str, int]:
    cid = co.create(engine, ContainerSpec(image=image, command=cmd or None))
    co.start(engine, cid)
    return cid, co.wait(engine, cid, timeout=30)


# -- CLI -----------------------------------------------------------------------------------
@pytest.fixture
def cli(rt):
    """``berth exec/cp/commit`` through the parser of berth.cli.container_tools."""
    from berth.cli import container_tools

    parser = argparse.ArgumentParser(prog="berth")
    container_tools.register(parser.add_subparsers(dest="command"))

    def call(*argv: str) -> int:
        args = parser.parse_args(argv)
        return args.func(rt, args)

    return call


def test_cli_exec_cp_commit(rt, cli, capfd, tmp_path: Path) -> None:
    cid = _running(rt, name="clic")
    assert cli("exec", "-u", "nobody", "-e", "A=1", "clic", "sh", "-c", "echo $A $(id -u); exit 4") == 4
    assert capfd.readouterr().out == "1 65534\n"
    (tmp_path / "f").write_text("via cli\n")
    assert cli("cp", str(tmp_path / "f"), "clic:/f") == 0
    assert cli("exec", "clic", "cat", "/f") == 0
    assert capfd.readouterr().out == "via cli\n"
    assert cli("commit", "-c", "CMD cat /f", "-m", "m", "clic", "clicimg") == 0
    printed = capfd.readouterr().out.strip()
    assert printed == str(rt.image_id("clicimg:latest"))
    assert co.inspect(rt, cid)["State"]["Running"]
