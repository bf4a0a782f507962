"""Lifecycle with real runc + conmon: run, exit codes, logs, stop, rm, errors."""

from __future__ import annotations

import os
import time

import pytest
from rtkit import mounts_under, output, run

from berth.containers import ContainerSpec
from berth.engine import container_ops as co
from berth.errors import ImageNotFound, InvalidArgument
from berth.runtime.errors import ContainerNotFound, ContainerRunning


def test_echo_hello_exit_0_and_logs(rt) -> None:
    cid, code = run(rt, "echo", "hello")
    assert code == 0
    assert output(rt, cid) == "hello\n"
    info = co.inspect(rt, cid)
    assert info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 0
    assert info["State"]["Running"] is False and info["State"]["Pid"] == 0
    assert info["Config"]["Cmd"] == ["echo", "hello"] and info["Path"] == "echo"
    assert info["Image"].startswith("sha256:") and info["Name"].startswith("/")
    assert mounts_under(rt.paths.root) == []  # the exit hook unmounted the rootfs


def test_exit_code_propagates_and_streams_are_kept_apart(rt) -> None:
    cid, code = run(rt, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert code == 3
    lines = list(co.logs(rt, cid))
    assert [(r.stream, r.line) for r in lines] == [("stdout", "out\n"), ("stderr", "err\n")]
    assert co.inspect(rt, cid)["State"]["ExitCode"] == 3


def test_seed_003_detached_loop_logs_then_stop_kills_after_timeout(rt) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", name="hello_loop",
                                      command=("sh", "-c", "while true; do echo hello; sleep 1; done")))
    co.start(rt, cid)
    info = co.inspect(rt, "hello_loop")
    assert info["State"]["Status"] == "running" and info["State"]["Pid"] > 0
    assert [r["Names"] for r in co.ps(rt)] == [["/hello_loop"]]
    time.sleep(2.5)
    assert output(rt, cid).count("hello\n") >= 2
    assert [r.line for r in co.logs(rt, cid, tail=1)] == ["hello\n"]
    assert all(r.line.startswith(r.time) for r in co.logs(rt, cid, timestamps=True))
    with pytest.raises(ContainerRunning, match="You cannot remove a running container"):
        co.rm(rt, cid)
    t0 = time.monotonic()
    co.stop(rt, cid, timeout=1)  # busybox sh as PID 1 ignores SIGTERM: SIGKILL after 1 s
    assert 0.9 < time.monotonic() - t0 < 8
    state = co.inspect(rt, cid)["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 137
    assert co.ps(rt) == [] and len(co.ps(rt, all=True)) == 1
    co.rm(rt, cid)
    with pytest.raises(ContainerNotFound):
        co.inspect(rt, cid)
    assert list((rt.paths.run_dir / "runc").iterdir()) == []


def test_follow_ends_when_the_container_exits(rt) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sh", "-c", "for i in 1 2 3; do echo $i; "
                                                                           "sleep 0.2; done")))
    co.start(rt, cid)
    assert [r.line for r in co.logs(rt, cid, follow=True)] == ["1\n", "2\n", "3\n"]


def test_rm_force_kills_a_running_container(rt) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "60")))
    co.start(rt, cid)
    co.rm(rt, cid, force=True)
    assert co.ps(rt, all=True) == []
    assert mounts_under(rt.paths.root) == []


def test_auto_remove_and_wait_returns_the_code(rt) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sh", "-c", "exit 5"), auto_remove=True))
    co.start(rt, cid)
    assert co.wait(rt, cid, condition="removed", timeout=30) == 5
    assert co.ps(rt, all=True) == []


def test_a_waiter_finalizes_at_once_without_waiting_for_the_exit_hook(rt, monkeypatch) -> None:
    """conmon's exit hook is a fresh interpreter; a process already waiting does its work as soon as
    the exit code is written. With a hook that does nothing, wait still returns at once (well
    within HOOK_GRACE), the record is finalized, and an --rm container is gone."""
    from berth.runtime import lifecycle

    monkeypatch.setattr(lifecycle, "exit_command", lambda ctx, cid: ("/bin/true",))
    for auto_remove, condition in ((True, "removed"), (False, "not-running")):
        cid = co.create(rt, ContainerSpec(image="busybox", command=("sh", "-c", "exit 3"), auto_remove=auto_remove))
        co.start(rt, cid)
        t0 = time.monotonic()
        assert co.wait(rt, cid, condition=condition, timeout=30) == 3
        assert time.monotonic() - t0 < lifecycle.HOOK_GRACE / 2
        if auto_remove:
            assert co.ps(rt, all=True) == []
        else:
            state = co.inspect(rt, cid)["State"]
            assert (state["Status"], state["ExitCode"], state["Pid"]) == ("exited", 3, 0)
            co.rm(rt, cid)
    assert mounts_under(rt.paths.root) == []


def test_kill_with_a_signal(rt) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "60")))
    co.start(rt, cid)
    co.kill(rt, cid, "KILL")
    assert co.wait(rt, cid, timeout=30) == 137


def test_unknown_image_is_a_clear_error_and_nothing_is_created(rt) -> None:
    with pytest.raises(ImageNotFound, match="No such image: nothere"):
        co.create(rt, ContainerSpec(image="nothere", name="x"))
    assert co.ps(rt, all=True) == []
    assert not (rt.paths.root / "container-names" / "x").exists()
    tmp = rt.paths.tmp
    assert not tmp.exists() or list(tmp.iterdir()) == []


def test_a_missing_command_fails_start_with_127_and_leaves_no_mount(rt) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("/nonexistent",)))
    with pytest.raises(Exception, match="nonexistent"):
        co.start(rt, cid)
    state = co.inspect(rt, cid)["State"]
    assert state["ExitCode"] == 127 and "nonexistent" in state["Error"]
    assert mounts_under(rt.paths.root) == []


def test_record_config_follows_dockers_merge(rt) -> None:
    """The record's Config is berth.containers.merge's: user env in order, attached streams as docker create."""
    cid = co.create(rt, ContainerSpec(image="busybox", command=("true",), env=(("B", "1"), ("A", "2")),
                                      stop_signal="SIGRTMIN+3"))
    cfg = co.inspect(rt, cid)["Config"]
    assert cfg["Env"] == ["B=1", "A=2"]  # the imported busybox image has no Env of its own
    assert (cfg["AttachStdin"], cfg["AttachStdout"], cfg["AttachStderr"]) == (False, True, True)
    assert cfg["StopSignal"] == "SIGRTMIN+3" and "StopTimeout" not in cfg
    detached = co.inspect(rt, co.create(rt, ContainerSpec(image="busybox", command=("true",)), detach=True))
    assert (detached["Config"]["AttachStdout"], detached["Config"]["AttachStderr"]) == (False, False)


def test_empty_entrypoint_without_command_is_refused_at_create(rt) -> None:
    # moby: --entrypoint "" drops the image's Cmd too, so there is nothing to run
    with pytest.raises(InvalidArgument, match="no command specified"):
        co.create(rt, ContainerSpec(image="busybox", entrypoint=(), name="noop"))
    assert co.ps(rt, all=True) == []


def test_unknown_capability_is_refused_even_with_privileged(rt) -> None:
    # moby validateCapabilities runs before --privileged makes the lists moot
    with pytest.raises(InvalidArgument, match='invalid --cap-drop value "FLY": unknown capability'):
        co.create(rt, ContainerSpec(image="busybox", command=("true",), privileged=True, cap_drop=("FLY",)))
    assert co.ps(rt, all=True) == []


def test_no_run_dir_litter_after_exit_and_rm(rt, monkeypatch) -> None:
    """conmon's <run>/socket/<id> link goes with the container's runtime state; the exit file a --rm
    container keeps for ``wait`` is swept once it is older than EXIT_FILE_TTL."""
    from berth.runtime import lifecycle

    ctx = co.runtime_context(rt)
    cid, code = run(rt, "true")
    assert code == 0 and not (ctx.socket_dir / cid).exists()  # finalized: link gone
    running = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "60")))
    co.start(rt, running)
    assert (ctx.socket_dir / running).is_symlink()  # attach needs it while it runs
    co.rm(rt, running, force=True)
    assert not (ctx.socket_dir / running).exists()

    gone = co.create(rt, ContainerSpec(image="busybox", command=("sh", "-c", "exit 4"), auto_remove=True))
    co.start(rt, gone)
    assert co.wait(rt, gone, condition="removed", timeout=30) == 4
    assert ctx.exit_file(gone).exists()  # kept: a later `wait ID` still answers
    co.rm(rt, cid)  # a removal sweeps, but the file is young
    assert co.wait(rt, gone) == 4
    monkeypatch.setattr(lifecycle, "EXIT_FILE_TTL", -1.0)
    co.rm(rt, co.create(rt, ContainerSpec(image="busybox", command=("true",))))
    assert ctx.exit_file(gone).exists()  # the last sweep was less than EXIT_SWEEP_INTERVAL ago
    monkeypatch.setattr(lifecycle, "EXIT_SWEEP_INTERVAL", -1.0)
    co.rm(rt, co.create(rt, ContainerSpec(image="busybox", command=("true",))))
    assert not ctx.exit_file(gone).exists()
    assert sorted(p.name for p in ctx.socket_dir.iterdir()) == []


def test_stop_and_restart_of_an_rm_container(rt) -> None:
    """``stop`` of an --rm container races its removal by the exit hook: never "No such container";
    ``restart`` keeps it (stop, then start), as Docker does, and leaves no error behind."""
    for _ in range(3):
        cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "60"), auto_remove=True))
        co.start(rt, cid)
        co.stop(rt, cid, timeout=0)
        co.wait(rt, cid, condition="removed", timeout=30)
        assert co.ps(rt, all=True) == []
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "60"), auto_remove=True))
    co.start(rt, cid)
    for _ in range(3):
        pid = co.inspect(rt, cid)["State"]["Pid"]
        co.restart(rt, cid, timeout=0)
        time.sleep(0.3)  # the old process's exit hook has run by now
        state = co.inspect(rt, cid)["State"]
        assert state["Running"] is True and state["Pid"] != pid and state["Error"] == ""
    co.stop(rt, cid, timeout=0)
    co.wait(rt, cid, condition="removed", timeout=30)
    assert co.ps(rt, all=True) == []


def test_a_container_whose_removal_was_cut_short_is_not_started(rt) -> None:
    from berth.errors import Conflict

    cid = co.create(rt, ContainerSpec(image="busybox", command=("true",)))
    with co.runtime_context(rt).containers.editing_state(cid) as st:
        st.Status = "removing"  # what a crash between marking and renaming the record leaves
    with pytest.raises(Conflict, match="is marked for removal and cannot be started"):
        co.start(rt, cid)
    assert mounts_under(rt.paths.root) == []
    co.rm(rt, cid)
    assert co.ps(rt, all=True) == []


def test_start_lets_init_go_through_runcs_exec_fifo_and_runc_agrees(rt) -> None:
    """berth opens runc's exec fifo itself (no `runc start`): runc then sees the container running."""
    import json
    import subprocess

    ctx = co.runtime_context(rt)
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "30")))
    co.start(rt, cid)
    assert not (ctx.driver.state_root / cid / "exec.fifo").exists()
    state = json.loads(subprocess.run([ctx.driver.path, *ctx.driver.global_args(), "state", cid],
                                      capture_output=True, text=True, check=True).stdout)
    assert state["status"] == "running" and state["pid"] == co.inspect(rt, cid)["State"]["Pid"]
    co.rm(rt, cid, force=True)


def test_an_init_that_dies_between_create_and_start_is_a_clear_error(rt) -> None:
    """The fifo is read without blocking on a dead init (runc start would say the same words)."""
    import os
    import signal

    from berth.runtime.errors import OCIRuntimeFailure

    ctx = co.runtime_context(rt)
    cid = co.create(rt, ContainerSpec(image="busybox", command=("true",)))

    def kill_init(c: str) -> None:
        os.kill(int((ctx.bundle(c) / "pidfile").read_text()), signal.SIGKILL)

    started = time.monotonic()
    with pytest.raises(OCIRuntimeFailure, match="container process is already dead"):
        co.start(rt, cid, on_created=kill_init)
    assert time.monotonic() - started < 5
    assert co.inspect(rt, cid)["State"]["Running"] is False
    co.rm(rt, cid, force=True)
    assert mounts_under(rt.paths.root) == []


def test_the_filter_lists_x32_only_where_the_kernel_serves_it(rt) -> None:
    """x32 costs runc ~10 ms of compiling; it is probed once per boot (the answer in the run dir)."""
    import json

    from berth.runtime.seccomp import kernel_serves_x32

    ctx = co.runtime_context(rt)
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "30")))
    co.start(rt, cid)
    seccomp = json.loads((ctx.bundle(cid) / "config.json").read_text())["linux"]["seccomp"]
    served = kernel_serves_x32()
    assert ("SCMP_ARCH_X32" in seccomp["architectures"]) is served
    assert "SCMP_ARCH_X86" in seccomp["architectures"]  # 32-bit x86 binaries run, as with Docker
    assert (rt.paths.run_dir / "kernel-x32").read_text() == ("1" if served else "0")
    co.rm(rt, cid, force=True)


def test_a_follow_ends_only_when_conmon_has_passed_on_the_last_output(rt) -> None:
    """The process exits with output still in conmon's pipe: a follow (and so a foreground `run`)
    that ended at the process's exit lost those lines (seen about once in 30 runs)."""
    import os
    import signal
    import threading

    from berth.runtime.liveness import is_alive

    cid = co.create(rt, ContainerSpec(image="busybox", command=("sh", "-c", "sleep 0.5; seq 1 100")))
    co.start(rt, cid)
    st = co.runtime_context(rt).containers.state(cid)
    os.kill(st.MonitorPid, signal.SIGSTOP)  # conmon holds the output back
    lines: list[str] = []
    follower = threading.Thread(target=lambda: lines.extend(r.line for r in co.logs(rt, cid, follow=True)))
    try:
        follower.start()
        deadline = time.monotonic() + 10
        while is_alive(st.Pid, st.PidStartTime) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the follower has seen the exit by now
        assert follower.is_alive() and lines == []
    finally:
        os.kill(st.MonitorPid, signal.SIGCONT)
    follower.join(10)
    assert not follower.is_alive() and "".join(lines) == "".join(f"{i}\n" for i in range(1, 101))
    co.rm(rt, cid, force=True)


def test_inspect_shows_running_until_conmon_has_the_exit_code(rt) -> None:
    """Between the process's exit and conmon's exit file, inspect said "exited" with code 0 (the
    record's): a wait on "exited" then read a wrong code. dockerd shows running until its exit event."""
    import os
    import signal

    from berth.runtime.liveness import is_alive

    cid = co.create(rt, ContainerSpec(image="busybox", command=("sh", "-c", "sleep 0.3; exit 3")))
    co.start(rt, cid)
    st = co.runtime_context(rt).containers.state(cid)
    os.kill(st.MonitorPid, signal.SIGSTOP)  # conmon cannot record the exit
    try:
        deadline = time.monotonic() + 10
        while is_alive(st.Pid, st.PidStartTime) and time.monotonic() < deadline:
            time.sleep(0.05)
        shown = co.inspect(rt, cid)["State"]
        assert shown["Status"] == "running" and shown["ExitCode"] == 0
    finally:
        os.kill(st.MonitorPid, signal.SIGCONT)
    assert co.wait(rt, cid, timeout=10) == 3
    assert co.inspect(rt, cid)["State"]["Status"] == "exited" and co.inspect(rt, cid)["State"]["ExitCode"] == 3
    co.rm(rt, cid)


def test_an_exited_container_is_forgotten_without_a_runc_delete(rt, monkeypatch) -> None:
    """libcontainer's destroy done in place for an exited init (its cgroups, its state dir); a live
    one still goes to `runc delete --force`."""
    import json
    import signal
    import subprocess

    from berth.runtime.liveness import start_time

    ctx = co.runtime_context(rt)
    driver = ctx.driver
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "30")))
    co.start(rt, cid)
    state = json.loads((driver.state_root / cid / "state.json").read_text())
    cgroups = [p for p in state["cgroup_paths"].values() if p]
    assert cgroups and all(os.path.isdir(p) for p in cgroups)
    spawned: list = []
    real_popen = subprocess.Popen

    def popen(args, **kw):
        spawned.append(args)
        return real_popen(args, **kw)

    monkeypatch.setattr(subprocess, "Popen", popen)
    driver.begin_delete(cid, force=True)()  # init alive: runc's own delete, which kills it
    assert [a[a.index("delete")] for a in spawned] == ["delete"]
    assert not driver.has_state(cid) and not any(os.path.exists(p) for p in cgroups)
    co.rm(rt, cid, force=True)

    cid = co.create(rt, ContainerSpec(image="busybox", command=("sleep", "0.3")))
    co.start(rt, cid)
    spawned.clear()  # conmon's
    monitor = ctx.containers.state(cid).MonitorPid
    os.kill(monitor, signal.SIGSTOP)  # no exit hook meanwhile: this process does the delete
    try:
        state = json.loads((driver.state_root / cid / "state.json").read_text())
        cgroups = [p for p in state["cgroup_paths"].values() if p]
        deadline = time.monotonic() + 10
        while start_time(state["init_process_pid"]) and time.monotonic() < deadline:
            time.sleep(0.02)  # until init has exited (a zombie: conmon is stopped)
        driver.begin_delete(cid)()
        assert spawned == [] and not driver.has_state(cid) and not any(os.path.exists(p) for p in cgroups)
    finally:
        os.kill(monitor, signal.SIGCONT)
    assert co.wait(rt, cid) == 0
    co.rm(rt, cid)
