"""`berth run/ps/logs/stop/rm/wait` as a user types them (real runc + conmon)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest


def berth(engine, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "berth.cli.main", "--root", str(engine.paths.root), *args],
                          capture_output=True, text=True, timeout=timeout)


def test_run_foreground_streams_output_and_propagates_exit_code(rt) -> None:
    proc = berth(rt, "run", "--name", "fg", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert proc.returncode == 3
    assert proc.stdout == "out\n" and proc.stderr == "err\n"
    rows = json.loads(berth(rt, "ps", "-a", "--format", "json").stdout)
    assert [r["Names"] for r in rows] == [["/fg"]] and rows[0]["State"] == "exited"


def test_run_rm_leaves_nothing(rt) -> None:
    proc = berth(rt, "run", "--rm", "busybox", "echo", "hello world")
    assert (proc.returncode, proc.stdout) == (0, "hello world\n"), proc.stderr
    assert berth(rt, "ps", "-aq").stdout == ""


def test_seed_003_detached_loop_logs_stop_rm(rt) -> None:
    """docker run -d ... while true; do echo hello; sleep 1; done; docker logs; docker stop; docker rm"""
    cid = berth(rt, "run", "-d", "--name", "loop", "busybox", "sh", "-c",
                "while true; do echo hello; sleep 1; done").stdout.strip()
    assert len(cid) == 64
    time.sleep(2.5)
    assert berth(rt, "logs", "loop").stdout.count("hello\n") >= 2
    assert berth(rt, "logs", "--tail", "1", "loop").stdout == "hello\n"
    table = berth(rt, "ps").stdout.splitlines()
    assert table[0].split()[:2] == ["CONTAINER", "ID"] and "Up " in table[1] and table[1].endswith("loop")
    refused = berth(rt, "rm", "loop")
    assert refused.returncode == 1 and "cannot remove a running container" in refused.stderr
    assert berth(rt, "stop", "-t", "1", "loop").stdout == "loop\n"
    assert berth(rt, "wait", "loop").stdout.strip() == "137"  # sh as PID 1 ignores SIGTERM: killed
    assert berth(rt, "rm", "loop").returncode == 0
    assert berth(rt, "ps", "-aq").stdout == ""


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--memory", "12q"], 'invalid --memory value "12q"'),
        (["--restart", "sometimes"], "--restart"),
        (["-v", "relative:x"], "must be absolute"),
        (["--cpus", "-1"], "--cpus"),
        (["-p", "99999:80"], "--publish"),
    ],
)
def test_bad_run_flags_are_one_line_errors_and_create_nothing(rt, args, needle) -> None:
    proc = berth(rt, "run", *args, "busybox", "true")
    assert proc.returncode == 125
    assert proc.stderr.count("\n") == 1 and needle in proc.stderr, proc.stderr
    assert berth(rt, "ps", "-aq").stdout == ""


def test_unknown_image_and_name_conflict(rt) -> None:
    missing = berth(rt, "create", "localhost:1/nothere:1")
    assert missing.returncode == 125 and "Error:" in missing.stderr  # docker run's code for its own errors
    assert berth(rt, "create", "--name", "dup", "busybox", "true").returncode == 0
    dup = berth(rt, "run", "--name", "dup", "busybox", "true")
    assert dup.returncode == 125 and 'is already in use' in dup.stderr
    nonet = berth(rt, "run", "--network", "nosuch", "busybox", "true")
    assert nonet.returncode == 125 and "network nosuch not found" in nonet.stderr
    assert len(berth(rt, "ps", "-aq").stdout.split()) == 1


def test_inspect_finds_containers_then_images(rt) -> None:
    berth(rt, "create", "--name", "insp", "busybox", "true")
    both = json.loads(berth(rt, "inspect", "insp", "busybox").stdout)
    assert both[0]["Name"] == "/insp" and both[0]["State"]["Status"] == "created"
    assert both[1]["Id"].startswith("sha256:") and both[1]["RepoTags"] == ["busybox:latest"]
    missing = berth(rt, "inspect", "--type", "image", "insp")
    assert missing.returncode == 1 and missing.stderr.strip() == "Error: No such object: insp"


def test_run_rm_drops_anonymous_volumes_but_keeps_named_ones(rt) -> None:
    proc = berth(rt, "run", "--rm", "-v", "/scratch", "-v", "keep:/data", "busybox", "sh", "-c",
                 "echo x > /scratch/f; echo y > /data/f")
    assert proc.returncode == 0, proc.stderr
    assert berth(rt, "volume", "ls", "-q").stdout.split() == ["keep"]
