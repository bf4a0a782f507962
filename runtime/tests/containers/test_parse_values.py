"""Scalar run flags: sizes, CPUs, restart policies, signals, users, names, capabilities."""

from __future__ import annotations

import pytest

from berth.containers.parse import (
    parse_capabilities,
    parse_cpus,
    parse_hostname,
    parse_memory,
    parse_name,
    parse_pids_limit,
    parse_restart,
    parse_stop_signal,
    parse_stop_timeout,
    parse_user,
    parse_workdir,
)
from berth.containers.spec import RestartPolicy
from berth.containers.values import parse_signal_number
from berth.errors import InvalidArgument

M = 1024 * 1024


def assert_invalid(func, value, flag: str, needle: str = "") -> None:
    with pytest.raises(InvalidArgument) as info:
        func(value)
    msg = str(info.value)
    assert msg.startswith(f'invalid {flag} value "{value}": '), msg
    assert needle in msg, msg
    assert info.value.exit_code == 125


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512m", 512 * M), ("512M", 512 * M), ("512mb", 512 * M), ("512MiB", 512 * M), ("1g", 1024 * M),
        ("1.5g", 1536 * M), ("1t", 1024**4), ("6291456", 6 * M), ("6291456b", 6 * M), ("6144k", 6 * M),
        ("64 m", 64 * M), ("0", 0),
    ],
)
def test_memory(text: str, size: int) -> None:
    assert parse_memory(text) == size


def test_memory_error_names_flag_and_value() -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_memory("12q")
    assert str(info.value) == (
        'invalid --memory value "12q": expected a number with an optional unit b, k, m, g or t'
    )


@pytest.mark.parametrize(("text", "needle"), [
    ("12q", "optional unit"), ("", "optional unit"), ("-1m", "optional unit"), ("1.2.3m", "optional unit"),
    ("m", "optional unit"), ("4m", "minimum memory limit allowed is 6MB"), ("100", "minimum"),
])
def test_bad_memory(text: str, needle: str) -> None:
    assert_invalid(parse_memory, text, "--memory", needle)


@pytest.mark.parametrize(("text", "nano"), [
    ("1", 10**9), ("1.5", 1_500_000_000), ("0.01", 10_000_000), ("2.000000001", 2_000_000_001), ("64", 64 * 10**9),
])
def test_cpus(text: str, nano: int) -> None:
    assert parse_cpus(text) == nano


@pytest.mark.parametrize(("text", "needle"), [
    ("0", "positive"), ("-1", "positive"), ("abc", "positive"), ("nan", "positive"), ("inf", "positive"),
    ("", "positive"), ("0.0000000001", "too precise"),
])
def test_bad_cpus(text: str, needle: str) -> None:
    assert_invalid(parse_cpus, text, "--cpus", needle)


@pytest.mark.parametrize(("text", "policy"), [
    ("no", RestartPolicy("no")), ("", RestartPolicy("no")), ("always", RestartPolicy("always")),
    ("unless-stopped", RestartPolicy("unless-stopped")), ("on-failure", RestartPolicy("on-failure")),
    ("on-failure:3", RestartPolicy("on-failure", 3)), ("on-failure:0", RestartPolicy("on-failure", 0)),
    ("always:0", RestartPolicy("always")),  # Docker tolerates a zero count anywhere
])
def test_restart(text: str, policy: RestartPolicy) -> None:
    assert parse_restart(text) == policy


@pytest.mark.parametrize(("text", "needle"), [
    ("sometimes", "expected no, always"), ("on-failure:-1", "non-negative integer"),
    ("on-failure:x", "non-negative integer"), ("always:3", "only be used with 'on-failure'"),
    ("no:1", "only be used with 'on-failure'"), (":3", "no policy"), ("on-failure:1:2", "non-negative"),
])
def test_bad_restart(text: str, needle: str) -> None:
    assert_invalid(parse_restart, text, "--restart", needle)


@pytest.mark.parametrize(("text", "name"), [
    ("SIGTERM", "SIGTERM"), ("TERM", "SIGTERM"), ("term", "SIGTERM"), ("sigquit", "SIGQUIT"), ("9", "SIGKILL"),
    ("15", "SIGTERM"), ("SIGIOT", "SIGABRT"), ("RTMIN", "SIGRTMIN"), ("SIGRTMIN+3", "SIGRTMIN+3"),
    ("SIGRTMAX", "SIGRTMAX"), ("SIGRTMAX-1", "SIGRTMIN+29"), ("37", "SIGRTMIN+3"), ("SIGWINCH", "SIGWINCH"),
])
def test_stop_signal(text: str, name: str) -> None:
    assert parse_stop_signal(text) == name


@pytest.mark.parametrize("text", ["SIGFOO", "FOO", "0", "65", "999", "", "-9", "SIGRTMAX+1"])
def test_bad_stop_signal(text: str) -> None:
    assert_invalid(parse_stop_signal, text, "--stop-signal")


@pytest.mark.parametrize(("text", "user"), [
    ("root", "root"), ("1000", "1000"), ("1000:1000", "1000:1000"), ("www-data:adm", "www-data:adm"),
    ("nobody:65534", "nobody:65534"), ("", None), (" app ", "app"),
])
def test_user(text: str, user: str | None) -> None:
    assert parse_user(text) == user


@pytest.mark.parametrize("text", ["a:b:c", "name:", ":group", "a b", "2147483648", "0:99999999999"])
def test_bad_user(text: str) -> None:
    assert_invalid(parse_user, text, "--user")


def test_ints() -> None:
    assert parse_pids_limit("100") == 100
    assert parse_pids_limit("-1") is None  # unlimited
    assert parse_pids_limit("0") is None
    assert parse_stop_timeout("30") == 30
    assert parse_stop_timeout("-1") == -1
    assert_invalid(parse_pids_limit, "lots", "--pids-limit", "expected an integer")
    assert_invalid(parse_pids_limit, "-2", "--pids-limit", "at least -1")
    assert_invalid(parse_stop_timeout, "1.5", "--stop-timeout", "expected an integer")


def test_names_hostnames_workdirs() -> None:
    assert parse_name("mysql_container") == "mysql_container"
    assert parse_name("/web.app-1") == "web.app-1"
    for bad in ("a", "-x", "has space", "a/b", "容器"):
        assert_invalid(parse_name, bad, "--name")
    assert parse_hostname("db.example") == "db.example"
    for bad in ("-x", "a b", "x" * 65, "a/b"):
        assert_invalid(parse_hostname, bad, "--hostname")
    assert parse_workdir("/srv/app") == "/srv/app"
    assert parse_workdir("") is None
    assert_invalid(parse_workdir, "srv", "--workdir", "absolute path")


def test_capabilities() -> None:
    assert parse_capabilities(["net_admin", "CAP_SYS_TIME", "Cap_Chown", "NET_ADMIN"]) == (
        "NET_ADMIN", "SYS_TIME", "CHOWN")
    assert parse_capabilities(["all"], "--cap-drop") == ("ALL",)
    assert parse_capabilities(["checkpoint_restore", "BPF", "perfmon"]) == ("CHECKPOINT_RESTORE", "BPF", "PERFMON")
    with pytest.raises(InvalidArgument, match=r'^invalid --cap-drop value "CAP_FOO": unknown capability$'):
        parse_capabilities(["chown", "CAP_FOO"], "--cap-drop")
    with pytest.raises(InvalidArgument, match="--cap-add"):
        parse_capabilities(["NET ADMIN"])


@pytest.mark.parametrize(("text", "number"), [("SIGTERM", 15), ("kill", 9), ("9", 9), ("SIGRTMIN+3", 37),
                                              ("SIGRTMAX", 64), ("SIGIOT", 6)])
def test_signal_number(text: str, number: int) -> None:
    assert parse_signal_number(text) == number
    assert parse_signal_number(parse_stop_signal(text)) == number  # a canonical name parses back


def test_runtime_signals_parse_what_stop_signal_accepts() -> None:
    from berth.runtime.errors import InvalidContainerConfig
    from berth.runtime.liveness import parse_signal

    assert parse_signal(parse_stop_signal("rtmin+3")) == 37
    assert parse_signal(None) == 15 and parse_signal("", 9) == 9 and parse_signal(10) == 10
    with pytest.raises(InvalidContainerConfig, match="invalid signal: SIGFOO"):
        parse_signal("SIGFOO")
