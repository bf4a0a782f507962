"""The container's ``Config`` (as ``docker inspect`` shows it) from the image config and a spec.

A transcription of moby's ``merge()`` (daemon/commit.go) plus ``mergeAndVerifyConfig``
(daemon/create.go) and the CLI's contribution (published ports become exposed
ports, anonymous ``-v`` targets become Volumes). Deterministic: same inputs,
same dict, same key order, so the container module can compare desired vs actual
without recreate loops.
"""

from __future__ import annotations

import os
from typing import Any

from berth.containers.spec import ContainerSpec
from berth.errors import InvalidArgument


def effective_config(image_config: dict[str, Any] | None, spec: ContainerSpec, container_id: str, *,
                     detach: bool = True, host_hostname: str | None = None) -> dict[str, Any]:
    """Docker's container ``Config`` section; raises ``InvalidArgument`` when there is nothing to run."""
    image = image_config or {}
    entrypoint, cmd = command_and_entrypoint(image, spec)
    attach_stdin = spec.interactive and not detach
    config: dict[str, Any] = {
        "Hostname": _hostname(spec, container_id, host_hostname),
        # Docker's CLI no longer splits "-h a.b" into Hostname and Domainname
        "Domainname": "",
        # -u wins; otherwise the image's USER (an empty -u means "not given", as in Docker)
        "User": spec.user or image.get("User") or "",
        # -d detaches every stream; attached runs get stdout/stderr, and stdin with -i
        "AttachStdin": attach_stdin,
        "AttachStdout": not detach,
        "AttachStderr": not detach,
    }
    exposed = _exposed_ports(image, spec)
    if exposed:  # omitempty in Docker's JSON
        config["ExposedPorts"] = exposed
    config.update({
        "Tty": spec.tty,
        "OpenStdin": spec.interactive,
        # the CLI closes stdin after the first attach only when it attaches stdin
        "StdinOnce": attach_stdin,
        "Env": merge_env(image.get("Env") or [], spec.env) or None,
        "Cmd": cmd,
    })
    if image.get("Healthcheck"):  # the image's HEALTHCHECK applies unchanged (no --health-* flags yet)
        config["Healthcheck"] = image["Healthcheck"]
    config.update({
        # the reference as the user wrote it, not the resolved ID
        "Image": spec.image,
        "Volumes": _volumes(image, spec),
        # -w wins; otherwise the image's WORKDIR
        "WorkingDir": spec.workdir or image.get("WorkingDir") or "",
        "Entrypoint": entrypoint,
        # ONBUILD triggers belong to builds, never to containers
        "OnBuild": None,
        "Labels": _labels(image, spec),
    })
    stop_signal = spec.stop_signal or image.get("StopSignal")
    if stop_signal:  # --stop-signal wins over the image's STOPSIGNAL; omitempty
        config["StopSignal"] = stop_signal
    if spec.stop_timeout is not None:  # only recorded when given (a pointer in Docker)
        config["StopTimeout"] = spec.stop_timeout
    return config


def command_and_entrypoint(image: dict[str, Any], spec: ContainerSpec) -> tuple[list[str] | None, list[str] | None]:
    """(Entrypoint, Cmd) exactly as moby: returns None for an absent list."""
    # --entrypoint "" reaches the daemon as [""]: a non-empty list, so the image's Cmd is not inherited
    user_ep = None if spec.entrypoint is None else (list(spec.entrypoint) or [""])
    # an empty command counts as no command (moby tests len(Cmd) == 0)
    user_cmd = list(spec.command) if spec.command else None
    if user_ep is None:
        entrypoint = list(image.get("Entrypoint") or []) or None  # the image's ENTRYPOINT stays
        cmd = user_cmd or list(image.get("Cmd") or []) or None  # a command replaces CMD, else CMD stays
    else:
        entrypoint = user_ep  # --entrypoint replaces ENTRYPOINT ...
        cmd = user_cmd  # ... and drops the image's CMD: its arguments were meant for the old entrypoint
    if entrypoint == [""]:
        entrypoint = None  # mergeAndVerifyConfig resets [""] to "no entrypoint"
    if not entrypoint and not cmd:
        raise InvalidArgument("no command specified", image=spec.image)
    return entrypoint, cmd


def merge_env(image_env: list[str], overrides: tuple[tuple[str, str], ...]) -> list[str]:
    """moby merge(): the user's variables first (in order, last duplicate wins), then the image's
    variables whose names the user did not set (in image order)."""
    user = dict(overrides)  # duplicates collapse: the last value wins, at the first position
    out = [f"{k}={v}" for k, v in user.items()]
    out.extend(e for e in image_env if e.partition("=")[0] not in user)
    return out


def _hostname(spec: ContainerSpec, container_id: str, host_hostname: str | None) -> str:
    if spec.hostname:
        return spec.hostname
    if spec.network == "host":  # the host's UTS namespace: Docker reports the host's name
        return host_hostname if host_hostname is not None else os.uname().nodename
    return container_id[:12]  # Docker's default: the short container ID


def _exposed_ports(image: dict[str, Any], spec: ContainerSpec) -> dict[str, dict[str, Any]]:
    # every published container port is exposed (CLI), added to the image's EXPOSE set (merge)
    ports = set(image.get("ExposedPorts") or {})
    ports.update(f"{p.container_port}/{p.protocol}" for p in spec.ports)
    return {p: {} for p in sorted(ports)}


def _volumes(image: dict[str, Any], spec: ContainerSpec) -> dict[str, dict[str, Any]] | None:
    # anonymous volumes (-v /path) are recorded like the image's VOLUME entries; binds and named volumes are not
    targets = set(image.get("Volumes") or {})
    targets.update(m.target for m in spec.mounts if m.type == "volume" and not m.source)
    return {t: {} for t in sorted(targets)} or None


def _labels(image: dict[str, Any], spec: ContainerSpec) -> dict[str, str]:
    # the image's labels, each overridden by a -l of the same key; always a map, never null
    labels = dict(image.get("Labels") or {})
    labels.update(dict(spec.labels))
    return dict(sorted(labels.items()))
