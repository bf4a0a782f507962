"""The exit hook's first step: wait for the waiters, then read the record before importing the engine."""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from pathlib import Path

import pytest

from berth.runtime import exit_hook, lifecycle


def _record(root: Path, cid: str, status: str, *, auto_remove: bool = False) -> Path:
    d = root / "containers" / cid
    d.mkdir(parents=True)
    (d / "state.json").write_text(json.dumps({"Status": status}))
    (d / "config.json").write_text(json.dumps({"HostConfig": {"AutoRemove": auto_remove}}))
    return d


def test_the_hook_knows_the_same_active_states_as_the_lifecycle() -> None:
    assert exit_hook._ACTIVE == lifecycle.ACTIVE


@pytest.mark.parametrize(("status", "auto_remove", "done"), [
    ("exited", False, True),  # finalized by the waiter
    ("exited", True, False),  # finalized but not yet removed (the waiter died before): the hook removes it
    ("running", False, False),  # nobody finalized it
    ("restarting", False, False),
    ("removing", False, True),
])
def test_what_is_left_for_the_hook(tmp_path: Path, status: str, auto_remove: bool, done: bool) -> None:
    _record(tmp_path, "c1", status, auto_remove=auto_remove)
    assert exit_hook._done_by_waiter(str(tmp_path), "c1", str(tmp_path / "no-such-lock")) is done


def test_a_removed_record_leaves_nothing_and_a_broken_one_goes_to_on_exit(tmp_path: Path) -> None:
    assert exit_hook._done_by_waiter(str(tmp_path), "gone", str(tmp_path / "lock")) is True
    d = _record(tmp_path, "c2", "exited")
    (d / "state.json").write_text("{not json")
    assert exit_hook._done_by_waiter(str(tmp_path), "c2", str(tmp_path / "lock")) is False
    (d / "state.json").unlink()
    assert exit_hook._done_by_waiter(str(tmp_path), "c2", str(tmp_path / "lock")) is False


def test_the_hook_waits_until_every_waiter_has_let_go(tmp_path: Path) -> None:
    _record(tmp_path, "c3", "running")
    lock = tmp_path / "waiter.lock"
    fd = os.open(lock, os.O_RDONLY | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_SH)

    def waiter_finishes() -> None:
        time.sleep(0.3)
        (tmp_path / "containers" / "c3" / "state.json").write_text(json.dumps({"Status": "exited"}))
        os.close(fd)

    t = threading.Thread(target=waiter_finishes)
    started = time.monotonic()
    t.start()
    try:
        assert exit_hook._done_by_waiter(str(tmp_path), "c3", str(lock)) is True  # read after the waiter's write
    finally:
        t.join()
    assert time.monotonic() - started >= 0.25


def test_main_without_a_waiter_lock_argument_goes_straight_to_on_exit(tmp_path: Path, monkeypatch) -> None:
    """Containers started before the 4th argument existed keep their old exit command."""
    seen = []
    monkeypatch.setattr(exit_hook, "_done_by_waiter", lambda *a: seen.append(a) or True)
    monkeypatch.setattr(lifecycle, "on_exit", lambda ctx, cid: seen.append(("on_exit", cid)))
    assert exit_hook.main([str(tmp_path), "c4", "runc"]) == 0
    assert seen == [("on_exit", "c4")]
    assert exit_hook.main([str(tmp_path), "c4", "runc", str(tmp_path / "lock")]) == 0
    assert seen[-1] == (str(tmp_path), "c4", str(tmp_path / "lock"))


def _gated(ctx, cid: str, marker: Path) -> list[str]:
    """conmon's exit command for ``cid``, with the hook replaced by a command that leaves ``marker``."""
    cmd = list(lifecycle.exit_command(ctx, cid))
    i = cmd.index("berth.runtime.exit_hook")
    assert cmd[0] == "/bin/sh" and cmd[i - 1] == "-m"  # the gate, then the hook (python -m ...)
    return [*cmd[:i - 2], "touch", str(marker)]


def test_the_gate_starts_no_hook_once_a_waiter_removed_the_record(tmp_path: Path) -> None:
    """The shell gate in front of the hook (flock(1), then is the record still there?): a `run --rm`
    waiter that removed the record spares the hook's interpreter; otherwise the hook runs."""
    import subprocess

    from berth.paths import Paths
    from berth.runtime.context import RuntimeContext

    ctx = RuntimeContext(Paths.for_root(tmp_path))
    record = _record(tmp_path, "c5", "running", auto_remove=True)
    ctx.bundle("c5").mkdir(parents=True)
    fd = os.open(ctx.waiter_lock("c5"), os.O_RDONLY | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_SH)  # a waiter
    marker = tmp_path / "hook-ran"
    gate = subprocess.Popen(_gated(ctx, "c5", marker))
    time.sleep(0.3)
    assert gate.poll() is None  # waiting for the waiter
    for f in record.iterdir():  # the waiter finalizes and removes the record, then lets go
        f.unlink()
    record.rmdir()
    os.close(fd)
    assert gate.wait(timeout=10) == 0 and not marker.exists()

    _record(tmp_path, "c6", "running")  # no waiter (a detached container): the hook runs at once
    ctx.bundle("c6").mkdir(parents=True)
    ctx.waiter_lock("c6").touch()  # as the start makes it
    assert subprocess.run(_gated(ctx, "c6", marker), timeout=10).returncode == 0 and marker.exists()


def test_the_gate_waits_for_a_removal_and_starts_the_hook_only_if_it_was_cut_short(tmp_path: Path) -> None:
    """A `run --rm` waiter deletes the bundle (and the waiter lock in it), then the record, under the
    op lock: the gate waits for that lock too, so the hook starts neither in between (it did at
    nearly every `run --rm`) nor never when the waiter was killed mid-removal (the record is still
    there: the hook finishes the removal). Neither lock is made by the gate or a waiter: a waiter
    lock made again inside a bundle being deleted made that removal fail ("Directory not empty")."""
    import subprocess

    from berth.paths import Paths
    from berth.runtime.context import RuntimeContext

    ctx = RuntimeContext(Paths.for_root(tmp_path))
    marker = tmp_path / "hook-ran"
    for cid, killed in (("c7", False), ("c8", True)):
        record = _record(tmp_path, cid, "exited", auto_remove=True)
        ctx.bundle(cid).mkdir(parents=True)  # its waiter lock already deleted
        ctx.op_lock(cid).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(ctx.op_lock(cid), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # the remover
        gate = subprocess.Popen(_gated(ctx, cid, marker))
        time.sleep(0.3)
        assert gate.poll() is None  # waiting for the removal
        if not killed:
            for f in record.iterdir():
                f.unlink()
            record.rmdir()
        os.close(fd)  # done, or killed
        assert gate.wait(timeout=10) == 0
        assert marker.exists() == killed
        assert not ctx.waiter_lock(cid).exists()
        with lifecycle._as_waiter(ctx, cid):
            pass
        assert not ctx.waiter_lock(cid).exists()
        os.unlink(ctx.op_lock(cid))
        assert subprocess.run(_gated(ctx, cid, tmp_path / "again"), timeout=10).returncode == 0
        assert not ctx.op_lock(cid).exists()
