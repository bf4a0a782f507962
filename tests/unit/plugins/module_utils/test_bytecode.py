"""bytecode.install(): module_utils imported from a zip (as from an AnsiballZ payload) run from
cached bytecode; a changed source, a corrupt cache file, a directory open to others and
PYTHONDONTWRITEBYTECODE are handled as Python handles ``__pycache__``.

Each case runs in a fresh interpreter with only the zip on ``sys.path`` for the collection, as
a module does on a managed host."""

from __future__ import annotations

import importlib.util
import json
import marshal
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from collkit import REPO

PACKAGE = "ansible_collections/berth/core/plugins/module_utils"
NAME = "ansible_collections.berth.core.plugins.module_utils.sample"
SAMPLE = '''
VALUE = {value}


def boom():
    raise ValueError("boom from the sample")
'''
# what the child reports: the sample's value, which files it compiled, where its code says it is,
# and the traceback of a failure in it
CHILD = '''
import builtins, json, sys, traceback
sys.path.insert(0, sys.argv[1])
from ansible_collections.berth.core.plugins.module_utils import bytecode
compiled = []
real_compile = builtins.compile
def spy(source, filename, *args, **kwargs):
    compiled.append(str(filename))
    return real_compile(source, filename, *args, **kwargs)
builtins.compile = spy
bytecode.install(sys.argv[2])
from ansible_collections.berth.core.plugins.module_utils import sample
try:
    sample.boom()
except ValueError:
    tb = traceback.format_exc()
print(json.dumps({"value": sample.VALUE, "compiled": [c for c in compiled if c.endswith("sample.py")],
                  "code_file": sample.boom.__code__.co_filename, "file": sample.__file__, "traceback": tb}))
'''


def payload(path: Path, value: int) -> Path:
    """A zip like an AnsiballZ payload's: the collection's packages, bytecode.py, and sample.py."""
    with zipfile.ZipFile(path, "w") as z:
        for package in ("ansible_collections", "ansible_collections/berth", "ansible_collections/berth/core",
                        "ansible_collections/berth/core/plugins", PACKAGE):
            z.writestr(f"{package}/__init__.py", "")
        z.write(REPO / "plugins" / "module_utils" / "bytecode.py", f"{PACKAGE}/bytecode.py")
        z.writestr(f"{PACKAGE}/sample.py", SAMPLE.format(value=value))
    return path


def run(zip_path: Path, cache: Path, **env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(zip_path), str(cache)], capture_output=True,
                          text=True, env={**environ, **env}, check=True)
    return json.loads(proc.stdout)


def cache_file(cache: Path) -> Path:
    return cache / f"{NAME}.{sys.implementation.cache_tag}.pyc"


def test_compiled_once_then_loaded_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    first = run(payload(tmp_path / "one.zip", 1), cache)
    assert first["value"] == 1
    assert len(first["compiled"]) == 1  # zipimport alone compiles it twice
    header = cache_file(cache).read_bytes()[:16]
    assert header[:8] == importlib.util.MAGIC_NUMBER + (0b11).to_bytes(4, "little")  # checked hash-based pyc
    assert oct(cache.stat().st_mode & 0o777) == "0o700"

    # another task's payload, same source: nothing compiled; its code names this zip, not the first
    other = payload(tmp_path / "two.zip", 1)
    second = run(other, cache)
    assert second["value"] == 1
    assert second["compiled"] == []
    assert second["code_file"] == second["file"] == f"{other}/{PACKAGE}/sample.py"
    assert 'raise ValueError("boom from the sample")' in second["traceback"]  # the source, for tracebacks


def test_a_changed_source_is_never_run_from_a_stale_cache(tmp_path):
    cache = tmp_path / "cache"
    run(payload(tmp_path / "one.zip", 1), cache)
    changed = run(payload(tmp_path / "two.zip", 2), cache)
    assert changed["value"] == 2
    assert len(changed["compiled"]) == 1
    assert run(payload(tmp_path / "three.zip", 2), cache)["compiled"] == []  # the new source cached


@pytest.mark.parametrize("body", [b"\x00garbage", marshal.dumps("VALUE = 3")], ids=["garbage", "not code"])
def test_a_corrupt_cache_file_is_compiled_over(tmp_path, body):
    cache = tmp_path / "cache"
    zip_path = payload(tmp_path / "one.zip", 1)
    run(zip_path, cache)
    data = cache_file(cache).read_bytes()
    cache_file(cache).write_bytes(data[:16] + body)
    again = run(zip_path, cache)
    assert again["value"] == 1
    assert len(again["compiled"]) == 1
    assert cache_file(cache).read_bytes() == data


def test_a_directory_others_may_write_is_not_used(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    cache.chmod(0o777)
    zip_path = payload(tmp_path / "one.zip", 1)
    assert run(zip_path, cache)["value"] == 1
    assert not cache_file(cache).exists()


def test_a_cache_file_others_may_write_is_not_read(tmp_path):
    cache = tmp_path / "cache"
    zip_path = payload(tmp_path / "one.zip", 1)
    run(zip_path, cache)
    cache_file(cache).chmod(0o666)
    again = run(zip_path, cache)
    assert again["value"] == 1
    assert len(again["compiled"]) == 1


def test_dont_write_bytecode_stops_the_writing_not_the_reading(tmp_path):
    cache = tmp_path / "cache"
    zip_path = payload(tmp_path / "one.zip", 1)
    run(zip_path, cache, PYTHONDONTWRITEBYTECODE="1")
    assert not cache_file(cache).exists()
    run(zip_path, cache)
    assert run(zip_path, cache, PYTHONDONTWRITEBYTECODE="1")["compiled"] == []


def test_modules_in_a_directory_are_left_to_python(tmp_path):
    """Tests, ansible-test and an exploded payload import module_utils from files: no cache."""
    tree = tmp_path / "tree"
    with zipfile.ZipFile(payload(tmp_path / "one.zip", 1)) as z:
        z.extractall(tree)
    cache = tmp_path / "cache"
    out = run(tree, cache)
    assert out["value"] == 1
    assert out["file"] == str(tree / PACKAGE / "sample.py")
    assert not cache_file(cache).exists()
