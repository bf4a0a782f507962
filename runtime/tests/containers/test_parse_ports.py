"""-p / --publish."""

from __future__ import annotations

import pytest

from berth.containers.parse import parse_publish
from berth.containers.spec import PortBinding as B
from berth.errors import InvalidArgument


@pytest.mark.parametrize(
    ("text", "bindings"),
    [
        ("80", [B(80)]),
        ("8080:80", [B(80, "tcp", "", 8080)]),
        ("3307:3306", [B(3306, "tcp", "", 3307)]),
        ("127.0.0.1:8080:80", [B(80, "tcp", "127.0.0.1", 8080)]),
        ("127.0.0.1::80", [B(80, "tcp", "127.0.0.1", 0)]),
        ("0.0.0.0:80:80", [B(80, "tcp", "0.0.0.0", 80)]),
        ("8080:80/udp", [B(80, "udp", "", 8080)]),
        ("53/UDP", [B(53, "udp")]),
        ("80/", [B(80)]),
        ("[::1]:8080:80", [B(80, "tcp", "::1", 8080)]),
        ("::1:8080:80", [B(80, "tcp", "::1", 8080)]),
        ("[2001:db8::0001]::443/tcp", [B(443, "tcp", "2001:db8::1", 0)]),
        ("0:80", [B(80)]),  # host port 0 = random, as Docker
        ("8000-8002:9000-9002", [B(9000, "tcp", "", 8000), B(9001, "tcp", "", 8001), B(9002, "tcp", "", 8002)]),
        ("9000-9001", [B(9000), B(9001)]),
        ("127.0.0.1::9000-9001/udp", [B(9000, "udp", "127.0.0.1"), B(9001, "udp", "127.0.0.1")]),
        ("8000-8010:80", [B(80, "tcp", "", 8000, 8010)]),  # a host range to pick one free port from
        ("65535:1", [B(1, "tcp", "", 65535)]),
    ],
)
def test_publish(text: str, bindings: list[B]) -> None:
    assert parse_publish(text) == bindings


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("0", "invalid port '0'"),
        ("65536", "invalid port '65536'"),
        ("8080:65536", "invalid port"),
        ("65536:80", "invalid port"),
        ("http", "invalid port 'http'"),
        ("80:http", "invalid port"),
        ("-1:80", "invalid port"),
        ("", "no container port"),
        ("8080:", "no container port"),
        ("80/sctp", "unsupported protocol 'sctp'"),
        ("80/icmp", "unsupported protocol"),
        ("300.0.0.1:80:80", "invalid IP address '300.0.0.1'"),
        ("localhost:80:80", "invalid IP address"),
        ("8000-8001:9000-9002", "same length"),
        ("8080:9000-9002", "same length"),
        ("9002-9000", "invalid port"),
        ("0-2:80", "invalid port"),
        ("1-2-3", "invalid port"),
    ],
)
def test_bad_publish(text: str, needle: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_publish(text)
    assert str(info.value).startswith(f'invalid --publish value "{text}": ')
    assert needle in str(info.value)
