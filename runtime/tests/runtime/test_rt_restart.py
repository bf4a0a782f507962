"""Restart policies and boot restore with real runc + conmon (Docker's semantics, moby's restart manager)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from rtkit import mounts_under, output, simulate_reboot, until

from berth.containers import ContainerSpec
from berth.containers.spec import RestartPolicy
from berth.engine import container_ops as co
from berth.runtime import restart
from berth.runtime.errors import ContainerRunning
from berth.runtime.liveness import is_alive
from berth.runtime.restore import restore_engine


def _start(rt, policy: str, *cmd: str, retries: int = 0, name: str | None = None) -> str:
    cid = co.create(rt, ContainerSpec(image="busybox", name=name, command=cmd,
                                      restart=RestartPolicy(name=policy, max_retries=retries)))  # type: ignore[arg-type]
    co.start(rt, cid)
    return cid


def _state(rt, cid: str) -> dict:
    info = co.inspect(rt, cid)
    return {**info["State"], "RestartCount": info["RestartCount"]}


def _restarter_alive(rt, cid: str) -> bool:
    return restart.restarter_alive(co.runtime_context(rt), cid)


# -- pure decisions ------------------------------------------------------------------
def test_backoff_doubles_from_100ms_caps_at_a_minute_and_resets_after_10s() -> None:
    delays, d = [], 0.0
    for _ in range(12):
        d = restart.next_delay(d, ran_for=0.5)
        delays.append(d)
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8] and delays[-1] == 60.0 and max(delays) == 60.0
    assert restart.next_delay(60.0, ran_for=10.0) == 0.1


@pytest.mark.parametrize(("policy", "retries", "code", "manual", "count", "expected"), [
    ("no", 0, 1, False, 0, False),
    ("always", 0, 0, False, 5, True),
    ("always", 0, 0, True, 0, True),  # at boot: always ignores a manual stop (moby)
    ("unless-stopped", 0, 0, False, 0, True),
    ("unless-stopped", 0, 0, True, 0, False),
    ("on-failure", 0, 0, False, 0, False),
    ("on-failure", 0, 1, False, 99, True),
    ("on-failure", 2, 1, False, 1, True),
    ("on-failure", 2, 1, False, 2, False),
])
def test_should_restart_follows_moby(policy, retries, code, manual, count, expected) -> None:
    assert restart.should_restart(policy, retries, code, manual, count) is expected


# -- on exit -------------------------------------------------------------------------
def test_on_failure_2_restarts_exactly_twice_then_stays_exited(rt) -> None:
    cid = _start(rt, "on-failure", "sh", "-c", "echo try; exit 1", retries=2)
    until(lambda: (s := _state(rt, cid))["Status"] == "exited" and s["RestartCount"] == 2, what="2 restarts")
    time.sleep(1.0)  # a third restart would come after 0.4 s
    st = _state(rt, cid)
    assert (st["Status"], st["ExitCode"], st["RestartCount"], st["Restarting"]) == ("exited", 1, 2, False)
    assert output(rt, cid) == "try\n" * 3  # the log keeps every run's output
    assert mounts_under(rt.paths.root) == []


def test_on_failure_does_not_restart_after_exit_0(rt) -> None:
    cid = _start(rt, "on-failure", "sh", "-c", "exit 0")
    assert co.wait(rt, cid, timeout=30) == 0
    time.sleep(0.6)
    st = _state(rt, cid)
    assert (st["Status"], st["RestartCount"]) == ("exited", 0)
    assert not _restarter_alive(rt, cid)


@pytest.mark.parametrize("policy", ["always", "unless-stopped"])
def test_restarts_until_stopped_then_stays_stopped(rt, policy: str) -> None:
    cid = _start(rt, policy, "sh", "-c", "echo up; sleep 0.2")
    until(lambda: _state(rt, cid)["RestartCount"] >= 2, timeout=10, what="2 restarts")
    assert output(rt, cid).count("up\n") >= 2
    co.stop(rt, cid, timeout=1)
    st = _state(rt, cid)
    assert st["Status"] == "exited" and st["Running"] is False
    count = st["RestartCount"]
    time.sleep(2.0)  # longer than the back-off so far
    st = _state(rt, cid)
    assert (st["Status"], st["RestartCount"]) == ("exited", count)
    assert not _restarter_alive(rt, cid)
    # a manual start resets the count (docker start: ResetRestartManager(true))
    co.start(rt, cid)
    assert _state(rt, cid)["RestartCount"] == 0
    co.stop(rt, cid, timeout=0)


def _slow_backoff(rt, cid: str, seconds: float) -> None:
    """Pretend earlier restarts grew the back-off: the next delay is 2 x ``seconds``."""
    path = rt.paths.run_dir / "restart" / f"{cid}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"delay": seconds}))


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_stop_or_kill_cancels_a_pending_restart(rt, how: str) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sh", "-c", "exec sleep 1000"),
                                      restart=RestartPolicy(name="always")))
    co.start(rt, cid)
    _slow_backoff(rt, cid, 15.0)
    pid = _state(rt, cid)["Pid"]
    assert pid > 0
    os.kill(pid, signal.SIGKILL)  # dies on its own: not a manual stop, so the policy applies
    st = until(lambda: (s := _state(rt, cid))["Status"] == "restarting" and s, what="restarting")
    assert st["Running"] is True and st["Restarting"] is True and st["Pid"] == 0 and st["RestartCount"] == 1
    assert _restarter_alive(rt, cid)
    assert [r["State"] for r in co.ps(rt, all=True)] == ["restarting"]
    with pytest.raises(ContainerRunning, match="restarting container"):
        co.rm(rt, cid)
    t0 = time.monotonic()
    co.stop(rt, cid) if how == "stop" else co.kill(rt, cid)
    assert time.monotonic() - t0 < 5
    st = _state(rt, cid)
    assert (st["Status"], st["Running"], st["Restarting"]) == ("exited", False, False)
    assert not _restarter_alive(rt, cid)  # the sleeping restarter is gone, not just ignored


def test_rm_force_during_a_pending_restart(rt) -> None:
    cid = _start(rt, "always", "sh", "-c", "exit 3")
    _slow_backoff(rt, cid, 15.0)
    until(lambda: _state(rt, cid)["Status"] == "restarting" and _restarter_alive(rt, cid), what="restarting")
    data = json.loads((rt.paths.run_dir / "restart" / f"{cid}.json").read_text())
    co.rm(rt, cid, force=True)
    assert not is_alive(data["pid"], data["started"])
    assert not (rt.paths.run_dir / "restart" / f"{cid}.json").exists()


def test_rm_flag_never_restarts(rt) -> None:
    cid = co.create(rt, ContainerSpec(image="busybox", command=("sh", "-c", "exit 1"), auto_remove=True))
    co.start(rt, cid)
    assert co.wait(rt, cid, condition="removed", timeout=30) == 1
    assert co.ps(rt, all=True) == []


# -- boot restore ------------------------------------------------------------------------
def test_simulated_reboot_then_restore(rt) -> None:
    loop = ("sh", "-c", "echo boot; exec sleep 1000")
    always = _start(rt, "always", *loop, name="always")
    unless = _start(rt, "unless-stopped", *loop, name="unless")
    unless_stopped = _start(rt, "unless-stopped", *loop, name="unless_stopped")
    always_stopped = _start(rt, "always", *loop, name="always_stopped")
    on_failure = _start(rt, "on-failure", *loop, retries=3, name="on_failure")
    never = _start(rt, "no", *loop, name="never")
    co.stop(rt, unless_stopped, timeout=0)
    co.stop(rt, always_stopped, timeout=0)
    simulate_reboot(rt, [always, unless, on_failure, never])

    acts = restore_engine(rt)
    by = {}
    for a in acts:
        by.setdefault(a.name, []).append(a.action)
    assert by == {"always": ["exited", "started"], "unless": ["exited", "started"],
                  "on_failure": ["exited", "started"],  # moby: exit status unknown -> 255 -> a failure
                  "always_stopped": ["started"],  # moby: always restarts at daemon start even if stopped
                  "never": ["exited"]}
    running = {r["Names"][0].lstrip("/") for r in co.ps(rt)}
    assert running == {"always", "unless", "on_failure", "always_stopped"}
    assert _state(rt, never)["ExitCode"] == 255 and _state(rt, unless_stopped)["Status"] == "exited"
    assert output(rt, always) == "boot\nboot\n"  # the log keeps the output from before the reboot
    assert all(_state(rt, c)["RestartCount"] == 0 for c in (always, unless))
    pids = {c: _state(rt, c)["Pid"] for c in (always, unless, on_failure, always_stopped)}

    assert restore_engine(rt) == []  # idempotent: the running ones are skipped, nothing starts twice
    assert {c: _state(rt, c)["Pid"] for c in pids} == pids
    for cid in (always, unless, on_failure, always_stopped):
        co.stop(rt, cid, timeout=0)


def test_restore_cli_prints_a_line_per_container(rt) -> None:
    cid = _start(rt, "always", "sh", "-c", "exec sleep 1000", name="svc")
    simulate_reboot(rt, [cid])
    proc = subprocess.run([sys.executable, "-m", "berth.cli.main", "--root", str(rt.paths.root), "system", "restore"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("exited: svc ") and lines[1].startswith("started: svc ")
    assert _state(rt, cid)["Status"] == "running"
    again = subprocess.run([sys.executable, "-m", "berth.cli.main", "--root", str(rt.paths.root), "system",
                            "restore"], capture_output=True, text=True, timeout=60)
    assert (again.returncode, again.stdout) == (0, "")
    co.stop(rt, cid, timeout=0)
