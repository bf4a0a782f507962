"""All ``berth run`` value parsers in one namespace (implemented in small modules).

Every parser is pure (``parse_env`` reads the env files it is given and the
caller's environment) and raises ``berth.errors.InvalidArgument`` naming the
flag and the value.
"""

from __future__ import annotations

from berth.containers.caps import LINUX_CAPABILITIES, parse_capabilities, parse_capability
from berth.containers.kv import parse_add_host, parse_env, parse_ip, parse_labels, read_kv_file
from berth.containers.mounts import parse_mount, parse_tmpfs, parse_volume, parse_volumes_from
from berth.containers.ports import parse_publish
from berth.containers.security import parse_security_opt, parse_security_opts
from berth.containers.values import (
    MIN_MEMORY,
    invalid,
    parse_bytes,
    parse_cpus,
    parse_hostname,
    parse_int,
    parse_memory,
    parse_name,
    parse_pids_limit,
    parse_restart,
    parse_stop_signal,
    parse_stop_timeout,
    parse_user,
    parse_workdir,
)

__all__ = [
    "LINUX_CAPABILITIES",
    "MIN_MEMORY",
    "invalid",
    "parse_add_host",
    "parse_bytes",
    "parse_capabilities",
    "parse_capability",
    "parse_cpus",
    "parse_env",
    "parse_hostname",
    "parse_int",
    "parse_ip",
    "parse_labels",
    "parse_memory",
    "parse_mount",
    "parse_name",
    "parse_pids_limit",
    "parse_publish",
    "parse_restart",
    "parse_security_opt",
    "parse_security_opts",
    "parse_stop_signal",
    "parse_stop_timeout",
    "parse_tmpfs",
    "parse_user",
    "parse_volume",
    "parse_volumes_from",
    "parse_workdir",
    "read_kv_file",
]
