"""Seccomp with real runc: Docker's default profile blocks what it should, the options lift or replace it.

The probe is ``unshare -U`` (a new user namespace): the kernel lets any process make one, no
capability needed, so only the seccomp filter can refuse it (EPERM, Docker's default errno).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rtkit import output, run

PROBE = "grep '^Seccomp:' /proc/self/status; if unshare -U true; then echo userns-ok; fi"


def _userns_allowed() -> bool:
    return subprocess.run(["unshare", "-U", "true"], capture_output=True).returncode == 0


@pytest.fixture(autouse=True)
def _need_user_namespaces() -> None:
    if not _userns_allowed():
        pytest.skip("this kernel refuses user namespaces to the engine itself, so unshare -U cannot tell "
                    "seccomp's refusal from the kernel's")


def berth(engine, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "berth.cli.main", "--root", str(engine.paths.root), *args],
                          capture_output=True, text=True, timeout=60)


def test_default_profile_blocks_unshare_with_eperm(rt) -> None:
    cid, code = run(rt, "sh", "-c", PROBE)
    out = output(rt, cid)
    assert "Seccomp:\t2" in out  # a filter is installed
    assert "unshare(0x10000000): Operation not permitted" in out and "userns-ok" not in out
    assert code == 0  # sh, grep and unshare's error path all ran under the filter


def test_unconfined_and_privileged_have_no_filter(rt) -> None:
    for kw in ({"security_opt": ("seccomp=unconfined",)}, {"privileged": True}):
        cid, _ = run(rt, "sh", "-c", PROBE, **kw)
        out = output(rt, cid)
        assert "Seccomp:\t0" in out and "userns-ok" in out, (kw, out)


def test_cap_sys_admin_opens_the_syscalls_it_covers(rt) -> None:
    cid, _ = run(rt, "sh", "-c", PROBE, cap_add=("SYS_ADMIN",))
    out = output(rt, cid)
    assert "Seccomp:\t2" in out and "userns-ok" in out


def test_custom_profile_from_a_file_via_the_cli(rt, tmp_path: Path) -> None:
    profile = tmp_path / "deny-mkdir.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}))
    proc = berth(rt, "run", "--name", "custom", "--security-opt", f"seccomp={profile}", "--security-opt",
                 "no-new-privileges", "busybox", "sh", "-c",
                 "mkdir /x || echo mkdir-refused; unshare -U true && echo userns-ok; grep NoNewPrivs /proc/self/status")
    assert proc.returncode == 0, proc.stderr
    assert "mkdir: can't create directory '/x': Operation not permitted" in proc.stderr
    assert proc.stdout.splitlines() == ["mkdir-refused", "userns-ok", "NoNewPrivs:\t1"]
    profile.unlink()  # the record keeps the profile itself: a restart does not need the file
    assert berth(rt, "start", "custom").returncode == 0
    assert berth(rt, "wait", "custom").stdout == "0\n"
    assert berth(rt, "logs", "custom").stdout.count("mkdir-refused") == 2
    (info,) = json.loads(berth(rt, "inspect", "custom").stdout)
    seccomp, nnp = info["HostConfig"]["SecurityOpt"]
    assert json.loads(seccomp.removeprefix("seccomp=")) == json.loads(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}))
    assert nnp == "no-new-privileges"


def test_inspect_shows_unconfined(rt) -> None:
    created = berth(rt, "create", "--name", "unconf", "--security-opt", "seccomp=unconfined", "busybox", "true")
    assert created.returncode == 0, created.stderr
    (info,) = json.loads(berth(rt, "inspect", "unconf").stdout)
    assert info["HostConfig"]["SecurityOpt"] == ["seccomp=unconfined"]
    (plain,) = json.loads(berth(rt, "inspect", berth(rt, "create", "busybox", "true").stdout.strip()).stdout)
    assert plain["HostConfig"]["SecurityOpt"] is None  # Docker's null: the default profile


@pytest.mark.parametrize(("content", "message"), [
    (None, "opening seccomp profile ({path}) failed: No such file or directory"),
    ('{"defaultAction": ', "seccomp profile ({path}) is not valid JSON"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOPE"}]}',
     'seccomp profile ({path}): syscalls[0]: action "SCMP_ACT_NOPE" is not a seccomp action'),
])
def test_bad_profile_is_a_clear_error_and_creates_nothing(rt, tmp_path: Path, content, message) -> None:
    path = tmp_path / "profile.json"
    if content is not None:
        path.write_text(content)
    proc = berth(rt, "run", "--name", "bad", "--security-opt", f"seccomp={path}", "busybox", "true")
    assert proc.returncode == 125
    assert f'invalid --security-opt value "seccomp={path}": ' + message.format(path=path) in proc.stderr
    assert berth(rt, "ps", "-aq").stdout == ""
    records = rt.paths.root / "containers"
    assert not records.exists() or not any(records.iterdir())
