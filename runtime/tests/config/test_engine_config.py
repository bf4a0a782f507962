from __future__ import annotations

import json

import pytest

from berth.config import EngineConfig
from berth.errors import ConfigError


def test_defaults_when_missing(tmp_path) -> None:
    cfg = EngineConfig.load(tmp_path / "nope.json")
    assert cfg.registry_mirrors == [] and cfg.max_concurrent_downloads == 3


def test_daemon_json_keys_round_trip(tmp_path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"registry-mirrors": ["http://127.0.0.1:5001/"], "insecure-registries": ["reg:5000"],
                                "max-concurrent-downloads": 6}))
    cfg = EngineConfig.load(path)
    assert cfg.registry_mirrors == ["http://127.0.0.1:5001"]
    cfg.save(tmp_path / "out.json")
    assert EngineConfig.load(tmp_path / "out.json") == cfg


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"registry-mirrors": "http://x"}, "registry-mirrors"),
        ({"registry-mirrors": ["ftp://x"]}, "invalid mirror URL"),
        ({"insecure-registries": [1]}, "insecure-registries"),
        ({"max-concurrent-downloads": 0}, "max-concurrent-downloads"),
        ({"bogus": 1}, "unknown key"),
        ([], "JSON object"),
    ],
)
def test_bad_config_names_field(raw, needle) -> None:
    with pytest.raises(ConfigError, match=needle):
        EngineConfig.from_dict(raw)


def test_unparseable_file(tmp_path) -> None:
    (tmp_path / "c.json").write_text("{nope")
    with pytest.raises(ConfigError, match="cannot read engine config"):
        EngineConfig.load(tmp_path / "c.json")


def test_insecure_rules() -> None:
    cfg = EngineConfig(insecure_registries=["myreg:5000", "10.1.0.0/16", "plainhost"])
    assert cfg.is_insecure("127.0.0.1:9000") and cfg.is_insecure("127.3.2.1") and cfg.is_insecure("localhost:5000")
    assert cfg.is_insecure("[::1]:5000")
    assert cfg.is_insecure("myreg:5000") and not cfg.is_insecure("myreg:5001")
    assert cfg.is_insecure("10.1.2.3:443") and not cfg.is_insecure("10.2.0.1:443")
    assert cfg.is_insecure("plainhost:8080")
    assert not cfg.is_insecure("registry-1.docker.io")
