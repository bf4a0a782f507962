"""-e / --env-file, -l / --label-file, --add-host, --dns, --ip."""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.containers.parse import parse_add_host, parse_env, parse_ip, parse_labels
from berth.errors import InvalidArgument

CALLER = {"HOME": "/root", "EMPTY": "", "PASS": "from-caller"}


def test_env_values_and_inheritance() -> None:
    assert parse_env(["A=1", "B", "HOME", "C=", "D=x=y", "EMPTY"], environ=CALLER) == (
        ("A", "1"), ("HOME", "/root"), ("C", ""), ("D", "x=y"), ("EMPTY", ""))


def test_env_later_wins_at_first_position() -> None:
    assert parse_env(["A=1", "B=2", "A=3"], environ={}) == (("A", "3"), ("B", "2"))


def test_env_file(tmp_path: Path) -> None:
    f = tmp_path / "app.env"
    f.write_text("\ufeff# a comment\n\nMYSQL_ROOT_PASSWORD=123456\n   INDENTED=yes  \nQUOTED=\"kept\"\n"
                 "PASS\nUNSET_IN_CALLER\nSPACES=a b \nA=file\n")
    assert parse_env(["A=flag"], [str(f)], environ=CALLER) == (
        ("MYSQL_ROOT_PASSWORD", "123456"), ("INDENTED", "yes  "), ("QUOTED", '"kept"'), ("PASS", "from-caller"),
        ("SPACES", "a b "), ("A", "flag"))


@pytest.mark.parametrize(("content", "needle"), [
    ("=1\n", "line 1: no variable name"),
    ("OK=1\nBAD KEY=1\n", "line 2: variable 'BAD KEY' contains whitespaces"),
    (b"A=\xff\n", "not valid UTF-8"),
])
def test_bad_env_file(tmp_path: Path, content: str | bytes, needle: str) -> None:
    f = tmp_path / "bad.env"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InvalidArgument) as info:
        parse_env([], [str(f)], environ={})
    assert str(info.value).startswith(f'invalid --env-file value "{f}": ') and needle in str(info.value)


def test_missing_env_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r'invalid --env-file value ".*nope.env": No such file'):
        parse_env([], [str(tmp_path / "nope.env")], environ={})


def test_bad_env_value() -> None:
    with pytest.raises(InvalidArgument, match=r'^invalid --env value "=1": no variable name$'):
        parse_env(["=1"], environ={})


def test_labels(tmp_path: Path) -> None:
    f = tmp_path / "labels"
    f.write_text("# x\ncom.example.team=db\nflag\nversion=1\n")
    assert parse_labels(["version=2", "a=b=c", "bare"], [str(f)]) == (
        ("com.example.team", "db"), ("flag", ""), ("version", "2"), ("a", "b=c"), ("bare", ""))
    with pytest.raises(InvalidArgument, match='invalid --label value "=x"'):
        parse_labels(["=x"])
    with pytest.raises(InvalidArgument, match="--label-file"):
        parse_labels([], [str(tmp_path / "missing")])


@pytest.mark.parametrize(("text", "pair"), [
    ("db:10.0.0.5", ("db", "10.0.0.5")),
    ("db=10.0.0.5", ("db", "10.0.0.5")),
    ("v6:::1", ("v6", "::1")),
    ("v6:[2001:db8::1]", ("v6", "2001:db8::1")),
    ("v6=[::1]", ("v6", "::1")),
    ("host.docker.internal:host-gateway", ("host.docker.internal", "host-gateway")),
])
def test_add_host(text: str, pair: tuple[str, str]) -> None:
    assert parse_add_host(text) == pair


@pytest.mark.parametrize("text", ["db", "db:", ":1.2.3.4", "db:not-an-ip", "db:1.2.3", "a:b=1.2.3.4"])
def test_bad_add_host(text: str) -> None:
    with pytest.raises(InvalidArgument, match=f'^invalid --add-host value "{text}": '):
        parse_add_host(text)


def test_ip() -> None:
    assert parse_ip("8.8.8.8", "--dns") == "8.8.8.8"
    assert parse_ip("2001:4860:4860:0::8888", "--dns") == "2001:4860:4860::8888"
    assert parse_ip("172.20.0.5", "--ip", version=4) == "172.20.0.5"
    with pytest.raises(InvalidArgument, match=r'invalid --dns value "dns\.google"'):
        parse_ip("dns.google", "--dns")
    with pytest.raises(InvalidArgument, match="expected an IPv4 address"):
        parse_ip("::1", "--ip", version=4)
