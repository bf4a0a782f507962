"""Helpers of the collection's tests (imported by name: tests/conftest.py puts tests/ on sys.path).

The collection importable as ``ansible_collections.berth.core``: a temporary
``ansible_collections/berth/core`` symlink to the repository root, put on ``sys.path`` and given
to ``ansible-*`` commands as ANSIBLE_COLLECTIONS_PATH. Under ``ansible-test`` the repository
already sits in such a tree; nothing is made then.
"""

from __future__ import annotations

import ast
import atexit
import importlib
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _collections_root() -> Path:
    if REPO.parent.name == "berth" and REPO.parent.parent.name == "ansible_collections":
        return REPO.parents[2]
    root = Path(tempfile.mkdtemp(prefix="berth-collections-"))
    (root / "ansible_collections" / "berth").mkdir(parents=True)
    (root / "ansible_collections" / "berth" / "core").symlink_to(REPO)
    atexit.register(shutil.rmtree, root, True)
    return root


COLLECTIONS_ROOT = _collections_root()
if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))


def module_names() -> list[str]:
    """The collection's modules (``plugins/modules/*.py``)."""
    return sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))


def module_resource_path(name: str) -> str:
    """``module_utils_module:Class`` of the ``Resource`` a module's ``main()`` runs (read from its source)."""
    tree = ast.parse((REPO / "plugins" / "modules" / f"{name}.py").read_text())
    imported = {alias.asname or alias.name: node.module for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) for alias in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "run_module":
            cls = node.args[0].id
            return f"{imported[cls]}:{cls}"
    raise AssertionError(f"plugins/modules/{name}.py: main() does not call run_module(Resource)")


def load(path: str):
    """``package.module:Name`` -> the object."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)
