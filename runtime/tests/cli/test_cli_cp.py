"""`berth cp` with `-`: a tar on stdin or stdout, as `docker cp - ctr:/dir` and `docker cp ctr:/path -`."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path


def berth(engine, *args: str, stdin: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "berth.cli.main", "--root", str(engine.paths.root), *args],
                          input=stdin, capture_output=True, timeout=timeout)


def test_tar_from_the_host_tar_command_in_and_out(rt, tmp_path: Path) -> None:
    src = tmp_path / "site"
    (src / "css").mkdir(parents=True)
    (src / "index.html").write_text("<h1>hi</h1>\n")
    (src / "css" / "a.css").write_text("body{}\n")
    packed = subprocess.run(["tar", "-C", str(src), "-cz", "."], capture_output=True, check=True).stdout
    assert berth(rt, "run", "-d", "--name", "web", "busybox", "sleep", "300").returncode == 0
    assert berth(rt, "exec", "web", "mkdir", "/srv").returncode == 0
    proc = berth(rt, "cp", "-", "web:/srv", stdin=packed)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"", b"")
    assert berth(rt, "exec", "web", "cat", "/srv/index.html", "/srv/css/a.css").stdout == b"<h1>hi</h1>\nbody{}\n"

    out = berth(rt, "cp", "web:/srv", "-")
    assert out.returncode == 0, out.stderr
    listing = subprocess.run(["tar", "-t"], input=out.stdout, capture_output=True, check=True).stdout.decode()
    assert sorted(listing.split()) == ["srv/", "srv/css/", "srv/css/a.css", "srv/index.html"]
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tf:
        assert tf.extractfile("srv/index.html").read() == b"<h1>hi</h1>\n"


def test_dash_usage_errors(rt) -> None:
    berth(rt, "create", "--name", "cc", "busybox", "true")
    for args, needle in ((["-", "/tmp"], "must be CONTAINER:PATH"), (["cc:/etc", "-"], None),
                         (["-", "-"], "cannot both be '-'"),
                         (["-", "cc:/nothere"], "Could not find the file /nothere")):
        proc = berth(rt, "cp", *args, stdin=b"")
        if needle is None:
            assert proc.returncode == 0 and proc.stdout[:512].startswith(b"etc/")
            continue
        assert proc.returncode != 0 and needle in proc.stderr.decode(), (args, proc.stderr)
    hostile = io.BytesIO()
    with tarfile.open(fileobj=hostile, mode="w") as tf:
        info = tarfile.TarInfo("../../escape")
        tf.addfile(info, io.BytesIO(b""))
    proc = berth(rt, "cp", "-", "cc:/tmp", stdin=hostile.getvalue())
    assert proc.returncode == 1 and "'../../escape' would be written outside the destination" in proc.stderr.decode()
    help_text = berth(rt, "cp", "--help").stdout.decode()
    assert "a tar archive read from stdin" in help_text and "berth cp - web:/srv" in help_text
