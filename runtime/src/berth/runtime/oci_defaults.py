"""Docker's fixed parts of an OCI spec: default mounts, masked and read-only paths, devices."""

from __future__ import annotations

import os
import stat
from typing import Any

from berth.structs import dataclass


@dataclass(frozen=True)
class OCIMount:
    """One entry of the OCI spec's ``mounts``: already resolved (host paths exist)."""

    destination: str
    type: str  # "bind", "tmpfs", ...
    source: str
    options: tuple[str, ...] = ()

    def to_oci(self) -> dict[str, Any]:
        return {"destination": self.destination, "type": self.type, "source": self.source,
                "options": list(self.options)}

    @classmethod
    def from_oci(cls, d: dict[str, Any]) -> OCIMount:
        return cls(d["destination"], d["type"], d["source"], tuple(d.get("options") or ()))


# moby oci/defaults.go
DEFAULT_MOUNTS: tuple[OCIMount, ...] = (
    OCIMount("/proc", "proc", "proc", ("nosuid", "noexec", "nodev")),
    OCIMount("/dev", "tmpfs", "tmpfs", ("nosuid", "strictatime", "mode=755", "size=65536k")),
    OCIMount("/dev/pts", "devpts", "devpts", ("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                                              "gid=5")),
    OCIMount("/sys", "sysfs", "sysfs", ("nosuid", "noexec", "nodev", "ro")),
    OCIMount("/sys/fs/cgroup", "cgroup", "cgroup", ("ro", "nosuid", "noexec", "nodev")),
    OCIMount("/dev/mqueue", "mqueue", "mqueue", ("nosuid", "noexec", "nodev")),
    OCIMount("/dev/shm", "tmpfs", "shm", ("nosuid", "noexec", "nodev", "mode=1777", "size=67108864")),
)

MASKED_PATHS: tuple[str, ...] = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
)
READONLY_PATHS: tuple[str, ...] = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


def _rule(kind: str, major: int | None, minor: int | None, access: str = "rwm") -> dict[str, Any]:
    rule: dict[str, Any] = {"allow": True, "type": kind, "access": access}
    if major is not None:
        rule["major"] = major
    if minor is not None:
        rule["minor"] = minor
    return rule


# Docker's default device cgroup rules: deny all, then mknod anything, use the usual ones.
DEFAULT_DEVICE_RULES: tuple[dict[str, Any], ...] = (
    {"allow": False, "access": "rwm"},
    _rule("c", None, None, "m"), _rule("b", None, None, "m"),
    _rule("c", 1, 3), _rule("c", 1, 8), _rule("c", 1, 7), _rule("c", 5, 0), _rule("c", 1, 5), _rule("c", 1, 9),
    _rule("c", 136, None), _rule("c", 5, 2), _rule("c", 10, 200),
)

_SKIP_DEV = ("/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/console", "/dev/ptmx", "/dev/fd", "/dev/core")


def host_devices(root: str = "/dev") -> list[dict[str, Any]]:
    """Every char/block device of the host, for --privileged (Docker gives them all)."""
    out: list[dict[str, Any]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in _SKIP_DEV]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if path in _SKIP_DEV:
                continue
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                out.append({"path": path, "type": "c" if stat.S_ISCHR(st.st_mode) else "b",
                            "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
                            "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid})
    return out
