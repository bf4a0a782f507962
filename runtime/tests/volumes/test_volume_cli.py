"""``berth volume ...`` as a user runs it: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def berth(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "berth.cli.main", "--root", str(root), "volume", *args],
                          capture_output=True, text=True, timeout=60)


def test_round_trip(root: Path, fake_container) -> None:
    p = berth(root, "create", "data", "--label", "app=db", "--label", "flag", "-o", "type=none", "-o", "o=bind",
              "-o", f"device={root}")
    assert (p.returncode, p.stdout, p.stderr) == (0, "data\n", "")
    anon = berth(root, "create").stdout.strip()
    assert len(anon) == 64
    assert berth(root, "create", "data").stdout == "data\n"  # exists: same answer, as Docker

    ls = berth(root, "ls").stdout.splitlines()
    assert ls[0].split() == ["DRIVER", "VOLUME", "NAME"] and len(ls) == 3
    assert berth(root, "ls", "-q", "--filter", "label=app=db").stdout == "data\n"
    rows = json.loads(berth(root, "ls", "--format", "json").stdout)
    assert sorted(r["Name"] for r in rows) == sorted(["data", anon])

    p = berth(root, "inspect", "data", "nope")
    assert p.returncode == 1 and p.stderr == "Error: No such volume: nope\n"
    (info,) = json.loads(p.stdout)
    assert info["Labels"] == {"app": "db", "flag": ""} and info["Options"]["device"] == str(root)

    cid = fake_container(binds=["data:/d"])
    p = berth(root, "rm", "data", "nope", anon)
    assert p.returncode == 1 and p.stdout == f"{anon}\n"
    assert p.stderr.splitlines() == [f"Error: remove data: volume is in use - [{cid}]",
                                     "Error: No such volume: nope"]
    assert berth(root, "rm", "-f", "nope").returncode == 0

    berth(root, "create")
    p = berth(root, "prune", "-f")
    assert p.returncode == 0 and p.stdout.startswith("Deleted Volumes:\n") and "Total reclaimed space: 0B" in p.stdout
    p = berth(root, "prune", "-a", "-f")
    assert p.stdout == "Total reclaimed space: 0B\n"  # "data" is in use


def test_bad_input_is_one_line(root: Path) -> None:
    for args, needle in ((["create", "x/y"], 'invalid volume name "x/y"'),
                         (["create", "v1", "-o", "novalue"], 'invalid --opt "novalue"'),
                         (["create", "v1", "-o", "size=1"], 'invalid option key: "size"'),
                         (["ls", "--filter", "colour=red"], "invalid filter 'colour'")):
        p = berth(root, *args)
        assert p.returncode == 125, p.stderr
        assert p.stderr.count("\n") == 1 and p.stderr.startswith("Error: ") and needle in p.stderr, p.stderr
    assert berth(root, "ls", "-q").stdout == ""
