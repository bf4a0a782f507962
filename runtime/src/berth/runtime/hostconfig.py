"""The ``HostConfig`` section of a container record (what ``docker inspect`` shows), from a ``ContainerSpec``.

The ``Config`` section follows Docker's image/spec merge in ``berth.containers.merge``;
the OCI spec is built from both (``berth.runtime.oci``), so what the record says is
exactly what runs, and the container module compares desired vs actual on the same shape.
"""

from __future__ import annotations

from typing import Any

from berth.containers.spec import ContainerSpec, Mount, PortBinding


def _bind_string(m: Mount) -> str:
    """``-v`` as Docker records it in ``Binds``: ``source:target[:mode]``."""
    modes = (["ro"] if m.read_only else []) + list(m.options)
    text = f"{m.source}:{m.target}"
    return f"{text}:{','.join(modes)}" if modes else text


def _mount_entry(m: Mount) -> dict[str, Any]:
    """``--mount`` as Docker records it in ``HostConfig.Mounts`` (mount.Mount, empty fields omitted)."""
    entry: dict[str, Any] = {"Type": m.type}
    if m.source:
        entry["Source"] = m.source
    entry["Target"] = m.target
    if m.read_only:
        entry["ReadOnly"] = True
    if m.type == "bind":
        prop = [o for o in m.options if o not in ("z", "Z")]
        if prop:
            entry["BindOptions"] = {"Propagation": prop[0]}
    elif m.type == "volume" and "nocopy" in m.options:
        entry["VolumeOptions"] = {"NoCopy": True}
    elif m.type == "tmpfs":
        opts: dict[str, Any] = {}
        for o in m.options:
            key, _, val = o.partition("=")
            if key == "size" and val.isdigit():
                opts["SizeBytes"] = int(val)
            elif key == "mode":
                opts["Mode"] = int(val, 8)
        if opts:
            entry["TmpfsOptions"] = opts
    return entry


def _host_port(p: PortBinding) -> str:
    """"" (random), "8080", or Docker's "8000-8010" (a free one of the range is picked at start)."""
    if not p.host_port:
        return ""
    return f"{p.host_port}-{p.host_port_end}" if p.host_port_end else str(p.host_port)


def host_config(spec: ContainerSpec) -> dict[str, Any]:
    """The ``HostConfig`` section of the record."""
    ports: dict[str, list[dict[str, str]]] = {}
    for p in spec.ports:
        ports.setdefault(f"{p.container_port}/{p.protocol}", []).append(
            {"HostIp": p.host_ip, "HostPort": _host_port(p)})
    # -v and --tmpfs (Mount.create_host_path True) vs --mount (False), as Docker keeps them apart;
    # an anonymous -v /path is in Config.Volumes, and every volume's final name is in the record's Mounts
    flags = [m for m in spec.mounts if m.create_host_path]
    tmpfs = {m.target: ",".join(m.options) for m in flags if m.type == "tmpfs"}
    return {
        "Binds": [_bind_string(m) for m in flags if m.type != "tmpfs" and m.source] or None,
        "Mounts": [_mount_entry(m) for m in spec.mounts if not m.create_host_path] or None,
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
        "SecurityOpt": list(spec.security_opt) or None,
        "ReadonlyRootfs": spec.read_only,
        "Tmpfs": tmpfs or None,
        "Init": spec.init or None,
        "Memory": spec.memory or 0,
        "MemorySwap": 0,  # memory + swap; 0: not limited (``berth update --memory-swap`` sets it)
        "NanoCpus": spec.nano_cpus or 0,
        "CpuShares": 0,  # 0: the default weight (``berth update --cpu-shares`` sets it)
        "PidsLimit": spec.pids_limit,
    }
