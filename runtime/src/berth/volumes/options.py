"""The ``local`` driver's options (``-o type=... -o device=... -o o=...``).

Docker's local driver mounts ``device`` on ``_data`` with ``mount -t type -o o`` when a
container first uses the volume. berth supports the case the seeds need, a bind of a host
directory (``type=none o=bind device=/path``): the runtime binds ``device`` directly where it
would have bound ``_data``, so nothing is ever mounted under the volume directory and a crash
cannot leave a mount behind. tmpfs, nfs and block devices are refused at create time,
before anything exists, rather than failing later when a container starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from berth.errors import InvalidArgument

DRIVER = "local"
_KEYS = ("type", "device", "o")
_BIND_FLAGS = {"bind", "rbind"}


def validate_driver(driver: str) -> str:
    if driver != DRIVER:
        raise InvalidArgument(f'volume driver "{driver}" is not supported: berth only has the "local" driver',
                              driver=driver)
    return driver


def validate_options(options: Mapping[str, str] | None) -> dict[str, str]:
    opts = {str(k): str(v) for k, v in (options or {}).items()}
    for key in opts:
        if key not in _KEYS:
            # Docker: "invalid option key: %q"
            raise InvalidArgument(f'invalid option key: "{key}" (the local driver accepts type, device, o)',
                                  option=key)
    if not opts:
        return opts
    kind = opts.get("type", "")
    flags = [f for f in opts.get("o", "").split(",") if f]
    device = opts.get("device", "")
    if kind in ("", "none") and _BIND_FLAGS & set(flags):
        extra = [f for f in flags if f not in _BIND_FLAGS]
        if extra:
            raise InvalidArgument(
                f"volume option o={opts['o']}: only bind/rbind are supported yet, not {','.join(extra)}", option="o")
        if not device or not os.path.isabs(device):
            raise InvalidArgument(f'volume option device="{device}": a bind volume needs an absolute host path',
                                  option="device")
        return opts
    raise InvalidArgument(
        f"volume options {' '.join(f'{k}={v}' for k, v in sorted(opts.items()))}: not supported yet "
        "(berth's local driver supports plain volumes and type=none o=bind device=/abs/path)", option="type")


def bind_device(options: Mapping[str, str]) -> str | None:
    """The host path a bind volume stands for, or None for a plain volume."""
    flags = set(options.get("o", "").split(","))
    return options.get("device") if flags & _BIND_FLAGS else None
