"""The ``berth.core.engine`` role, applied for real to localhost (harness: ``playkit``).

The role comes from the collection as users get it (built with ``ansible-galaxy`` and installed
from the tarball, ``installkit``) and installs into a temporary ``berth_prefix`` for a temporary
``berth_root``, so the machine's /opt/berth and /var/lib/berth are never touched. pip sees only
the wheelhouse (``berth_wheelhouse``, built once into the test cache): no index, no pip config.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from installkit import REQUIREMENTS, build_collection, install_collection, wheelhouse
from playkit import Host, Run

ROLE = "berth.core.engine : "


class Installed:
    """The test host with the engine the role installed in ``prefix``."""

    first: Run  # the role's first run, which installed it

    def __init__(self, host: Host, prefix: Path) -> None:
        self.host = host
        self.prefix = prefix
        self.python = prefix / "bin" / "python"
        self.config_file = host.root / "etc" / "config.json"
        self.wheelhouse = wheelhouse()

    def apply(self, playbook: str = "engine_role/engine.yml", *, check: bool = False, **extra_vars) -> Run:
        return self.host.play(playbook, check=check, berth_prefix=str(self.prefix), berth_python=str(self.python),
                              berth_wheelhouse=str(self.wheelhouse), **extra_vars)

    def berth(self, *args: str) -> str:
        proc = subprocess.run([str(self.prefix / "bin" / "berth"), "--root", str(self.host.root), *args],
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def config(self) -> dict:
        return json.loads(self.config_file.read_text())


def changed(run: Run) -> list[str]:
    """The tasks that reported a change."""
    assert run.rc == 0, run.output
    return sorted(task.removeprefix(ROLE) for task, result in run.results.items() if result.get("changed"))


@pytest.fixture(scope="module")
def collections(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("collection")
    return install_collection(build_collection(tmp / "dist"), tmp / "installed")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, collections: Path) -> Iterator[Installed]:
    with pytest.MonkeyPatch.context() as env:
        # the role's pip must make do with the wheelhouse: this machine's pip config and
        # PIP_* variables (extra indexes, find-links) would hide a wheel missing from it
        for name in [n for n in os.environ if n.startswith("PIP_")]:
            env.delenv(name)
        env.setenv("PIP_CONFIG_FILE", os.devnull)
        tmp = tmp_path_factory.mktemp("engine-role")
        installed = Installed(Host(tmp, collections), tmp / "prefix")
        installed.first = installed.apply()
        try:
            yield installed
        finally:
            _remove_boot_unit(installed.first)


def _remove_boot_unit(run: Run) -> None:
    """On a machine that runs systemd the role installed a unit for this test's root: take it away."""
    unit = run.results.get(f"{ROLE}Write the boot-restore unit", {})
    if unit.get("dest"):
        subprocess.run(["systemctl", "disable", Path(unit["dest"]).name], capture_output=True, check=False)
        Path(unit["dest"]).unlink(missing_ok=True)


def test_the_role_installs_a_working_engine(engine: Installed):
    assert {"Install the pinned requirements", "Install the engine into the venv"} <= set(changed(engine.first))
    # the engine the venv imports is its own install, not this repository's sources
    where = subprocess.run([str(engine.python), "-c", "import berth; print(berth.__file__)"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(engine.prefix), where
    frozen = subprocess.run([str(engine.python), "-m", "pip", "freeze", "--all"], capture_output=True, text=True,
                            check=True).stdout.lower().splitlines()
    pins = [line.lower() for line in REQUIREMENTS.read_text().splitlines() if line and not line.startswith("#")]
    assert set(pins) <= set(frozen), frozen

    info = json.loads(engine.berth("info"))
    assert info["Root"] == str(engine.host.root) and info["ConfigFile"] == str(engine.config_file)

    systemd = engine.first.status[f"{ROLE}Write the boot-restore unit"] != "skipped"
    advice = engine.first.results[f"{ROLE}Say how to restore containers at boot without systemd"]
    if not systemd:
        assert f"{engine.prefix}/bin/berth --root {engine.host.root} system restore" in advice["msg"]


def test_collection_modules_run_with_the_installed_interpreter(engine: Installed):
    run = engine.host.play("engine_role/use.yml", vol="probe", berth_prefix=str(engine.prefix),
                           berth_python=str(engine.python))
    assert changed(run) == ["create"]
    assert run["info"]["volume"]["Labels"] == {"installed-by": "engine-role"}
    (volume,) = json.loads(engine.berth("volume", "inspect", "probe"))
    assert volume["Labels"] == {"installed-by": "engine-role"}


def test_applied_again_and_in_check_mode_nothing_changes(engine: Installed):
    assert changed(engine.apply()) == []
    assert changed(engine.apply(check=True)) == []
    # check mode still sees a difference when there is one, and leaves it there
    before = engine.config_file.read_text()
    run = engine.apply(check=True, berth_config={"max-concurrent-downloads": 7})
    assert changed(run) == ["Write the engine config"]
    assert engine.config_file.read_text() == before


def test_what_differs_from_the_pins_and_the_sources_is_reinstalled(engine: Installed):
    manifest = engine.prefix / "share" / "berth-runtime.SOURCES"
    lines = manifest.read_text().splitlines()
    assert lines[0].startswith("pyproject.toml ") and any(x.startswith("src/berth/engine/") for x in lines)
    assert not any("__pycache__" in x or "/tests/" in x for x in lines)
    manifest.write_text("\n".join(lines[1:]) + "\n")  # as if pyproject.toml had changed since
    reinstall = {"Install the engine into the venv", "Record the sources the engine was installed from"}
    # the archive itself may be byte for byte the one copied before (tar and gzip can be deterministic)
    assert reinstall <= set(changed(engine.apply())) <= {*reinstall, "Copy the engine archive"}
    assert manifest.read_text().splitlines() == lines

    subprocess.run([str(engine.python), "-m", "pip", "uninstall", "-q", "-y", "zstandard"], check=True)
    # a venv that lacked a pin gets it back, and the engine is installed over again
    assert {"Install the pinned requirements", "Install the engine into the venv"} <= set(changed(engine.apply()))
    subprocess.run([str(engine.python), "-c", "import zstandard"], check=True)
    assert changed(engine.apply()) == []


def test_the_role_manages_only_the_config_keys_it_is_given(engine: Installed):
    from berth.config import registries

    # the harness's engine config (bridge, bip, address pools) is there from the start
    theirs = engine.config()
    run = engine.apply(berth_config={"max-concurrent-downloads": 4})
    assert changed(run) == ["Write the engine config"]
    assert engine.config() == {**theirs, "max-concurrent-downloads": 4}

    # the engine edits its registry keys (what berth.core.registry and `berth` do), in its layout
    assert registries.set_mirrors(engine.config_file, ["http://10.0.0.5:5000"])
    assert registries.set_insecure(engine.config_file, "10.0.0.5:5000", True)
    edited = engine.config()
    assert changed(engine.apply(berth_config={"max-concurrent-downloads": 4})) == []
    assert engine.config() == edited
    seen = json.loads(engine.berth("info"))["RegistryConfig"]  # the engine reads what both wrote
    assert seen["max-concurrent-downloads"] == 4 and seen["registry-mirrors"] == ["http://10.0.0.5:5000"]

    # a key given as null is removed, the others stay
    run = engine.apply(berth_config={"max-concurrent-downloads": None})
    assert changed(run) == ["Write the engine config"]
    assert engine.config() == {k: v for k, v in edited.items() if k != "max-concurrent-downloads"}

    # what the engine would refuse is never put in place
    before = engine.config_file.read_text()
    run = engine.apply(berth_config={"max-concurrent-downloads": 0})
    assert run.rc != 0 and "failed to validate" in run.failed(f"{ROLE}Write the engine config")
    assert engine.config_file.read_text() == before


def test_a_site_playbook_with_the_role_and_the_registry_module_converges(engine: Installed):
    engine.config_file.write_text(json.dumps({k: v for k, v in engine.config().items()
                                              if k not in ("registry-mirrors", "insecure-registries")}))
    run = engine.apply("engine_role/site.yml")
    assert {"insecure registry", "hub mirror"} <= set(changed(run))
    assert changed(engine.apply("engine_role/site.yml")) == []
    config = engine.config()
    assert config["max-concurrent-downloads"] == 4 and config["registry-mirrors"] == ["http://10.0.0.5:5000"]
    assert config["insecure-registries"] == ["10.0.0.5:5000"]
