"""effective_config: Docker's container Config from the image config and the spec."""

from __future__ import annotations

import pytest

from berth.containers.merge import effective_config
from berth.containers.spec import ContainerSpec, Mount, PortBinding
from berth.errors import InvalidArgument

CID = "0123456789abcdef" * 4
NGINX = {
    "Env": ["PATH=/usr/sbin:/usr/bin", "NGINX_VERSION=1.25"],
    "Entrypoint": ["/docker-entrypoint.sh"],
    "Cmd": ["nginx", "-g", "daemon off;"],
    "ExposedPorts": {"80/tcp": {}},
    "Labels": {"maintainer": "NGINX", "tier": "web"},
    "StopSignal": "SIGQUIT",
    "Volumes": {"/var/cache/nginx": {}},
    "WorkingDir": "/",
    "User": "",
}
BUSYBOX = {"Env": ["PATH=/bin"], "Cmd": ["sh"]}
NO_CMD = {"Env": ["PATH=/bin"]}


def cfg(image: dict | None, **spec: object) -> dict:
    return effective_config(image, ContainerSpec(image="img", **spec), CID)  # type: ignore[arg-type]


# (image, --entrypoint, command) -> (Entrypoint, Cmd), as the Dockerfile reference's ENTRYPOINT/CMD table
@pytest.mark.parametrize(
    ("image", "entrypoint", "command", "expected"),
    [
        (BUSYBOX, None, None, (None, ["sh"])),  # the image's CMD
        (BUSYBOX, None, ("echo", "hi"), (None, ["echo", "hi"])),  # a command replaces CMD
        (BUSYBOX, ("/bin/true",), None, (["/bin/true"], None)),  # --entrypoint drops the image's CMD
        (BUSYBOX, ("ls",), ("-l",), (["ls"], ["-l"])),
        (BUSYBOX, (), ("ls",), (None, ["ls"])),  # --entrypoint "" with a command
        (NGINX, None, None, (["/docker-entrypoint.sh"], ["nginx", "-g", "daemon off;"])),
        (NGINX, None, ("bash",), (["/docker-entrypoint.sh"], ["bash"])),  # the ENTRYPOINT stays
        (NGINX, ("sh", "-c"), None, (["sh", "-c"], None)),
        (NGINX, (), ("nginx",), (None, ["nginx"])),  # "" clears the image's ENTRYPOINT
        (NGINX, None, (), (["/docker-entrypoint.sh"], ["nginx", "-g", "daemon off;"])),  # () = no command
        ({"Entrypoint": ["/init"]}, None, None, (["/init"], None)),
        (NO_CMD, None, ("sh",), (None, ["sh"])),
    ],
)
def test_entrypoint_and_cmd(image: dict, entrypoint, command, expected) -> None:
    c = cfg(image, entrypoint=entrypoint, command=command)
    assert (c["Entrypoint"], c["Cmd"]) == expected


@pytest.mark.parametrize(("image", "entrypoint", "command"), [
    (NO_CMD, None, None), (BUSYBOX, (), None), (NGINX, (), None), (None, None, None), ({}, ("",), None),
])
def test_nothing_to_run(image, entrypoint, command) -> None:
    with pytest.raises(InvalidArgument, match="no command specified"):
        cfg(image, entrypoint=entrypoint, command=command)


def test_env_user_first_then_image_remainder() -> None:
    c = cfg(NGINX, env=(("A", "1"), ("NGINX_VERSION", "2.0"), ("B", "2")))
    assert c["Env"] == ["A=1", "NGINX_VERSION=2.0", "B=2", "PATH=/usr/sbin:/usr/bin"]
    assert cfg(NGINX)["Env"] == NGINX["Env"]
    assert cfg(NO_CMD, command=("sh",), env=(("PATH", "/x"), ("PATH", "/y")))["Env"] == ["PATH=/y"]
    assert cfg({"Cmd": ["sh"]})["Env"] is None


def test_labels_merge_user_wins_sorted() -> None:
    c = cfg(NGINX, labels=(("tier", "db"), ("app", "x")))
    assert c["Labels"] == {"app": "x", "maintainer": "NGINX", "tier": "db"}
    assert list(c["Labels"]) == ["app", "maintainer", "tier"]
    assert cfg(BUSYBOX)["Labels"] == {}


def test_exposed_ports_and_volumes() -> None:
    c = cfg(NGINX, ports=(PortBinding(443, host_port=8443), PortBinding(80, host_port=8080),
                          PortBinding(53, "udp")),
            mounts=(Mount("volume", "/anon"), Mount("volume", "/named", "data"), Mount("bind", "/b", "/host"),
                    Mount("tmpfs", "/run")))
    assert c["ExposedPorts"] == {"443/tcp": {}, "53/udp": {}, "80/tcp": {}}
    assert list(c["ExposedPorts"]) == ["443/tcp", "53/udp", "80/tcp"]  # Go's sorted map keys
    assert c["Volumes"] == {"/anon": {}, "/var/cache/nginx": {}}
    plain = cfg(BUSYBOX)
    assert "ExposedPorts" not in plain and plain["Volumes"] is None


def test_scalars_and_defaults() -> None:
    c = cfg(NGINX)
    assert c["Hostname"] == CID[:12]
    assert (c["User"], c["WorkingDir"], c["StopSignal"], c["Image"]) == ("", "/", "SIGQUIT", "img")
    assert "StopTimeout" not in c and c["Domainname"] == "" and c["OnBuild"] is None
    c = cfg(NGINX, hostname="db1", user="nginx:adm", workdir="/srv", stop_signal="SIGTERM", stop_timeout=30,
            tty=True, interactive=True)
    assert (c["Hostname"], c["User"], c["WorkingDir"], c["StopSignal"], c["StopTimeout"]) == (
        "db1", "nginx:adm", "/srv", "SIGTERM", 30)
    assert (c["Tty"], c["OpenStdin"], c["AttachStdin"], c["StdinOnce"], c["AttachStdout"]) == (
        True, True, False, False, False)
    assert "StopSignal" not in cfg(BUSYBOX)
    assert cfg({"Cmd": ["sh"], "User": "app"})["User"] == "app"


def test_attached_streams() -> None:
    spec = ContainerSpec(image="busybox", interactive=True, tty=True, command=("sh",))
    c = effective_config(BUSYBOX, spec, CID, detach=False)
    assert (c["AttachStdin"], c["AttachStdout"], c["AttachStderr"], c["StdinOnce"]) == (True, True, True, True)
    c = effective_config(BUSYBOX, ContainerSpec(image="busybox"), CID, detach=False)
    assert (c["AttachStdin"], c["AttachStdout"], c["StdinOnce"]) == (False, True, False)


def test_host_network_hostname() -> None:
    spec = ContainerSpec(image="busybox", network="host")
    assert effective_config(BUSYBOX, spec, CID, host_hostname="node7")["Hostname"] == "node7"
    assert effective_config(BUSYBOX, spec, CID)["Hostname"]  # the real host name


def test_deterministic_and_pure() -> None:
    image = {k: (v.copy() if hasattr(v, "copy") else v) for k, v in NGINX.items()}
    spec = ContainerSpec(image="nginx", env=(("A", "1"),), labels=(("x", "y"),), ports=(PortBinding(81),))
    first = effective_config(image, spec, CID)
    assert effective_config(image, spec, CID) == first
    assert image == NGINX  # the image config is not modified
    assert list(first) == list(effective_config(image, spec, CID))
    assert list(first)[:7] == ["Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",
                               "ExposedPorts"]
