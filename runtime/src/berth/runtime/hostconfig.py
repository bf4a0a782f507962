"""The ``HostConfig`` section of a container record (what ``docker inspect`` shows), from a ``ContainerSpec``.

The ``Config`` section follows Docker's image/spec merge in ``berth.containers.merge``;
the OCI spec is built from both (``berth.runtime.oci``), so what the record says is
exactly what runs, and the container module compares desired vs actual on the same shape.
"""

from __future__ import annotations

from typing import Any

from berth.containers.spec import ContainerSpec, Mount


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
