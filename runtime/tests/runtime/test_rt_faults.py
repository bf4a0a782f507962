"""Crash safety of ``berth run``/``rm``: kill -9 anywhere, then ``system check --repair``.

A crash is simulated for real, as in tests/engine/test_pull_faults.py: a child process runs the
engine's create + start (``berth run -d``) or rm and SIGKILLs itself at a chosen point (a patched
function), or the test kills ``berth run -d`` after a random delay. Afterwards ``system check``
reports what was left, ``--repair`` fixes it, and nothing remains: no mount under the root, no
runc state, no cgroup, no conmon; the name can be used again.
"""

from __future__ import annotations

import glob
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rtkit import mounts_under

from berth.containers import ContainerSpec
from berth.engine import Engine
from berth.engine import container_ops as co

RUNTIME_TESTS = Path(__file__).resolve().parent.parent

_CHILD = """
import os, sys
sys.path.insert(0, {tests!r})
from berth.engine import Engine
from berth.engine import container_ops as co
from berth.containers import ContainerSpec
import berth.runtime.rootfs, berth.runtime.driver
point, root, name = {point!r}, {root!r}, {name!r}

def die(*a, **k):
    os.kill(os.getpid(), 9)

def then_die(obj, attr):
    orig = getattr(obj, attr)
    def wrapper(*a, **k):
        orig(*a, **k)
        die()
    setattr(obj, attr, wrapper)

eng = Engine(root=root)
cid = co.create(eng, ContainerSpec(image="busybox", command=["sleep", "100"], name=name), detach=True)
print(cid, flush=True)
if point == "created":
    die()
elif point == "mounted":
    then_die(berth.runtime.rootfs, "mount_rootfs")
elif point == "monitor-started":
    berth.runtime.driver.RuncDriver.start = die
elif point == "runtime-started":
    then_die(berth.runtime.driver.RuncDriver, "start")
co.start(eng, cid)
if point.startswith("rm-"):
    orig_rename = os.rename
    def rename(src, dst, *a, **k):
        if "deleted-container" in str(dst):
            if point == "rm-before-record-move":
                die()
            orig_rename(src, dst, *a, **k)
            die()
        return orig_rename(src, dst, *a, **k)
    os.rename = rename
    co.rm(eng, cid, force=True)
print("completed", flush=True)
"""


def _run_child(point: str, root: Path, name: str) -> tuple[subprocess.CompletedProcess, str]:
    code = _CHILD.format(tests=str(RUNTIME_TESTS), point=point, root=str(root), name=name)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return proc, proc.stdout.split()[0] if proc.stdout.split() else ""


# -- what may be left behind ------------------------------------------------------------
def _procs_for(cid: str) -> list[str]:
    """conmon / exit hook processes of a container (by its id on their command line)."""
    out = []
    for d in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            args = Path(d).read_bytes().split(b"\0")
        except OSError:
            continue
        if cid.encode() in args and (args[0].endswith(b"conmon") or b"berth.runtime.exit_hook" in args):
            out.append(" ".join(a.decode(errors="replace") for a in args))
    return out


def _cgroups_for(cid: str) -> list[str]:
    return glob.glob(f"/sys/fs/cgroup/*/berth/{cid}") + glob.glob(f"/sys/fs/cgroup/berth/{cid}")


def _leftovers(eng: Engine, cid: str) -> dict[str, list[str]]:
    return {
        "mounts": [m for m in mounts_under(eng.paths.root) if cid in m],
        "runc": [str(p) for p in (eng.paths.run_dir / "runc").glob(f"{cid}*")],
        "cgroups": _cgroups_for(cid),
        "procs": _procs_for(cid),
    }


def _no_leftovers(eng: Engine, cid: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        left = _leftovers(eng, cid)
        if not any(left.values()):
            return
        assert time.monotonic() < deadline, left
        time.sleep(0.05)


def _settle(cid: str, timeout: float = 15.0) -> None:
    """Wait for exit hooks of the container (a killed rm -f leaves its conmon finishing)."""
    deadline = time.monotonic() + timeout
    while any("exit_hook" in p for p in _procs_for(cid)) and time.monotonic() < deadline:
        time.sleep(0.05)


def _kinds(report) -> set[str]:
    return {p.kind for p in report.problems}


def _state(eng: Engine, cid: str) -> dict:
    return json.loads((eng.paths.root / "containers" / cid / "state.json").read_text())


# -- precise kill points --------------------------------------------------------------------
@pytest.mark.parametrize(("point", "expected", "record_left"), [
    ("created", set(), "created"),
    ("mounted", {"orphan-mount"}, "created"),
    ("monitor-started", {"orphan-monitor", "stale-runtime-state", "orphan-mount", "interrupted-start"}, "exited"),
    ("runtime-started", {"orphan-monitor", "stale-runtime-state", "orphan-mount", "interrupted-start"}, "exited"),
    ("rm-before-record-move", {"interrupted-removal"}, None),
    ("rm-after-record-move", {"stale-name", "stale-temp"}, None),
])
def test_kill_9_of_run_or_rm_then_repair(rt: Engine, point: str, expected: set[str], record_left) -> None:
    name = f"k9-{point}"
    proc, cid = _run_child(point, rt.paths.root, name)
    assert proc.returncode == -9, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    assert len(cid) == 64
    _settle(cid)

    found = rt.system_check()
    assert expected <= _kinds(found), found.to_dict()
    assert found.clean == (not expected), found.to_dict()
    assert not any(p.repaired for p in found.problems)  # a check alone changes nothing

    repaired = rt.system_check(repair=True)
    assert repaired.clean, repaired.to_dict()
    after = rt.system_check()
    assert after.clean and after.problems == [], after.to_dict()
    _no_leftovers(rt, cid)

    if record_left is None:
        assert not (rt.paths.root / "containers" / cid).exists()
    else:  # as with Docker, a run killed before it finished leaves a container, never a running one
        st = _state(rt, cid)
        assert st["Status"] == record_left and not st["Running"], st
        assert co.inspect(rt, name)["Id"] == cid
        co.rm(rt, name)  # a plain rm works: nothing is running, nothing is mounted

    # the name is free again and a new run works (and is not mistaken for debris)
    new = co.create(rt, ContainerSpec(image="busybox", command=["sleep", "100"], name=name), detach=True)
    co.start(rt, new)
    assert co.inspect(rt, name)["State"]["Running"]
    final = rt.system_check()
    assert final.clean and final.problems == [], final.to_dict()
    assert co.inspect(rt, name)["State"]["Running"]
    co.rm(rt, name, force=True)
    _no_leftovers(rt, new)


def test_dead_running_record_is_finalized_without_restart_policy(rt: Engine) -> None:
    """A record says running but its process and monitor are gone (a crash): recorded exited
    (255: no exit code survived), not restarted even with --restart always."""
    from berth.containers.spec import RestartPolicy

    cid = co.create(rt, ContainerSpec(image="busybox", command=["sleep", "100"], name="deadrec",
                                      restart=RestartPolicy("always")), detach=True)
    co.start(rt, cid)
    st = _state(rt, cid)
    ctx = co.runtime_context(rt)
    import os
    import signal

    os.kill(st["MonitorPid"], signal.SIGKILL)  # no exit hook will run
    os.kill(st["Pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{st['Pid']}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    shown = co.inspect(rt, cid)["State"]  # before any repair: inspect shows what the repair records
    assert shown["Status"] == "exited" and shown["ExitCode"] == 255 and shown["Pid"] == 0
    found = rt.system_check()
    assert "dead-container" in _kinds(found), found.to_dict()
    assert rt.system_check(repair=True).clean
    after = _state(rt, cid)
    assert after["Status"] == "exited" and after["ExitCode"] == 255 and after["Pid"] == 0
    assert rt.system_check().problems == []
    _no_leftovers(rt, cid)
    assert not ctx.driver.has_state(cid)


def test_check_skips_a_container_whose_op_lock_is_held(rt: Engine) -> None:
    from berth.locks import file_lock

    cid = co.create(rt, ContainerSpec(image="busybox", command=["true"], name="locked"), detach=True)
    ctx = co.runtime_context(rt)
    with ctx.containers.editing_state(cid) as st:
        st.Status = "removing"  # what a removal in progress looks like
    with file_lock(ctx.op_lock(cid)):
        assert subprocess.run([sys.executable, "-m", "berth.cli.main", "--root", str(rt.paths.root),
                               "system", "check", "--repair"], capture_output=True).returncode == 0
        assert ctx.containers.exists(cid)
    assert "interrupted-removal" in _kinds(rt.system_check(repair=True))
    assert not ctx.containers.exists(cid)


def _fake_monitor(ctx, cid: str, seconds: float) -> subprocess.Popen:
    """A process that check takes for this container's conmon (argv[0] ``conmon``, ``-c``, ``-b``)."""
    proc = subprocess.Popen(["conmon", "-", "-c", cid, "-b", str(ctx.bundle(cid))],
                            executable=sys.executable, stdin=subprocess.PIPE)
    proc.stdin.write(f"import time; time.sleep({seconds})".encode())
    proc.stdin.close()
    return proc


def test_monitor_of_the_last_run_on_its_way_out_is_not_an_orphan(rt: Engine) -> None:
    """conmon may outlive the recorded exit by a moment (its exit command records it): a check
    in that moment waits for it instead of reporting it (a flake seen in CI). (A monitor the record
    never got, a start cut short, is covered by the kill -9 tests above.)"""
    cid = co.create(rt, ContainerSpec(image="busybox", command=["true"], name="leaving"), detach=True)
    co.start(rt, cid)
    assert co.wait(rt, cid, timeout=30) == 0
    deadline = time.monotonic() + 15
    while _procs_for(cid) and time.monotonic() < deadline:  # the real conmon and its exit hook: gone
        time.sleep(0.02)
    ctx = co.runtime_context(rt)
    leaving = _fake_monitor(ctx, cid, 0.5)
    try:
        with ctx.containers.editing_state(cid) as st:
            st.MonitorPid = leaving.pid
        assert rt.system_check().problems == []
    finally:
        leaving.kill()
        leaving.wait()


def test_stale_and_missing_name_claims(rt: Engine) -> None:
    ctx = co.runtime_context(rt)
    cid = co.create(rt, ContainerSpec(image="busybox", command=["true"], name="claimed"), detach=True)
    names = ctx.containers.names_dir
    (names / "ghost").write_text("f" * 64)
    (names / "claimed").unlink()
    kinds = _kinds(rt.system_check())
    assert {"stale-name", "unclaimed-name"} <= kinds
    assert rt.system_check(repair=True).clean
    assert rt.system_check().problems == []
    assert not (names / "ghost").exists() and (names / "claimed").read_text() == cid
    assert ctx.containers.lookup("claimed") == cid


# -- random kill points, through the CLI ----------------------------------------------------
def test_kill_9_of_cli_run_at_random_moments(rt: Engine) -> None:
    rng = random.Random(4321)
    root = rt.paths.root
    berth = [sys.executable, "-m", "berth.cli.main", "--root", str(root)]
    seen: set[str] = set()
    for _ in range(5):
        proc = subprocess.Popen([*berth, "run", "-d", "--name", "rnd", "busybox", "sleep", "5"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 0.6))
        proc.kill()
        proc.wait()
        ids = {row["Id"] for row in co.ps(rt, all=True)}
        seen |= ids
        for cid in ids:
            _settle(cid)
        check = subprocess.run([*berth, "system", "check", "--repair"], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        again = subprocess.run([*berth, "system", "check"], capture_output=True, text=True)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "found:" not in again.stdout, again.stdout
        for row in co.ps(rt, all=True):
            if row["State"] != "running":
                _no_leftovers(rt, row["Id"])
        rm = subprocess.run([*berth, "rm", "-f", "rnd"], capture_output=True, text=True)
        assert rm.returncode == 0 or "No such container" in rm.stderr, rm.stderr
        assert co.ps(rt, all=True) == []
        assert mounts_under(root) == []
        assert not any((rt.paths.run_dir / "runc").glob("*"))
    for cid in seen:
        _no_leftovers(rt, cid)
    ok = subprocess.run([*berth, "run", "-d", "--name", "rnd", "busybox", "sleep", "5"], capture_output=True,
                        text=True)
    assert ok.returncode == 0, ok.stderr
    assert rt.system_check().problems == []


def test_ten_parallel_cli_runs_with_distinct_names(rt: Engine) -> None:
    berth = [sys.executable, "-m", "berth.cli.main", "--root", str(rt.paths.root)]
    procs = [subprocess.Popen([*berth, "run", "-d", "--name", f"par{i}", "busybox", "sleep", "60"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(10)]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        ids.append(out.strip())
    assert len(set(ids)) == 10
    rows = {r["Names"][0].lstrip("/"): r for r in co.ps(rt)}
    assert sorted(rows) == sorted(f"par{i}" for i in range(10))
    assert all(r["State"] == "running" for r in rows.values())
    assert rt.system_check().problems == []
