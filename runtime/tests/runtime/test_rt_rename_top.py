"""``berth rename`` and ``berth top`` (engine ops and CLI), with real runc + conmon."""

from __future__ import annotations

import subprocess
import sys

import pytest

from berth.containers import ContainerSpec
from berth.engine import Engine
from berth.engine import container_ops as co
from berth.errors import Conflict, InvalidArgument
from berth.runtime.errors import ContainerNotFound, ContainerNotRunning


def _cli(engine: Engine, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "berth.cli.main", "--root", str(engine.paths.root), *args],
                          capture_output=True, text=True, timeout=60)


def _make(engine: Engine, name: str, *cmd: str, start: bool = False) -> str:
    cid = co.create(engine, ContainerSpec(image="busybox", command=list(cmd or ["sleep", "60"]), name=name),
                    detach=True)
    if start:
        co.start(engine, cid)
    return cid


def test_rename_running_and_stopped_docker_semantics(rt: Engine) -> None:
    running = _make(rt, "alpha", start=True)
    stopped = _make(rt, "beta")
    assert co.rename(rt, "alpha", "gamma") == running
    assert co.inspect(rt, "gamma")["Name"] == "/gamma" and co.inspect(rt, "gamma")["State"]["Running"]
    with pytest.raises(ContainerNotFound):
        co.inspect(rt, "alpha")
    # NEW in use -> Conflict, nothing changes
    with pytest.raises(Conflict, match="already in use"):
        co.rename(rt, "beta", "gamma")
    assert co.inspect(rt, "beta")["Id"] == stopped
    with pytest.raises(InvalidArgument):
        co.rename(rt, "beta", "beta")
    with pytest.raises(InvalidArgument):
        co.rename(rt, "beta", "bad name!")
    with pytest.raises(ContainerNotFound):
        co.rename(rt, "nosuch", "delta")
    co.rename(rt, stopped[:12], "/alpha")  # by id prefix; the old name of the other one is free
    assert co.inspect(rt, "alpha")["Id"] == stopped
    assert sorted(r["Names"][0] for r in co.ps(rt, all=True)) == ["/alpha", "/gamma"]
    assert rt.system_check().problems == []
    co.stop(rt, "gamma", timeout=0)
    co.start(rt, "gamma")  # a renamed container starts under its new name
    assert co.inspect(rt, "gamma")["State"]["Running"]


def test_rename_cli(rt: Engine) -> None:
    cid = _make(rt, "one")
    _make(rt, "two")
    res = _cli(rt, "rename", "one", "uno")
    assert res.returncode == 0 and res.stdout == "", res.stderr
    assert co.inspect(rt, "uno")["Id"] == cid
    res = _cli(rt, "rename", "uno", "two")
    assert res.returncode != 0 and "already in use" in res.stderr


def test_top_lists_the_container_processes(rt: Engine) -> None:
    _make(rt, "topper", "sh", "-c", "sleep 77 & sleep 78; echo done", start=True)
    cid = co.inspect(rt, "topper")["Id"]
    rt_exec = co.exec_(rt, cid, ["sleep", "79"], detach=True)
    assert rt_exec[0] == 0
    import time

    deadline = time.monotonic() + 10
    while True:
        res = co.top(rt, "topper")
        cmds = [p[3] for p in res["Processes"]]
        if any("sleep 79" in c for c in cmds) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert res["Titles"] == ["PID", "USER", "TIME", "CMD"]
    assert any(c.startswith("sh -c") for c in cmds) and any("sleep 77" in c for c in cmds), cmds
    assert any("sleep 78" in c for c in cmds) and any("sleep 79" in c for c in cmds), cmds
    assert all(p[1] == "root" for p in res["Processes"])
    assert all(not c.startswith("conmon") for c in cmds)
    out = _cli(rt, "top", "topper")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].split() == ["PID", "USER", "TIME", "CMD"]
    assert "sleep 77" in out.stdout
    co.stop(rt, "topper", timeout=0)
    with pytest.raises(ContainerNotRunning):
        co.top(rt, "topper")
    res = _cli(rt, "top", "topper")
    assert res.returncode != 0 and "is not running" in res.stderr
