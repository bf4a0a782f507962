"""Docker's merge of an image config with a ``ContainerSpec`` into the stored record.

``container_config()`` is what ``docker inspect`` shows as ``Config`` and
``host_config()`` as ``HostConfig``; the OCI spec is built from these two
(``berth.runtime.oci``), so what the record says is exactly what runs, and
the container module compares desired vs actual on the same shape.
"""

from __future__ import annotations

import socket
from typing import Any

from berth.containers.spec import ContainerSpec, Mount
from berth.runtime.errors import InvalidContainerConfig

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def merge_env(base: list[str], overrides: list[str]) -> list[str]:
    """Replace entries of ``base`` by key (``K=V``; a bare ``K`` too), append new ones, keep order."""
    out = list(base)
    index = {e.split("=", 1)[0]: i for i, e in enumerate(out)}
    for entry in overrides:
        key = entry.split("=", 1)[0]
        if key in index:
            out[index[key]] = entry
        else:
            index[key] = len(out)
            out.append(entry)
    return out


def command_of(image: dict[str, Any], spec: ContainerSpec) -> tuple[list[str], list[str] | None]:
    """(Cmd, Entrypoint) as moby's runconfig merge: an entrypoint given drops the image's Cmd;
    an empty one (``--entrypoint ""``) clears the image's entrypoint but keeps its Cmd."""
    cmd = list(spec.command) if spec.command else None
    if spec.entrypoint:  # a non-empty user entrypoint: the image Cmd does not apply
        return cmd or [], list(spec.entrypoint)
    entrypoint = list(image.get("Entrypoint") or []) if spec.entrypoint is None else []
    return cmd if cmd is not None else list(image.get("Cmd") or []), entrypoint or None


def container_config(image: dict[str, Any], spec: ContainerSpec, cid: str) -> dict[str, Any]:
    """The ``Config`` section of the record (image defaults under the user's options)."""
    cmd, entrypoint = command_of(image, spec)
    if not cmd and not entrypoint:
        raise InvalidContainerConfig("no command specified", image=spec.image)
    env = merge_env(list(image.get("Env") or []), [f"{k}={v}" for k, v in spec.env])
    volumes = dict(image.get("Volumes") or {})
    volumes.update({m.target: {} for m in spec.mounts if m.type == "volume" and not m.source})
    exposed = dict(image.get("ExposedPorts") or {})
    exposed.update({f"{p.container_port}/{p.protocol}": {} for p in spec.ports})
    labels = dict(image.get("Labels") or {})
    labels.update(dict(spec.labels))
    return {
        # --network host keeps the host's UTS namespace, so its hostname (Docker does the same)
        "Hostname": spec.hostname or (socket.gethostname() if spec.network == "host" else cid[:12]),
        "Domainname": "",
        "User": spec.user if spec.user is not None else (image.get("User") or ""),
        "AttachStdin": spec.interactive,
        "AttachStdout": True,
        "AttachStderr": True,
        "ExposedPorts": exposed or None,
        "Tty": spec.tty,
        "OpenStdin": spec.interactive,
        "StdinOnce": spec.interactive,
        "Env": env,
        "Cmd": cmd or None,
        "Image": spec.image,
        "Volumes": volumes or None,
        "WorkingDir": spec.workdir or image.get("WorkingDir") or "",
        "Entrypoint": entrypoint,
        "Labels": labels,
        "StopSignal": spec.stop_signal or image.get("StopSignal") or None,
        "StopTimeout": spec.stop_timeout,
    }


def _bind_string(m: Mount) -> str:
    text = f"{m.source}:{m.target}"
    return f"{text}:ro" if m.read_only else text


def host_config(spec: ContainerSpec) -> dict[str, Any]:
    """The ``HostConfig`` section of the record."""
    ports: dict[str, list[dict[str, str]]] = {}
    for p in spec.ports:
        ports.setdefault(f"{p.container_port}/{p.protocol}", []).append(
            {"HostIp": p.host_ip, "HostPort": str(p.host_port) if p.host_port else ""})
    tmpfs = {m.target: ",".join(m.options) for m in spec.mounts if m.type == "tmpfs"}
    return {
        "Binds": [_bind_string(m) for m in spec.mounts if m.type != "tmpfs" and m.source] or None,
        "Mounts": None,
        "NetworkMode": spec.network,
        "PortBindings": ports,
        "PublishAllPorts": spec.publish_all,
        "RestartPolicy": {"Name": spec.restart.name, "MaximumRetryCount": spec.restart.max_retries},
        "AutoRemove": spec.auto_remove,
        "VolumesFrom": list(spec.volumes_from) or None,
        "CapAdd": list(spec.cap_add) or None,
        "CapDrop": list(spec.cap_drop) or None,
        "Dns": list(spec.dns),
        "ExtraHosts": [f"{h}:{ip}" for h, ip in spec.extra_hosts] or None,
        "Privileged": spec.privileged,
        "ReadonlyRootfs": spec.read_only,
        "Tmpfs": tmpfs or None,
        "Init": spec.init or None,
        "Memory": spec.memory or 0,
        "NanoCpus": spec.nano_cpus or 0,
        "PidsLimit": spec.pids_limit,
    }
