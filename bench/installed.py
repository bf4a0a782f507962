"""The engine as the engine role installs it on a host, for the figures a user gets.

The repository's ``.venv`` is a development install: an editable ``runtime/`` on whatever
interpreter ``make venv`` was given (here a pyenv build: ``--enable-shared``, no PGO/LTO, ~20%
slower to start and import than Debian's). A host gets what ``roles/engine`` makes: a venv of
``berth_venv_python`` (``roles/engine/vars/main.yml``: Debian's ``/usr/bin/python3``), the role's
pinned requirements, and a regular install of ``runtime/``, byte-compiled by pip. That is built
here the same way (the wheels from the test wheelhouse, no index) and kept in the bench cache; the
engine in it is reinstalled when ``runtime/`` changes.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROLE_VARS = REPO / "roles" / "engine" / "vars" / "main.yml"
REQUIREMENTS = REPO / "roles" / "engine" / "files" / "requirements-engine.txt"


def role_python() -> str:
    """The interpreter the engine role makes its venv with."""
    match = re.search(r"^berth_venv_python:\s*(\S+)", ROLE_VARS.read_text(), re.M)
    if not match:
        raise RuntimeError(f"berth_venv_python not found in {ROLE_VARS}")
    return match.group(1)


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(str(p.relative_to(REPO)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def installed_berth(cache: Path) -> Path:
    """``<venv>/bin/berth`` of an engine installed as the role does; raises RuntimeError if the
    role's interpreter is missing or cannot make a venv."""
    python = role_python()
    if not Path(python).exists():
        raise RuntimeError(f"{python} (the engine role's interpreter) is not installed")
    version = subprocess.run([python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True,
                             check=True).stdout
    key = hashlib.sha256((python + version + REQUIREMENTS.read_text()).encode()).hexdigest()[:12]
    venv = cache / f"engine-venv-{key}"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    if not (venv / "bin" / "python").exists():
        sys.path.insert(0, str(REPO / "tests"))
        from installkit import wheelhouse

        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([*pip, "install", "--no-index", "--find-links", str(wheelhouse()), "-r", str(REQUIREMENTS)],
                       check=True)
    sources = [REPO / "runtime" / "pyproject.toml", *(REPO / "runtime" / "src").rglob("*.py")]
    stamp, digest = venv / "berth-runtime.sha", _digest(sources)
    if not stamp.exists() or stamp.read_text() != digest:
        with tempfile.TemporaryDirectory() as tmp:  # a copy: pip's build leaves build/ in the tree
            src = Path(tmp) / "runtime"
            shutil.copytree(REPO / "runtime", src, ignore=shutil.ignore_patterns("tests", "build", "__pycache__",
                                                                                   "*.egg-info"))
            subprocess.run([*pip, "install", "--force-reinstall", "--no-deps", "--no-build-isolation", "--no-index",
                            str(src)], check=True)
        stamp.write_text(digest)
    return venv / "bin" / "berth"
