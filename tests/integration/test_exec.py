"""The exec module under real ``ansible-playbook`` runs, in busybox containers run by the engine."""

from __future__ import annotations

import time
from pathlib import Path

from playkit import Host, make_container


def _ls(h: Host, cid: str, path: str) -> int:
    return h.engine.exec_container(cid, ["ls", path])[0]


def test_exec(host: Host, busybox_tar: Path):
    cid = make_container(host, busybox_tar, "web", start=True)
    run = host.play("exec/run.yml", ctr="web")
    assert run.rc == 0, run.output

    # a non-zero status fails the task (Ansible's rule for an rc, as for docker_container_exec), with the output
    assert run.failed("exit status and both streams") == "non-zero return code"
    streams = run["exit status and both streams"]
    assert streams["changed"] is True
    assert (streams["rc"], streams["stdout"], streams["stderr"]) == (3, "out", "two words")
    assert run.status["exit status decided by failed_when"] == "ok"
    assert run["exit status decided by failed_when"]["rc"] == 1
    assert streams["actions"] == ["run sh -c 'echo out; echo \"two words\" >&2; exit 3' in container web"]
    assert run["env, chdir and user"]["stdout_lines"] == ["hello there", "/tmp", "65534"]
    assert run["stdin"]["stdout"] == "first line"
    assert run["stdin as it is, output as it is"]["stdout"] == "no newline"
    assert run["on a terminal"]["rc"] == 0 and run["on a terminal"]["stdout"] == "tty"
    run.failed("command not found")
    missing = run["command not found"]
    assert missing["rc"] == 127 and "no-such-command" in missing["stderr"] and missing["changed"] is True

    skipped = run["in check mode"]
    assert run.status["in check mode"] == "skipped" and skipped["changed"] is False
    assert "check mode" in skipped["msg"]
    assert run["after check mode"]["rc"] == 1  # the command did not run

    detached = run["detached"]
    assert detached["changed"] is True and "rc" not in detached and "stdout" not in detached
    deadline = time.monotonic() + 5
    while _ls(host, cid, "/tmp/detached") != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert host.engine.exec_container(cid, ["cat", "/tmp/detached"])[1] == b"detached\n"


def test_exec_bad_input_names_the_field_and_runs_nothing(host: Host, busybox_tar: Path):
    cid = make_container(host, busybox_tar, "web", start=True)
    make_container(host, busybox_tar, "stopped")
    run = host.play("exec/bad.yml", ctr="web", stopped="stopped")
    assert run.rc == 0, run.output
    assert run.failed("missing container") == "container: no such container: no-such-container"
    assert run.failed("stopped container") == "container: container stopped is not running"
    assert "mutually exclusive: argv|command" in run.failed("argv and command")
    assert "one of the following is required: argv, command" in run.failed("no command")
    assert run.failed("unbalanced quotes") == ("option command: cannot split it into arguments: "
                                               "No closing quotation (got \"touch '/tmp/ran\")")
    assert run.failed("relative chdir").startswith("option chdir: must be an absolute path in the container")
    assert run.failed("unknown user").startswith(
        "run touch /tmp/ran in container web: user: unable to find user no-such-user")
    assert run.failed("stdin with detach").startswith("stdin cannot be given with detach: true")
    assert _ls(host, cid, "/tmp/ran") == 1
