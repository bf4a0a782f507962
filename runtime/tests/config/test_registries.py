"""Editing the engine's registry settings: config keys under a lock, atomically; certs.d files."""

from __future__ import annotations

import json
import multiprocessing
import stat

import pytest

from berth.config import registries
from berth.engine import Engine
from berth.errors import ConfigError, InvalidArgument


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "etc" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"bridge": "bx0", "insecure-registries": ["10.0.0.0/8"]}))
    path.chmod(0o640)
    return path


def test_insecure_added_and_removed_once_other_keys_kept(cfg):
    assert registries.set_insecure(cfg, "reg:5000", True) is True
    assert registries.set_insecure(cfg, "reg:5000", True) is False
    assert json.loads(cfg.read_text()) == {"bridge": "bx0", "insecure-registries": ["10.0.0.0/8", "reg:5000"]}
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o640  # the file's mode survives the rewrite
    assert registries.set_insecure(cfg, "reg:5000", False) is True
    assert registries.set_insecure(cfg, "reg:5000", False) is False
    assert json.loads(cfg.read_text()) == {"bridge": "bx0", "insecure-registries": ["10.0.0.0/8"]}


def test_no_change_does_not_rewrite_the_file(cfg):
    before = cfg.stat().st_ino
    assert registries.set_insecure(cfg, "10.0.0.0/8", True) is False
    assert registries.set_mirrors(cfg, []) is False
    assert cfg.stat().st_ino == before


def test_mirrors_exactly_the_list_and_empty_removes_the_key(cfg):
    assert registries.set_mirrors(cfg, ["https://m1.example/", "http://127.0.0.1:5001"]) is True
    assert registries.set_mirrors(cfg, ["https://m1.example", "http://127.0.0.1:5001"]) is False
    assert json.loads(cfg.read_text())["registry-mirrors"] == ["https://m1.example", "http://127.0.0.1:5001"]
    assert registries.set_mirrors(cfg, ["http://127.0.0.1:5001", "https://m1.example"]) is True  # order counts
    assert registries.set_mirrors(cfg, []) is True
    assert "registry-mirrors" not in json.loads(cfg.read_text())


def test_an_invalid_result_is_refused_and_the_file_left_alone(cfg):
    before = cfg.read_bytes()
    with pytest.raises(ConfigError, match="invalid mirror URL"):
        registries.set_mirrors(cfg, ["ftp://nope"])
    with pytest.raises(RuntimeError), registries.editing_config(cfg) as raw:
        raw["insecure-registries"] = ["x:1"]
        raise RuntimeError("boom")
    assert cfg.read_bytes() == before


def test_a_missing_file_is_created(tmp_path):
    path = tmp_path / "etc" / "config.json"
    assert registries.set_insecure(path, "reg:5000", True) is True
    assert json.loads(path.read_text()) == {"insecure-registries": ["reg:5000"]}


def _add(args):
    path, host = args
    registries.set_insecure(path, host, True)


def test_concurrent_editors_lose_nothing(cfg):
    hosts = [f"reg{i}:5000" for i in range(24)]
    with multiprocessing.get_context("fork").Pool(8) as pool:
        pool.map(_add, [(cfg, h) for h in hosts])
    assert sorted(json.loads(cfg.read_text())["insecure-registries"]) == sorted(["10.0.0.0/8", *hosts])


def test_certs_written_with_their_modes_and_removed(cfg, tmp_path):
    certs = tmp_path / "etc" / "certs.d"
    assert registries.set_cert(cfg, certs, "reg:5000", "ca.crt", b"CA") is True
    assert registries.set_cert(cfg, certs, "reg:5000", "ca.crt", b"CA") is False
    assert registries.set_cert(cfg, certs, "reg:5000", "client.key", b"KEY") is True
    assert stat.S_IMODE((certs / "reg:5000" / "client.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((certs / "reg:5000" / "ca.crt").stat().st_mode) == 0o644
    assert registries.read_certs(certs, "reg:5000") == {"ca.crt": b"CA", "client.key": b"KEY"}
    assert registries.set_cert(cfg, certs, "reg:5000", "ca.crt", None) is True
    assert registries.set_cert(cfg, certs, "reg:5000", "ca.crt", None) is False
    assert registries.set_cert(cfg, certs, "reg:5000", "client.key", None) is True
    assert not (certs / "reg:5000").exists()  # the emptied directory goes too
    with pytest.raises(InvalidArgument):
        registries.set_cert(cfg, certs, "reg:5000", "../escape", b"x")
    with pytest.raises(InvalidArgument):
        registries.set_cert(cfg, certs, "..", "ca.crt", b"x")


@pytest.mark.parametrize(("text", "name"), [
    ("https://reg.example:9000/v2/", "reg.example:9000"), ("reg:5000", "reg:5000"),
    ("https://index.docker.io/v1/", "docker.io"), ("registry-1.docker.io", "docker.io"),
])
def test_registry_name(text, name):
    assert registries.registry_name(text) == name


@pytest.mark.parametrize("text", ["", "https://", "a b", "user@host"])
def test_registry_name_refuses(text):
    with pytest.raises(InvalidArgument):
        registries.registry_name(text)


def test_engine_facade_sees_its_own_change(tmp_path):
    engine = Engine(root=tmp_path / "root")
    assert not engine.config.is_insecure("reg.example:5000")
    assert engine.set_insecure_registry("https://reg.example:5000/", True) is True
    assert engine.config.is_insecure("reg.example:5000")
    assert engine.set_registry_mirrors(["http://127.0.0.1:5001"]) is True
    assert engine.config.registry_mirrors == ["http://127.0.0.1:5001"]
    assert engine.set_registry_cert("reg.example:5000", "ca.crt", b"PEM") is True
    assert engine.registry_certs("reg.example:5000") == {"ca.crt": b"PEM"}
    assert (engine.paths.certs_dir / "reg.example:5000" / "ca.crt").read_bytes() == b"PEM"
