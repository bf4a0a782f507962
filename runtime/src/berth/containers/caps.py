"""Capability names: the Linux list, Docker's default set, and ``--cap-add`` / ``--cap-drop`` parsing.

The one list of capability names in berth; ``berth.runtime.caps`` computes the
effective set of a container from these.
"""

from __future__ import annotations

from collections.abc import Iterable

from berth.containers.values import invalid

#: capability numbers 0..40 in kernel order (include/uapi/linux/capability.h), without the CAP_ prefix
LINUX_CAPABILITIES: tuple[str, ...] = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    "CHECKPOINT_RESTORE",
)
_KNOWN = frozenset(LINUX_CAPABILITIES)

#: Docker's default set, in Docker's order (moby oci/caps/defaults.go; bounding set 0x00000000a80425fb)
DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP",
    "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
)


def parse_capability(value: str, flag: str = "--cap-add") -> str:
    """``net_admin`` / ``CAP_NET_ADMIN`` -> ``NET_ADMIN``; ``all`` -> ``ALL``."""
    name = value.strip().upper()
    name = name.removeprefix("CAP_")
    if name == "ALL" or name in _KNOWN:
        return name
    raise invalid(flag, value, "unknown capability")


def parse_capabilities(values: Iterable[str], flag: str = "--cap-add") -> tuple[str, ...]:
    """Normalised names, duplicates dropped, first-seen order kept."""
    return tuple(dict.fromkeys(parse_capability(v, flag) for v in values))
