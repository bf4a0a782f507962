"""``ContainerSpec``: the desired container, as value objects.

Produced by the CLI from ``berth run`` flags and (later) by the Ansible
module from its options; consumed by the runtime, which merges it with the
image config exactly as Docker does (see ``berth.runtime.oci``). Every field
left ``None`` means "as the image says" (Docker's semantics), which is what
lets the container module compare desired vs actual without recreate loops.
"""

from __future__ import annotations

from typing import Literal

from berth.structs import dataclass, field

MountType = Literal["bind", "volume", "tmpfs"]


@dataclass(frozen=True)
class Mount:
    type: MountType
    target: str  # absolute path inside the container
    source: str = ""  # host path (bind), volume name ("" = anonymous volume), unused for tmpfs
    read_only: bool = False
    options: tuple[str, ...] = ()  # tmpfs options ("size=67108864", "mode=1777"), bind propagation, "z", "nocopy"
    # -v creates a missing host directory (Docker's Binds); --mount type=bind refuses ("bind source path
    # does not exist"), as Docker's Mounts do. Only meaningful for binds.
    create_host_path: bool = True


@dataclass(frozen=True)
class RestartPolicy:
    name: Literal["no", "on-failure", "always", "unless-stopped"] = "no"
    max_retries: int = 0  # on-failure only; 0 = unlimited


@dataclass(frozen=True)
class PortBinding:
    container_port: int
    protocol: Literal["tcp", "udp"] = "tcp"
    host_ip: str = ""  # "" = all addresses
    host_port: int = 0  # 0 = a random free port
    # -p 8000-8010:80: host_port..host_port_end is the range to pick a free port from (0 = no range)
    host_port_end: int = 0


@dataclass(frozen=True)
class ContainerSpec:
    image: str
    name: str | None = None
    command: tuple[str, ...] | None = None  # None: the image's Cmd
    entrypoint: tuple[str, ...] | None = None  # None: the image's; () clears it (--entrypoint "")
    env: tuple[tuple[str, str], ...] = ()  # in order; merged over the image's Env by key
    workdir: str | None = None
    user: str | None = None  # "name", "uid", "uid:gid", "name:group"
    hostname: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    tty: bool = False
    interactive: bool = False  # -i: keep stdin open
    mounts: tuple[Mount, ...] = ()
    volumes_from: tuple[str, ...] = ()  # "name[:ro|:rw]"
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    auto_remove: bool = False  # --rm
    memory: int | None = None  # bytes
    nano_cpus: int | None = None  # --cpus 1.5 -> 1_500_000_000
    pids_limit: int | None = None
    read_only: bool = False
    cap_add: tuple[str, ...] = ()  # "NET_ADMIN" (no CAP_ prefix), or "ALL"
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    stop_signal: str | None = None  # None: the image's StopSignal, else SIGTERM
    stop_timeout: int | None = None  # seconds; None: 10
    init: bool = False
    ports: tuple[PortBinding, ...] = ()  # wired by the networking issue
    publish_all: bool = False
    network: str = "bridge"  # bridge | host | none | <user network>; wired by the networking issue
    dns: tuple[str, ...] = ()
    extra_hosts: tuple[tuple[str, str], ...] = ()  # --add-host name:ip
    ip: str | None = None  # --ip: static IPv4 address on a user network
    network_aliases: tuple[str, ...] = ()  # --network-alias: extra DNS names on a user network
    # --security-opt, normalised (berth.containers.security): "seccomp=unconfined", "seccomp={json}",
    # "no-new-privileges"...; recorded as HostConfig.SecurityOpt
    security_opt: tuple[str, ...] = ()
