"""The collection as users get it: a wheelhouse for the engine role's offline installs, and the
collection built with ``ansible-galaxy`` and installed from its tarball.

The wheelhouse (``berth_wheelhouse``) is ``pip wheel`` over the role's pinned requirements, built
once and kept in ``$BERTH_TEST_CACHE`` (default ``~/.cache/berth``, ``make test CACHE=DIR``)
under a name keyed by the requirements file's checksum: change a pin and the next run builds a
new one. Only that first build needs PyPI.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO / "roles" / "engine" / "files" / "requirements-engine.txt"
BIN = Path(sys.executable).parent


def cache_dir() -> Path:
    return Path(os.environ.get("BERTH_TEST_CACHE") or Path.home() / ".cache" / "berth")


def wheelhouse() -> Path:
    """The directory of wheels for the current requirements, built if missing."""
    key = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    cache = cache_dir()
    out = cache / f"wheelhouse-{key}"
    if out.is_dir():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="wheelhouse.", dir=cache))
    try:
        _run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
              "-r", str(REQUIREMENTS), "-w", str(work)])
        work.rename(out)  # whole or not at all: a half-built wheelhouse is never found
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for stale in cache.glob("wheelhouse-*"):
        if stale != out:
            shutil.rmtree(stale, ignore_errors=True)
    return out


def build_collection(out_dir: Path) -> Path:
    """``ansible-galaxy collection build`` of the repository into ``out_dir``: the tarball."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(out_dir), str(REPO)],
         env=_ansible_env(out_dir))
    (tarball,) = out_dir.glob("berth-core-*.tar.gz")
    return tarball


def install_collection(tarball: Path, dest: Path) -> Path:
    """``ansible-galaxy collection install TARBALL -p DEST``; returns DEST, the collections root
    (``DEST/ansible_collections/berth/core``)."""
    _run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(dest), str(tarball)],
         env=_ansible_env(dest))
    return dest


def members(tarball: Path) -> set[str]:
    with tarfile.open(tarball) as tar:
        return {m.name for m in tar.getmembers()}


def _ansible_env(scratch: Path) -> dict[str, str]:
    # ansible-galaxy keeps caches and tokens in ANSIBLE_HOME: not the user's
    return {**os.environ, "ANSIBLE_HOME": str(scratch / ".ansible-home"), "ANSIBLE_NOCOLOR": "1"}


def _run(cmd: list[str], env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return proc.stdout
