"""The ``berth`` command as a user runs it: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from imagekit import make_image, random_layer

from berth.engine import Engine


def berth(root, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "berth.cli.main", "--root", str(root), *args],
                          capture_output=True, text=True, input=stdin, timeout=120)


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["pull", "Bad::ref"], 125, "invalid reference format"),
        (["pull", "127.0.0.1:1/app:1"], 1, "cannot connect to registry 127.0.0.1:1"),
        (["rmi", "nothere"], 1, "no such image: nothere"),
        (["image", "inspect", "nothere"], 1, "no such image"),
        (["push", "localhost:5000/never:1"], 1, "does not exist locally"),
        (["tag", "nothere", "x:1"], 1, "no such image"),
        (["pull", "--platform", "linux", "busybox"], 125, "invalid platform"),
    ],
)
def test_errors_are_one_line_with_nonzero_exit(root, args, code, needle) -> None:
    proc = berth(root, *args)
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_load_of_a_file_that_is_not_an_archive(root, tmp_path) -> None:
    bogus = tmp_path / "bogus.tar"
    bogus.write_text("hello")
    proc = berth(root, "load", "-i", str(bogus))
    assert proc.returncode != 0 and len(proc.stderr.strip().splitlines()) == 1
    assert "not a tar archive" in proc.stderr or "not a docker-archive" in proc.stderr


def test_push_pull_output_and_json(root, registry) -> None:
    eng = Engine(root=root)
    make_image(eng.store, f"{registry.host}/cli/app:1", [random_layer(5000)])
    push = berth(root, "push", f"{registry.host}/cli/app:1")
    assert push.returncode == 0, push.stderr
    assert push.stdout.splitlines()[0] == f"The push refers to repository [{registry.host}/cli/app]"
    digest = push.stdout.split("digest: ")[1].split()[0]
    assert berth(root, "rmi", f"{registry.host}/cli/app:1").returncode == 0
    pull = berth(root, "pull", f"{registry.host}/cli/app:1")
    assert pull.returncode == 0, pull.stderr
    assert f"Digest: {digest}" in pull.stdout
    assert f"Status: Downloaded newer image for {registry.host}/cli/app:1" in pull.stdout
    assert "\x1b[" not in pull.stdout + pull.stderr  # no live progress when not on a terminal
    rows = json.loads(berth(root, "images", "--format", "json").stdout)
    assert rows[0]["Repository"] == f"{registry.host}/cli/app" and rows[0]["Tag"] == "1"
    table = berth(root, "images").stdout.splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    inspect = json.loads(berth(root, "image", "inspect", f"{registry.host}/cli/app:1").stdout)
    assert inspect[0]["RepoDigests"] == [f"{registry.host}/cli/app@{digest}"]
    quiet = berth(root, "images", "-q").stdout.split()
    assert quiet == [rows[0]["ID"].removeprefix("sha256:")[:12]]


def test_login_never_prints_the_password(root, auth_registry) -> None:
    bad = berth(root, "login", "-u", auth_registry.username, "--password-stdin", auth_registry.host,
                stdin="wrong-Pa55word\n")
    assert bad.returncode != 0 and "wrong-Pa55word" not in bad.stdout + bad.stderr
    good = berth(root, "login", "-u", auth_registry.username, "--password-stdin", auth_registry.host,
                 stdin=auth_registry.password + "\n")
    assert good.returncode == 0 and good.stdout.strip() == "Login Succeeded"
    assert auth_registry.password not in good.stdout + good.stderr
    out = berth(root, "logout", auth_registry.host)
    assert out.stdout.strip() == f"Removing login credentials for {auth_registry.host}"


def test_system_check_exit_code_reflects_problems(root) -> None:
    eng = Engine(root=root)
    rec = make_image(eng.store, "x:1", [random_layer(10)])
    assert berth(root, "system", "check").returncode == 0
    eng.store.layers.delete(rec.layers[0].diff_id)
    found = berth(root, "system", "check")
    assert found.returncode == 1 and "broken-image" in found.stdout
    assert berth(root, "system", "check", "--repair").returncode == 0
    assert berth(root, "system", "check").returncode == 0


def test_startup_imports_stay_lazy() -> None:
    """`berth --help` must not pay for requests, netlink, tarfile or pydantic."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "berth.cli.main", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    modules = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "berth.cli.run_options" in modules and "berth.network.rtnl" not in modules  # --help builds every parser
    assert not {m.split(".")[0] for m in modules} & {"requests", "urllib3", "tarfile", "pydantic", "ssl", "ansible"}


def test_progress_lines_on_a_terminal(root, registry, tmp_path) -> None:
    """On a TTY, pull draws per-layer progress lines; the same pull piped stays quiet (above)."""
    import os
    import pty

    src = Engine(root=tmp_path / "src")
    rec = make_image(src.store, f"{registry.host}/tty/app:1", [random_layer(200_000), random_layer(1000)])
    src.push(f"{registry.host}/tty/app:1")
    pid, fd = pty.fork()
    if pid == 0:  # child: stdout/stderr are the pty
        os.execv(sys.executable, [sys.executable, "-m", "berth.cli.main", "--root", str(root), "pull",
                                  f"{registry.host}/tty/app:1"])
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    text = out.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    for layer in rec.layers:
        assert f"{layer.blob.short}: Pull complete" in text
    assert "\x1b[" in text  # lines redrawn in place


def test_image_ls_and_rm_take_the_flags_of_images_and_rmi(root, tmp_path) -> None:
    (tmp_path / "rootfs").mkdir()
    (tmp_path / "rootfs" / "hello").write_text("hi\n")
    archive = tmp_path / "rootfs.tar"
    subprocess.run(["tar", "-cf", str(archive), "-C", str(tmp_path / "rootfs"), "."], check=True)
    assert berth(root, "import", str(archive), "app:1").returncode == 0
    listed = berth(root, "image", "ls", "-a", "--no-trunc", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert berth(root, "image", "ls", "-q").stdout.strip() == row["ID"].removeprefix("sha256:")[:12]
    removed = berth(root, "image", "rm", "-f", "--no-prune", "app:1")
    assert removed.returncode == 0 and "Untagged: app:1" in removed.stdout, removed.stderr
    assert berth(root, "images", "-q").stdout == ""
