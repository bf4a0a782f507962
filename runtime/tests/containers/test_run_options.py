"""`berth run` flags -> ContainerSpec, for the seeds' command lines."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import pytest

from berth.cli.run_options import add_run_options, spec_from_args
from berth.containers.spec import ContainerSpec, Mount, PortBinding, RestartPolicy
from berth.errors import InvalidArgument


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="berth")
    sub = root.add_subparsers(dest="verb")
    for verb in ("run", "create"):
        add_run_options(sub.add_parser(verb, add_help=False))
    return root


def args(line: str) -> argparse.Namespace:
    return parser().parse_args(shlex.split(line))


def spec(line: str) -> ContainerSpec:
    return spec_from_args(args(line))


def test_seed_mysql() -> None:
    a = args("run -d -p 3307:3306 -v /data/mysql:/var/lib/mysql -e MYSQL_ROOT_PASSWORD=123456 "
             "--name mysql --restart always mysql:5.6")
    assert a.detach
    assert spec_from_args(a) == ContainerSpec(
        image="mysql:5.6", name="mysql", env=(("MYSQL_ROOT_PASSWORD", "123456"),),
        mounts=(Mount("bind", "/var/lib/mysql", "/data/mysql"),), restart=RestartPolicy("always"),
        ports=(PortBinding(3306, host_port=3307),))


def test_seed_interactive_rm() -> None:
    a = args('run -it --rm busybox sh -c "echo hi"')
    assert not a.detach
    assert spec_from_args(a) == ContainerSpec(image="busybox", command=("sh", "-c", "echo hi"), tty=True,
                                              interactive=True, auto_remove=True)


def test_seed_bind_and_volumes_from() -> None:
    assert spec("run --name c1 -v /root/docker/c1:/c1 -d busybox") == ContainerSpec(
        image="busybox", name="c1", mounts=(Mount("bind", "/c1", "/root/docker/c1"),))
    assert spec("run -d --volumes-from test_1 --name test_2 busybox") == ContainerSpec(
        image="busybox", name="test_2", volumes_from=("test_1",))
    assert spec("run -it --name=test_1 -v /volume nginx /bin/bash") == ContainerSpec(
        image="nginx", name="test_1", command=("/bin/bash",), tty=True, interactive=True,
        mounts=(Mount("volume", "/volume"),))


def test_seed_ports_and_restart() -> None:
    s = spec("run -d -p 80:80 -p 127.0.0.1::443 --restart on-failure:3 nginx")
    assert s.ports == (PortBinding(80, host_port=80), PortBinding(443, host_ip="127.0.0.1"))
    assert s.restart == RestartPolicy("on-failure", 3)


def test_seed_combined_short_flags_and_command_flags() -> None:
    s = spec("run -id --name=app_server nginx:v3 /bin/bash")
    assert (s.interactive, s.tty, s.name, s.command) == (True, False, "app_server", ("/bin/bash",))
    # flags after IMAGE belong to the command, as in Docker
    s = spec("run -d centos:latest /bin/bash -c 'while true; do echo hello; sleep 1; done' -e X=1 --rm")
    assert s.command == ("/bin/bash", "-c", "while true; do echo hello; sleep 1; done", "-e", "X=1", "--rm")
    assert not s.auto_remove and s.env == ()
    assert spec("run -p 80:80 alexwoo/nginx nginx -g 'daemon off;'").command == ("nginx", "-g", "daemon off;")
    assert spec("run -dp 4000:80 friendlyhello").ports == (PortBinding(80, host_port=4000),)


def test_every_flag(tmp_path: Path) -> None:
    envf = tmp_path / "env"
    envf.write_text("FROM_FILE=1\nA=file\n")
    labf = tmp_path / "labels"
    labf.write_text("team=db\n")
    s = spec(
        f"create --name web -i -t -e A=1 --env-file {envf} -w /srv -u app:staff --entrypoint /init "
        "-v data:/data:ro --mount type=tmpfs,target=/cache,tmpfs-size=1m --volumes-from other:ro "
        "--restart unless-stopped -h web1 -l tier=front --label-file " + str(labf) + " -m 1g --cpus 0.5 "
        "--pids-limit 100 --read-only --tmpfs /run:size=64m --cap-add net_admin --cap-drop ALL --privileged "
        "--stop-signal QUIT --stop-timeout 5 --init -p 8080:80/udp -P --net mynet --ip 172.20.0.9 "
        "--network-alias www --dns 1.1.1.1 --add-host db:10.0.0.2 registry:2 serve --port 5000")
    assert s == ContainerSpec(
        image="registry:2", name="web", command=("serve", "--port", "5000"), entrypoint=("/init",),
        env=(("FROM_FILE", "1"), ("A", "1")), workdir="/srv", user="app:staff", hostname="web1",
        labels=(("team", "db"), ("tier", "front")), tty=True, interactive=True,
        mounts=(Mount("volume", "/data", "data", True), Mount("tmpfs", "/cache", options=("size=1048576",),
                                                              create_host_path=False),
                Mount("tmpfs", "/run", options=("size=67108864",))),
        volumes_from=("other:ro",), restart=RestartPolicy("unless-stopped"), memory=1024**3,
        nano_cpus=500_000_000, pids_limit=100, read_only=True, cap_add=("NET_ADMIN",), cap_drop=("ALL",),
        privileged=True, stop_signal="SIGQUIT", stop_timeout=5, init=True,
        ports=(PortBinding(80, "udp", host_port=8080),), publish_all=True, network="mynet", dns=("1.1.1.1",),
        extra_hosts=(("db", "10.0.0.2"),), ip="172.20.0.9", network_aliases=("www",))


def test_entrypoint_forms() -> None:
    assert spec('run --entrypoint "" busybox ls').entrypoint == ()
    assert spec("run --entrypoint= busybox ls").entrypoint == ()
    assert spec('run --entrypoint "sh -c" busybox').entrypoint == ("sh -c",)  # not split, as Docker
    assert spec("run busybox").entrypoint is None and spec("run busybox").command is None


def test_defaults_and_zero_limits() -> None:
    s = spec("run -m 0 --pids-limit -1 --net default -u '' -w '' busybox")
    assert (s.memory, s.pids_limit, s.network, s.user, s.workdir) == (None, None, "bridge", None, None)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("run --restart always --rm busybox", 'invalid --restart value "always": conflicting options'),
        ("run --restart sometimes busybox", 'invalid --restart value "sometimes"'),
        ("run -m 12q busybox", 'invalid --memory value "12q": expected a number with an optional unit'),
        ("run --cpus 0 busybox", 'invalid --cpus value "0"'),
        ("run -v ./data:/data busybox", 'invalid --volume value "./data:/data"'),
        ("run --mount type=bind,target=/x busybox", 'invalid --mount value "type=bind,target=/x"'),
        ("run -p 0 busybox", 'invalid --publish value "0"'),
        ("run -p 99999:80 busybox", 'invalid --publish value "99999:80"'),
        ("run --name x busybox", 'invalid --name value "x"'),
        ("run --cap-add FOO busybox", 'invalid --cap-add value "FOO"'),
        ("run --stop-signal SIGNOPE busybox", 'invalid --stop-signal value "SIGNOPE"'),
        ("run --stop-timeout soon busybox", 'invalid --stop-timeout value "soon"'),
        ("run --ip 10.0.0.2 busybox", "user-defined networks only"),
        ("run --network-alias www busybox", 'invalid --network-alias value "www"'),
        ("run --dns nope busybox", 'invalid --dns value "nope"'),
        ("run --add-host nope busybox", 'invalid --add-host value "nope"'),
        ("run -v /a:/x -v /b:/x busybox", 'invalid --volume value "/b:/x": duplicate mount point /x'),
        ("run -v /a:/x --tmpfs /x busybox", 'invalid --tmpfs value "/x": duplicate mount point'),
        ("run -w relative busybox", 'invalid --workdir value "relative"'),
        ("run -h 'bad host' busybox", 'invalid --hostname value "bad host"'),
        ("run --volumes-from c:rx busybox", 'invalid --volumes-from value "c:rx"'),
        ("run --env-file /nonexistent/env busybox", 'invalid --env-file value "/nonexistent/env"'),
        ("run '' ", 'invalid IMAGE value ""'),
    ],
)
def test_bad_input_names_flag_and_value(line: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        spec(line)
    assert message in str(info.value)


def test_help_works_and_h_is_hostname(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        args("run --help")
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "-h HOSTNAME, --hostname HOSTNAME" in out and "IMAGE" in out and "--publish-all" in out
    assert args("run -h box busybox").hostname == "box"
    assert args("run busybox --help").command == ["--help"]  # after IMAGE: the command's own flag


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for line in ("run", "run -d", "run --bogus busybox", "run --na x busybox"):
        with pytest.raises(SystemExit) as info:
            args(line)
        assert info.value.code == 2, line


def test_parser_with_help_is_refused() -> None:
    with pytest.raises(ValueError, match="add_help=False"):
        add_run_options(argparse.ArgumentParser())
