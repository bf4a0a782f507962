"""The OCI runtime spec (runc's config.json) of a container, built from its record.

Inputs are the record's Docker-shaped ``Config`` and ``HostConfig`` (see
``berth.containers.merge`` and ``berth.runtime.hostconfig``) plus what only exists at start: the mounted rootfs,
the resolved user, the resolved mount list and, from the networking code, a
prepared netns. ``build_spec_for()`` takes an image config and a
``ContainerSpec`` directly (the unit tests use it).

Seccomp is Docker's: the default profile (``berth.runtime.seccomp_default``) or the one
``--security-opt seccomp=FILE`` recorded, resolved for the container's capabilities
(``berth.runtime.seccomp``); none with ``--privileged`` or ``seccomp=unconfined``. The other
``--security-opt`` values (``berth.containers.security``) set ``noNewPrivileges`` and lift
the masked paths.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from berth.containers.merge import effective_config
from berth.containers.security import SecurityOptions, seccomp_profile, security_options
from berth.containers.spec import ContainerSpec
from berth.containers.users import ExecUser
from berth.runtime.caps import effective_caps
from berth.runtime.hostconfig import host_config
from berth.runtime.oci_defaults import (
    DEFAULT_DEVICE_RULES,
    DEFAULT_MOUNTS,
    MASKED_PATHS,
    READONLY_PATHS,
    OCIMount,
    host_devices,
)
from berth.structs import dataclass, field

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CPU_PERIOD = 100_000
INIT_PATH = "/sbin/docker-init"
NOFILE = 1_048_576


@dataclass(frozen=True)
class SpecInputs:
    container_id: str
    config: dict[str, Any]  # the record's Config
    host_config: dict[str, Any]  # the record's HostConfig
    rootfs: Path
    user: ExecUser = field(default_factory=ExecUser)
    etc_dir: Path | None = None  # holds hosts, hostname, resolv.conf to bind-mount
    mounts: tuple[OCIMount, ...] = ()  # user binds/volumes/tmpfs, resolved
    netns_path: str | None = None  # a netns prepared by the networking code; None: a new one (loopback only)
    init_binary: str | None = None  # host path of tini for --init
    x32: bool = True  # the kernel serves x32 system calls (RuntimeContext.kernel_serves_x32)


def process_args(config: dict[str, Any]) -> list[str]:
    return [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]


def process_env(config: dict[str, Any]) -> list[str]:
    """moby: PATH and HOSTNAME first (TERM with a tty), then the record's Env over them by key."""
    base = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={config.get('Hostname') or ''}"]
    if config.get("Tty"):
        base.append("TERM=xterm")
    return _replace_or_append_env(base, config.get("Env") or [])


def _replace_or_append_env(base: list[str], overrides: list[str]) -> list[str]:
    """moby ReplaceOrAppendEnvValues: an override replaces the base entry of its key in place, else is
    appended. (Not the image/user merge of ``Config.Env``: that is ``berth.containers.merge.merge_env``.)"""
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


def _nofile() -> int:
    """Docker's containers inherit dockerd's limit (1048576); ours is capped by the engine's own
    hard limit, since raising it needs CAP_SYS_RESOURCE outside any sandbox we run in."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return NOFILE if hard == resource.RLIM_INFINITY else min(NOFILE, hard)


def _resources(hc: dict[str, Any], privileged: bool) -> dict[str, Any]:
    res: dict[str, Any] = {
        "devices": [{"allow": True, "access": "rwm"}] if privileged else [dict(r) for r in DEFAULT_DEVICE_RULES]}
    if hc.get("Memory"):
        res["memory"] = {"limit": int(hc["Memory"])}
    if hc.get("NanoCpus"):
        res["cpu"] = {"quota": int(hc["NanoCpus"]) * CPU_PERIOD // 1_000_000_000, "period": CPU_PERIOD}
    if hc.get("PidsLimit"):
        res["pids"] = {"limit": int(hc["PidsLimit"])}
    return res


def _seccomp(opts: SecurityOptions, privileged: bool, caps: list[str], x32: bool) -> dict[str, Any] | None:
    """moby's WithSeccomp: nothing when privileged or unconfined; the default profile silently
    dropped on a kernel without seccomp, a custom one refused there."""
    from berth.runtime.errors import InvalidContainerConfig
    from berth.runtime.seccomp import ProfileError, kernel_supports_seccomp, oci_seccomp

    if privileged or opts.seccomp_unconfined:
        return None
    custom = seccomp_profile(opts)
    if not kernel_supports_seccomp():
        if custom is not None:
            raise InvalidContainerConfig("seccomp is not enabled in your kernel, cannot run a custom seccomp profile")
        return None
    if custom is None:
        from berth.runtime.seccomp_default import default_profile

        custom = default_profile()
    try:
        return oci_seccomp(custom, caps, x32=x32)
    except ProfileError as e:
        raise InvalidContainerConfig(f"--security-opt seccomp: {e}") from None


def _mounts(inp: SpecInputs, privileged: bool, host_net: bool) -> list[dict[str, Any]]:
    user = sorted(inp.mounts, key=lambda m: len(Path(m.destination).parts))  # parents before children
    taken = {m.destination for m in user}
    out: list[dict[str, Any]] = []
    for m in DEFAULT_MOUNTS:
        if m.destination in taken:
            continue
        d = m.to_oci()
        if privileged and m.type in ("sysfs", "cgroup"):
            d["options"] = [o for o in d["options"] if o != "ro"] + ["rw"]
        out.append(d)
    if inp.etc_dir is not None:
        rw = "ro" if inp.host_config.get("ReadonlyRootfs") else "rw"
        for name in ("hosts", "hostname", "resolv.conf"):
            if f"/etc/{name}" not in taken and not (host_net and name == "hostname"):
                out.append(OCIMount(f"/etc/{name}", "bind", str(inp.etc_dir / name),
                                    ("rbind", "rprivate", rw)).to_oci())
    if inp.init_binary:
        out.append(OCIMount(INIT_PATH, "bind", inp.init_binary, ("rbind", "rprivate", "ro")).to_oci())
    out.extend(m.to_oci() for m in user)
    return out


def build_spec(inp: SpecInputs) -> dict[str, Any]:
    cfg, hc = inp.config, inp.host_config
    privileged = bool(hc.get("Privileged"))
    host_net = hc.get("NetworkMode") == "host"
    args = process_args(cfg)
    if inp.init_binary:
        args = [INIT_PATH, "--", *args]
    caps = effective_caps(hc.get("CapAdd") or [], hc.get("CapDrop") or [], privileged)
    security = security_options(hc.get("SecurityOpt"))
    unmask = privileged or security.unmask_system_paths
    namespaces: list[dict[str, str]] = [{"type": "pid"}, {"type": "ipc"}, {"type": "mount"}]
    if not host_net:  # --network host shares the host's UTS namespace too, as in Docker
        namespaces.append({"type": "uts"})
        namespaces.append({"type": "network", "path": inp.netns_path} if inp.netns_path else {"type": "network"})
    nofile = _nofile()
    linux: dict[str, Any] = {
        "namespaces": namespaces,
        "cgroupsPath": f"/berth/{inp.container_id}",
        "resources": _resources(hc, privileged),
        "maskedPaths": [] if unmask else list(MASKED_PATHS),
        "readonlyPaths": [] if unmask else list(READONLY_PATHS),
    }
    seccomp = _seccomp(security, privileged, caps, inp.x32)
    if seccomp is not None:
        linux["seccomp"] = seccomp
    if privileged:
        linux["devices"] = host_devices()
    spec: dict[str, Any] = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": bool(cfg.get("Tty")),
            "user": {"uid": inp.user.uid, "gid": inp.user.gid,
                     **({"additionalGids": list(inp.user.additional_gids)} if inp.user.additional_gids else {})},
            "args": args,
            "env": process_env(cfg),
            "cwd": cfg.get("WorkingDir") or "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": nofile, "soft": nofile}],
            "noNewPrivileges": security.no_new_privileges,
        },
        "root": {"path": str(inp.rootfs), "readonly": bool(hc.get("ReadonlyRootfs"))},
        "mounts": _mounts(inp, privileged, host_net),
        "linux": linux,
    }
    if not host_net:
        spec["hostname"] = cfg.get("Hostname") or inp.container_id[:12]
    return spec


def build_spec_for(image_config: dict[str, Any], spec: ContainerSpec, *, container_id: str = "0" * 64,
                   rootfs: Path = Path("/nonexistent"), user: ExecUser = ExecUser(),
                   mounts: tuple[OCIMount, ...] = (), etc_dir: Path | None = None,
                   netns_path: str | None = None) -> dict[str, Any]:
    """Convenience: merge like Docker, then build (what create + start do, minus the disk)."""
    return build_spec(SpecInputs(container_id, effective_config(image_config, spec, container_id),
                                 host_config(spec), rootfs, user, etc_dir, mounts, netns_path))


def find_init_binary() -> str | None:
    """tini on the host (Debian: tini / tini-static), bind-mounted as Docker's /sbin/docker-init."""
    for path in ("/usr/bin/tini-static", "/usr/bin/docker-init", "/usr/bin/tini"):
        if os.access(path, os.X_OK):
            return path
    return None
