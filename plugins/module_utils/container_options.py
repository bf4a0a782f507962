# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of ``berth.core.container`` / ``container_info`` (names as
``community.docker.docker_container``), and the ``ContainerSpec`` a task asks for.

The spec is built with the engine's own ``berth run`` parsers (``berth.containers.parse``),
each told the option's name, so a bad value fails as ``invalid memory value "12q": ...`` and
what a task creates is exactly what ``berth run`` with the same values would.
"""

from __future__ import annotations

import csv
import io
import shlex
import typing

from ansible_collections.berth.core.plugins.module_utils.compat import field_validator, model_validator
from ansible_collections.berth.core.plugins.module_utils.options import ModuleOptions, option

#: the networks a container cannot be connected to beside its network_mode
SPECIAL_MODES = ("host", "none")
COMPARISON_MODES = ("strict", "ignore", "allow_more_present")


def _text(value) -> str:
    """A YAML scalar as the string a container sees: ``true`` not ``True`` (YAML's spelling)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class MountOption(ModuleOptions):
    target: str
    source: str | None = None
    type: typing.Literal["bind", "volume", "tmpfs"] = "volume"
    read_only: bool | None = None
    propagation: typing.Literal["private", "rprivate", "shared", "rshared", "slave", "rslave"] | None = None
    no_copy: bool | None = None
    tmpfs_size: str | None = None
    tmpfs_mode: str | None = None

    def as_flag(self) -> str:
        """The ``--mount`` value saying the same (parsed by the engine's ``parse_mount``)."""
        fields = [f"type={self.type}", f"target={self.target}"]
        if self.source:
            fields.append(f"source={self.source}")
        if self.read_only:
            fields.append("readonly")
        for key, value in (("bind-propagation", self.propagation), ("tmpfs-size", self.tmpfs_size),
                           ("tmpfs-mode", self.tmpfs_mode)):
            if value is not None:
                fields.append(f"{key}={value}")
        if self.no_copy:
            fields.append("volume-nocopy")
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(fields)
        return out.getvalue()


class NetworkOption(ModuleOptions):
    name: str
    aliases: list[str] | None = None
    ipv4_address: str | None = None


class ContainerOptions(ModuleOptions):
    name: str
    state: typing.Literal["absent", "present", "stopped", "started", "restarted"] = "started"
    image: str | None = None
    pull: typing.Literal["missing", "always", "never"] = "missing"
    image_comparison: typing.Literal["desired-image", "current-image"] = "desired-image"
    command: typing.Any = None
    entrypoint: list[str] | None = None
    env: dict[str, typing.Any] | None = None
    env_file: str | None = None
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    labels: dict[str, typing.Any] | None = None
    tty: bool | None = None
    interactive: bool | None = None
    volumes: list[str] | None = None
    mounts: list[MountOption] | None = None
    tmpfs: list[str] | None = None
    volumes_from: list[str] | None = None
    restart_policy: typing.Literal["no", "on-failure", "always", "unless-stopped"] | None = None
    restart_retries: int | None = None
    auto_remove: bool | None = None
    memory: str | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    read_only: bool | None = None
    capabilities: list[str] | None = None
    cap_drop: list[str] | None = None
    privileged: bool | None = None
    security_opts: list[str] | None = None
    stop_signal: str | None = None
    stop_timeout: int | None = None
    init: bool | None = None
    published_ports: list[str] | None = option(None, aliases=["ports"])
    publish_all_ports: bool | None = None
    network_mode: str | None = None
    networks: list[NetworkOption] | None = None
    networks_cli_compatible: bool = True
    dns_servers: list[str] | None = None
    etc_hosts: dict[str, str] | None = None
    comparisons: dict[str, str] | None = None
    recreate: bool = False
    keep_volumes: bool = True

    @field_validator("command", mode="before")
    @classmethod
    def _command(cls, value):
        # a string is split as a shell would (community.docker's command_handling: correct)
        if value is None or isinstance(value, list):
            return None if value is None else [_text(v) for v in value]
        if isinstance(value, str):
            return shlex.split(value)
        raise ValueError("expected a string or a list of strings")

    @field_validator("env", "labels", mode="before")
    @classmethod
    def _stringify(cls, value):
        return None if value is None else {str(k): _text(v) for k, v in value.items()}

    @field_validator("comparisons")
    @classmethod
    def _comparisons(cls, value):
        from ansible_collections.berth.core.plugins.module_utils.container_compare import check_comparisons

        return None if value is None else check_comparisons(value)

    @model_validator(mode="after")
    def _conflicts(self):
        mode = self.network_mode
        if mode in SPECIAL_MODES and (self.published_ports or self.publish_all_ports):
            raise ValueError(f"published_ports: ports cannot be published with network_mode {mode} "
                             "(the container has no network of its own)")
        if mode in SPECIAL_MODES and self.networks:
            raise ValueError(f"networks: a container with network_mode {mode} cannot join networks")
        if self.auto_remove and self.restart_policy not in (None, "no"):
            raise ValueError(f"restart_policy: {self.restart_policy} conflicts with auto_remove")
        return self


class ContainerInfoOptions(ModuleOptions):
    name: str


# -- the spec the task asks for ------------------------------------------------------------
def network_mode(opts: ContainerOptions) -> str | None:
    """``network_mode``, or with ``networks_cli_compatible`` the first of ``networks`` (as
    ``docker run --network``); None: not given (a new container gets the default bridge)."""
    if opts.network_mode is not None:
        return "bridge" if opts.network_mode in ("default", "") else opts.network_mode
    if opts.networks and opts.networks_cli_compatible:
        return opts.networks[0].name
    return None


def primary_network(opts: ContainerOptions, mode: str) -> NetworkOption | None:
    """The ``networks`` entry of the network the container is created on (its fixed address and aliases
    go into the spec)."""
    return next((n for n in opts.networks or () if n.name == mode), None)


def desired_spec(opts: ContainerOptions, env_file_pairs=()):
    """The ``ContainerSpec`` of the task; options not given keep the engine's defaults (the
    image's, for command, entrypoint, user...). Raises ``InvalidArgument`` naming the option."""
    from berth.containers import parse as p
    from berth.containers.spec import ContainerSpec, RestartPolicy

    mode = network_mode(opts) or "bridge"
    primary = primary_network(opts, mode)
    env = dict(env_file_pairs)
    env.update(opts.env or {})
    restart = RestartPolicy()
    if opts.restart_policy is not None or opts.restart_retries:
        value = opts.restart_policy or "no"
        if opts.restart_retries:
            value += f":{opts.restart_retries}"
        restart = p.parse_restart(value, "restart_policy")
    return ContainerSpec(
        image=opts.image or "",
        name=p.parse_name(opts.name, "name"),
        command=tuple(opts.command) or None if opts.command is not None else None,
        entrypoint=tuple(opts.entrypoint) if opts.entrypoint is not None else None,
        env=tuple(env.items()),
        workdir=p.parse_workdir(opts.working_dir, "working_dir") if opts.working_dir else None,
        user=p.parse_user(opts.user, "user") if opts.user is not None else None,
        hostname=p.parse_hostname(opts.hostname, "hostname") if opts.hostname else None,
        labels=p.parse_labels(f"{k}={v}" for k, v in (opts.labels or {}).items()),
        tty=bool(opts.tty),
        interactive=bool(opts.interactive),
        mounts=desired_mounts(opts),
        volumes_from=tuple(dict.fromkeys(p.parse_volumes_from(v, "volumes_from") for v in opts.volumes_from or ())),
        restart=restart,
        auto_remove=bool(opts.auto_remove),
        memory=(p.parse_memory(opts.memory, "memory") or None) if opts.memory is not None else None,
        nano_cpus=p.parse_cpus(str(opts.cpus), "cpus") if opts.cpus is not None else None,
        pids_limit=p.parse_pids_limit(str(opts.pids_limit), "pids_limit") if opts.pids_limit is not None else None,
        read_only=bool(opts.read_only),
        cap_add=p.parse_capabilities(opts.capabilities or (), "capabilities"),
        cap_drop=p.parse_capabilities(opts.cap_drop or (), "cap_drop"),
        privileged=bool(opts.privileged),
        security_opt=p.parse_security_opts(opts.security_opts or (), "security_opts"),
        stop_signal=p.parse_stop_signal(opts.stop_signal, "stop_signal") if opts.stop_signal else None,
        stop_timeout=p.parse_stop_timeout(str(opts.stop_timeout), "stop_timeout")
        if opts.stop_timeout is not None else None,
        init=bool(opts.init),
        ports=desired_ports(opts),
        publish_all=bool(opts.publish_all_ports),
        network=mode,
        dns=tuple(dict.fromkeys(p.parse_ip(v, "dns_servers") for v in opts.dns_servers or ())),
        extra_hosts=tuple(p.parse_add_host(f"{h}:{ip}", "etc_hosts") for h, ip in (opts.etc_hosts or {}).items()),
        ip=p.parse_ip(primary.ipv4_address, "networks.ipv4_address", version=4)
        if primary and primary.ipv4_address else None,
        network_aliases=tuple(dict.fromkeys(primary.aliases or ())) if primary else (),
    )


def desired_ports(opts: ContainerOptions) -> tuple:
    """``published_ports`` as bindings; ``0.0.0.0`` is the same as no address (every IPv4 address)."""
    from berth import structs
    from berth.containers.parse import parse_publish

    out = []
    for value in opts.published_ports or ():
        for binding in parse_publish(value, "published_ports"):
            if binding.host_ip == "0.0.0.0":
                binding = structs.replace(binding, host_ip="")
            out.append(binding)
    return tuple(dict.fromkeys(out))


def desired_mounts(opts: ContainerOptions) -> tuple:
    """``volumes`` (``-v``), ``mounts`` (``--mount``), ``tmpfs`` (``--tmpfs``), in that order; one container
    path twice is refused, as ``berth run`` does."""
    from berth.containers.parse import invalid, parse_mount, parse_tmpfs, parse_volume

    seen: dict[str, str] = {}
    out = []
    sources = (("volumes", opts.volumes or (), parse_volume),
               ("mounts", [m.as_flag() for m in opts.mounts or ()], parse_mount),
               ("tmpfs", opts.tmpfs or (), parse_tmpfs))
    for name, values, parse in sources:
        for i, value in enumerate(values):
            where = f"{name}[{i}]"
            mount = parse(value, where)
            if mount.target in seen:
                raise invalid(where, value, f"duplicate mount point {mount.target} (also in {seen[mount.target]})")
            seen[mount.target] = where
            out.append(mount)
    return tuple(out)
