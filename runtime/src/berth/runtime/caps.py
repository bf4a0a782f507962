"""Capabilities: Docker's default set and its --cap-add/--cap-drop/--privileged rules."""

from __future__ import annotations

from berth.runtime.errors import InvalidContainerConfig

# Linux capability numbers 0..40, in kernel order.
ALL_CAPS: tuple[str, ...] = tuple(f"CAP_{n}" for n in (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    "CHECKPOINT_RESTORE",
))

# moby oci/caps/defaults.go, in Docker's order (bounding set 0x00000000a80425fb)
DEFAULT_CAPS: tuple[str, ...] = tuple(f"CAP_{n}" for n in (
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP",
    "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
))


def host_caps() -> tuple[str, ...]:
    """What --privileged / --cap-add ALL grant: every capability in the engine's own bounding set
    (all the kernel knows on a normal host; fewer inside a sandbox, where more cannot be granted)."""
    try:
        with open("/proc/self/status") as f:
            bnd = next(int(ln.split()[1], 16) for ln in f if ln.startswith("CapBnd:"))
    except (OSError, ValueError, StopIteration):
        bnd = (1 << len(ALL_CAPS)) - 1
    return tuple(c for i, c in enumerate(ALL_CAPS) if bnd >> i & 1)


def _normalize(names: tuple[str, ...] | list[str]) -> list[str]:
    out = []
    for raw in names:
        name = raw.strip().upper()
        if name == "ALL":
            out.append(name)
            continue
        name = name if name.startswith("CAP_") else f"CAP_{name}"
        if name not in ALL_CAPS:
            raise InvalidContainerConfig(f"unknown capability: {raw!r}", value=raw)
        out.append(name)
    return out


def effective_caps(adds: tuple[str, ...] | list[str], drops: tuple[str, ...] | list[str],
                   privileged: bool) -> list[str]:
    """moby's TweakCapabilities: ALL in add wins over drops of ALL; otherwise drop first, then add."""
    if privileged:
        return list(host_caps())
    if not adds and not drops:
        return list(DEFAULT_CAPS)
    add, drop = _normalize(adds), _normalize(drops)
    if "ALL" in add:
        return [c for c in host_caps() if c not in drop]
    if "ALL" in drop:
        return _dedup(c for c in add if c != "ALL")
    return _dedup([*(c for c in DEFAULT_CAPS if c not in drop), *add])


def _dedup(items) -> list[str]:
    return list(dict.fromkeys(items))
