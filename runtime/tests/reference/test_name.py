from __future__ import annotations

import pytest

from berth.errors import InvalidReference
from berth.reference import Digest, Reference

HEX = "a" * 64


@pytest.mark.parametrize(
    ("text", "full", "familiar"),
    [
        ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/user/app:v1", "docker.io/user/app:v1", "user/app:v1"),
        ("user/app", "docker.io/user/app:latest", "user/app:latest"),
        ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
        ("localhost:9000/ubuntu", "localhost:9000/ubuntu:latest", "localhost:9000/ubuntu:latest"),
        ("127.0.0.1:9000/a/b/c:1.0-rc_1", "127.0.0.1:9000/a/b/c:1.0-rc_1", "127.0.0.1:9000/a/b/c:1.0-rc_1"),
        ("quay.io/org/app__x.y-z", "quay.io/org/app__x.y-z:latest", "quay.io/org/app__x.y-z:latest"),
        (f"reg.example:5000/app@sha256:{HEX}",) * 3,
        (f"app:v1@sha256:{HEX}", f"docker.io/library/app:v1@sha256:{HEX}", f"app:v1@sha256:{HEX}"),
    ],
)
def test_parse_normalises_like_docker(text: str, full: str, familiar: str) -> None:
    ref = Reference.parse(text)
    assert str(ref) == full
    assert ref.familiar() == familiar


def test_parts_and_lookup() -> None:
    ref = Reference.parse(f"localhost:9000/team/app@sha256:{HEX}")
    assert (ref.registry, ref.repository, ref.tag) == ("localhost:9000", "team/app", None)
    assert ref.lookup == f"sha256:{HEX}"
    assert Reference.parse("busybox").api_host == "registry-1.docker.io"
    assert Reference.parse("busybox").lookup == "latest"


@pytest.mark.parametrize(
    "text",
    ["", " busybox", "Busybox", "UPPER/case", "a:b:c", "app:", "app:-bad", "a//b", "/abs", "app@sha256:123",
     "app@md5:" + "a" * 32, "x" * 300, "app:" + "t" * 129, "-lead", "a/b_", "reg:port/x"],
)
def test_malformed_references_raise_naming_input(text: str) -> None:
    with pytest.raises(InvalidReference) as exc:
        Reference.parse(text)
    assert "invalid" in str(exc.value)


def test_uppercase_hint() -> None:
    with pytest.raises(InvalidReference, match="lowercase"):
        Reference.parse("MyApp")


def test_digest_parse_and_short() -> None:
    d = Digest.parse(f"sha256:{'0123456789ab' + 'c' * 52}")
    assert d.short == "0123456789ab"
    assert str(d).startswith("sha256:")
    empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert Digest.of_bytes(b"") == Digest.parse(empty)
    for bad in ["sha256:", "sha256:XYZ", f"sha1:{HEX}", HEX, f"sha256:{HEX.upper()}"]:
        with pytest.raises(InvalidReference):
            Digest.parse(bad)
