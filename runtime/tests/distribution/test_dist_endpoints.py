from __future__ import annotations

from pathlib import Path

from berth.config.engine_config import EngineConfig
from berth.distribution.endpoints import Endpoint, endpoints_for

CA1 = "-----BEGIN CERTIFICATE-----\nONE\n-----END CERTIFICATE-----\n"
CA2 = "-----BEGIN CERTIFICATE-----\nTWO\n-----END CERTIFICATE-----\n"


def test_docker_hub_mirrors_first(tmp_path: Path) -> None:
    cfg = EngineConfig(registry_mirrors=["http://127.0.0.1:5001", "https://mirror.example"])
    eps = endpoints_for("docker.io", cfg, tmp_path)
    assert [(e.url, e.mirror) for e in eps] == [
        ("http://127.0.0.1:5001", True),
        ("https://mirror.example", True),
        ("https://registry-1.docker.io", False),
    ]
    assert eps[1].tls_verify is True
    assert eps[2].tls_verify is True


def test_mirrors_only_for_docker_hub(tmp_path: Path) -> None:
    cfg = EngineConfig(registry_mirrors=["http://127.0.0.1:5001"])
    assert [e.url for e in endpoints_for("quay.example", cfg, tmp_path)] == ["https://quay.example"]


def test_secure_registry_is_https_only(tmp_path: Path) -> None:
    assert endpoints_for("reg.example:5000", EngineConfig(), tmp_path) == [
        Endpoint("https://reg.example:5000", tls_verify=True)
    ]


def test_insecure_registry_https_unverified_then_http(tmp_path: Path) -> None:
    cfg = EngineConfig(insecure_registries=["reg.example:5000"])
    eps = endpoints_for("reg.example:5000", cfg, tmp_path)
    assert [(e.url, e.tls_verify) for e in eps] == [
        ("https://reg.example:5000", False),
        ("http://reg.example:5000", False),
    ]


def test_insecure_by_cidr(tmp_path: Path) -> None:
    cfg = EngineConfig(insecure_registries=["10.0.0.0/8"])
    assert [e.url for e in endpoints_for("10.1.2.3:5000", cfg, tmp_path)][-1] == "http://10.1.2.3:5000"


def test_loopback_tries_http_first(tmp_path: Path) -> None:
    for host in ("127.0.0.1:5000", "localhost:5000", "[::1]:5000"):
        eps = endpoints_for(host, EngineConfig(), tmp_path)
        assert [e.url for e in eps] == [f"http://{host}", f"https://{host}"], host


def test_certs_dir_ca_and_client_cert(tmp_path: Path) -> None:
    d = tmp_path / "reg.example:5000"
    d.mkdir()
    (d / "ca.crt").write_text(CA1)
    (d / "client.cert").write_text("cert")
    (d / "client.key").write_text("key")
    [ep] = endpoints_for("reg.example:5000", EngineConfig(), tmp_path)
    assert isinstance(ep.tls_verify, str)
    bundle = Path(ep.tls_verify).read_text()
    assert CA1 in bundle  # added to the system CAs, as Docker does
    assert ep.client_cert == (str(d / "client.cert"), str(d / "client.key"))


def test_several_cas_concatenated(tmp_path: Path) -> None:
    d = tmp_path / "reg.example"
    d.mkdir()
    (d / "a.crt").write_text(CA1)
    (d / "b.crt").write_text(CA2)
    [ep] = endpoints_for("reg.example", EngineConfig(), tmp_path)
    bundle = Path(str(ep.tls_verify)).read_text()
    assert CA1 in bundle and CA2 in bundle
    assert (Path(str(ep.tls_verify)).stat().st_mode & 0o077) == 0  # private temp file
    # same content, same bundle file (no pile-up of temp files)
    assert endpoints_for("reg.example", EngineConfig(), tmp_path)[0].tls_verify == ep.tls_verify


def test_loopback_with_ca_tries_https_first(tmp_path: Path) -> None:
    d = tmp_path / "127.0.0.1:5443"
    d.mkdir()
    (d / "ca.crt").write_text(CA1)
    eps = endpoints_for("127.0.0.1:5443", EngineConfig(), tmp_path)
    assert [e.url for e in eps] == ["https://127.0.0.1:5443", "http://127.0.0.1:5443"]
    assert isinstance(eps[0].tls_verify, str)


def test_mirror_certs(tmp_path: Path) -> None:
    d = tmp_path / "mirror.example:8443"
    d.mkdir()
    (d / "ca.crt").write_text(CA1)
    eps = endpoints_for("docker.io", EngineConfig(registry_mirrors=["https://mirror.example:8443"]), tmp_path)
    assert eps[0].mirror and isinstance(eps[0].tls_verify, str)
