"""The collection as it ships: ``ansible-galaxy collection build`` of this repository, and the
tarball installed with ``ansible-galaxy collection install`` (``installkit``), documented by
``ansible-doc`` and running a module from the installed copy."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from installkit import BIN, REPO, build_collection, install_collection, members
from playkit import Host

# what ships: the engine's package, the Ansible content, images' Dockerfiles, playbooks, docs
SHIPPED = ("runtime/src/berth", "roles", "plugins", "meta", "images", "playbooks", "docs")
# development leftovers that must not: (name of a probe made in the tree if it has none, member test)
LEFTOVERS = {
    ".venv": lambda m: m == ".venv" or m.startswith(".venv/"),
    ".git": lambda m: m == ".git" or m.startswith(".git/"),
    "__pycache__": lambda m: "__pycache__" in m.split("/") or m.endswith(".pyc"),
    "tests/output": lambda m: m.startswith("tests/output"),
    "build": lambda m: m.split("/")[0] == "build",
    ".cache": lambda m: m.split("/")[0] == ".cache",
    "runtime/tests": lambda m: m.startswith("runtime/tests"),  # the engine's tests stay in the repository
    "*.egg-info": lambda m: any(part.endswith(".egg-info") for part in m.split("/")),
}
# One file of each kind is put in the tree while the tarball is built (a fresh clone has no build/
# or tests/output/): that they stay out must be build_ignore's doing, not their absence.
PROBES = ("tests/output/probe.txt", "build/probe.txt", ".cache/probe.txt", "runtime/tests/probe.py",
          "plugins/module_utils/__pycache__/probe.cpython-311.pyc", "runtime/src/probe.egg-info/PKG-INFO")


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    made: list[Path] = []  # probes, and the directories made for them, to remove afterwards
    try:
        for probe in (REPO / p for p in PROBES):
            missing = [d for d in (probe.parent, *probe.parent.parents) if not d.exists()]
            probe.parent.mkdir(parents=True, exist_ok=True)
            probe.write_text("must not ship\n")
            made += [probe, *missing]
        yield build_collection(tmp_path_factory.mktemp("dist"))
    finally:
        for path in made:
            path.rmdir() if path.is_dir() else path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def installed(tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_collection(tarball, tmp_path_factory.mktemp("collections"))


def test_the_tarball_ships_the_collection_and_no_development_leftovers(tarball: Path):
    names = members(tarball)
    tracked = subprocess.run(["git", "-C", str(REPO), "ls-files", "--", *SHIPPED], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    expected = {f for f in tracked if (REPO / f).is_file()}
    for top in SHIPPED:
        assert any(m.startswith(top + "/") for m in names), f"nothing of {top}/ in the tarball"
    assert expected - names == set()
    assert {"MANIFEST.json", "FILES.json", "galaxy.yml"} & names == {"MANIFEST.json", "FILES.json"}
    for what, matches in LEFTOVERS.items():
        assert not [m for m in names if matches(m)], f"{what} is in the tarball"


def test_ansible_doc_renders_from_the_installed_copy(installed: Path):
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(installed), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_HOME": str(installed / ".ansible-home")}
    proc = subprocess.run([str(BIN / "ansible-doc"), "berth.core.volume"], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    # the header names the file the documentation came from
    assert f"{installed}/ansible_collections/berth/core/plugins/modules/volume.py" in proc.stdout
    assert "driver_options" in proc.stdout and "EXAMPLES" in proc.stdout
    listed = subprocess.run([str(BIN / "ansible-doc"), "-t", "role", "-l", "berth.core"], capture_output=True,
                            text=True, env=env, timeout=120, check=False)
    assert "engine" in listed.stdout, listed.stdout + listed.stderr


def test_a_module_runs_from_the_installed_copy(installed: Path, tmp_path: Path):
    host = Host(tmp_path, installed)
    bind = tmp_path / "bind"
    bind.mkdir()
    run = host.play("volume/apply.yml", vol="shipped", bind_dir=str(bind))
    assert run.rc == 0, run.output
    assert run["create"]["changed"] is True and run["create again"]["changed"] is False
    assert host.volumes()["shipped"]["Labels"] == {"app": "web"}
