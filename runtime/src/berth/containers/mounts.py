"""``-v``, ``--mount``, ``--tmpfs`` and ``--volumes-from`` as ``Mount`` value objects.

Docker's Linux parser (moby volume/mounts/linux_parser.go, cli opts/mount.go).
``Mount.options`` holds, in this order: the SELinux label (``z``/``Z``), the bind
propagation (``rprivate``...), ``nocopy`` for volumes; for tmpfs the mount flags
and data (``size=<bytes>`` normalised, ``mode=<octal>``).
"""

from __future__ import annotations

import posixpath
import re

from berth.containers.spec import Mount
from berth.containers.values import NAME_PATTERN, invalid, parse_bytes

VOLUME_NAME = NAME_PATTERN  # moby: volume names follow the container name rule (RestrictedNamePattern)
_ACCESS = frozenset({"rw", "ro"})
_LABEL = frozenset({"z", "Z"})
_PROPAGATION = frozenset({"shared", "rshared", "slave", "rslave", "private", "rprivate"})
_COPY = frozenset({"nocopy"})
_CONSISTENCY = frozenset({"consistent", "cached", "delegated"})  # macOS only: accepted and ignored
_MODE_SETS = (_ACCESS, _LABEL, _PROPAGATION, _COPY, _CONSISTENCY)
_ALL_MODES: frozenset[str] = frozenset().union(*_MODE_SETS)
_TMPFS_FLAGS = frozenset({
    "defaults", "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "sync", "async", "dirsync",
    "mand", "nomand", "atime", "noatime", "diratime", "nodiratime", "relatime", "norelatime", "strictatime",
    "nostrictatime", "unbindable", "runbindable", "private", "rprivate", "shared", "rshared", "slave", "rslave",
})
_TMPFS_DATA = frozenset({"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"})
_TRUE = frozenset({"1", "t", "true"})
_FALSE = frozenset({"0", "f", "false"})


def clean_target(path: str, flag: str, value: str) -> str:
    """An absolute, normalised container path other than ``/``."""
    if not path.startswith("/"):
        raise invalid(flag, value, f"mount path '{path}' must be absolute")
    cleaned = "/" + posixpath.normpath(path).lstrip("/")
    if cleaned == "/":
        raise invalid(flag, value, "destination can't be '/'")
    return cleaned


def check_volume_name(name: str, flag: str, value: str) -> str:
    if VOLUME_NAME.fullmatch(name):
        return name
    if len(name) == 1 and name.isalnum():
        raise invalid(flag, value, "volume name is too short, names should be at least two alphanumeric characters")
    raise invalid(flag, value, f'"{name}" includes invalid characters for a local volume name, only '
                  '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed; a host directory must be an absolute path')


def _split_modes(mode: str, flag: str, value: str) -> list[str]:
    modes = mode.split(",") if mode else []
    for kind in _MODE_SETS:
        if sum(m in kind for m in modes) > 1:
            raise invalid(flag, value, f"invalid mode: {mode}")
    if any(not any(m in kind for kind in _MODE_SETS) for m in modes):
        raise invalid(flag, value, f"invalid mode: {mode}")
    return modes


def parse_volume(value: str, flag: str = "--volume") -> Mount:
    """``host:ctr[:opts]`` (bind), ``name:ctr[:opts]`` (named volume), ``/ctr[:opts]`` (anonymous volume)."""
    arr = value.split(":")
    if not arr[0] or len(arr) > 3:
        raise invalid(flag, value, "expected [host-path|volume-name:]container-path[:options]")
    mode, source = "", ""
    if len(arr) == 1:
        target = arr[0]
    elif len(arr) == 2 and all(m in _ALL_MODES for m in arr[1].split(",")):
        target, mode = arr  # "/data:ro": an anonymous volume with options
    elif len(arr) == 2:
        source, target = arr
    else:
        source, target, mode = arr
    modes = _split_modes(mode, flag, value)
    target = clean_target(target, flag, value)
    if source.startswith("/"):
        if "nocopy" in modes:
            raise invalid(flag, value, "nocopy applies to volumes, not to bind mounts")
        kind, source = "bind", posixpath.normpath(source)
    else:
        if any(m in _PROPAGATION for m in modes):
            raise invalid(flag, value, "propagation applies to bind mounts, not to volumes")
        kind = "volume"
        if source:
            check_volume_name(source, flag, value)
    options = [m for kind_set in (_LABEL, _PROPAGATION, _COPY) for m in modes if m in kind_set]
    return Mount(type=kind, target=target, source=source, read_only="ro" in modes, options=tuple(options))


def _bool(key: str, val: str, flag: str, value: str) -> bool:
    if val.lower() in _TRUE:
        return True
    if val.lower() in _FALSE:
        return False
    raise invalid(flag, value, f"invalid value for {key}: {val}")


def parse_mount(value: str, flag: str = "--mount") -> Mount:
    """``type=bind|volume|tmpfs,source=...,target=...,readonly,...`` (Docker's CSV syntax)."""
    import csv  # here: every `run` imports this module, few use --mount

    try:
        fields = next(csv.reader([value]))
    except (csv.Error, StopIteration):
        raise invalid(flag, value, "expected comma-separated key=value fields") from None
    kind, source, target, read_only = "volume", "", "", False
    seen: dict[str, str] = {}  # option family -> the key that set it, to refuse mixing types
    options: list[str] = []
    for field in fields:
        key, eq, val = field.partition("=")
        key = key.strip().lower()
        if not eq and key not in ("readonly", "ro", "volume-nocopy"):
            raise invalid(flag, value, f"invalid field '{field}' must be a key=value pair")
        if key == "type":
            kind = val.lower()
        elif key in ("source", "src"):
            source = val
        elif key in ("target", "dst", "destination"):
            target = val
        elif key in ("readonly", "ro"):
            read_only = _bool(key, val, flag, value) if eq else True
        elif key == "consistency":
            pass  # no effect on Linux
        elif key == "bind-propagation":
            if val.lower() not in _PROPAGATION:
                raise invalid(flag, value, f"invalid value for {key}: {val}")
            seen["bind"] = key
            options.append(val.lower())
        elif key == "volume-nocopy":
            seen["volume"] = key
            if not eq or _bool(key, val, flag, value):
                options.append("nocopy")
        elif key == "volume-driver":
            seen["volume"] = key
            if val != "local":
                raise invalid(flag, value, f"volume driver '{val}' is not supported (only 'local')")
        elif key == "tmpfs-size":
            seen["tmpfs"] = key
            options.append(f"size={_size(val, key, flag, value)}")
        elif key == "tmpfs-mode":
            seen["tmpfs"] = key
            options.append(f"mode={_octal(val, key, flag, value)}")
        elif key in ("bind-nonrecursive", "volume-label", "volume-opt"):
            raise invalid(flag, value, f"{key} is not supported by berth")
        else:
            raise invalid(flag, value, f"unexpected key '{key}' in '{field}'")
    return _mount_of(kind, source, target, read_only, options, seen, flag, value)


def _mount_of(kind: str, source: str, target: str, read_only: bool, options: list[str],
              seen: dict[str, str], flag: str, value: str) -> Mount:
    if kind not in ("bind", "volume", "tmpfs"):
        raise invalid(flag, value, f"mount type '{kind}' is not supported (bind, volume or tmpfs)")
    if not target:
        raise invalid(flag, value, "target is required")
    for family, key in seen.items():
        if family != kind:
            raise invalid(flag, value, f"cannot mix '{key}' with mount type '{kind}'")
    target = clean_target(target, flag, value)
    if kind == "bind":
        if not source:
            raise invalid(flag, value, "source is required for a bind mount")
        if not source.startswith("/"):
            raise invalid(flag, value, f"bind source '{source}' must be an absolute path")
        source = posixpath.normpath(source)
    elif kind == "volume" and source:
        check_volume_name(source, flag, value)
    elif kind == "tmpfs" and source:
        raise invalid(flag, value, "source must not be specified for a tmpfs mount")
    return Mount(type=kind, target=target, source=source, read_only=read_only, options=tuple(options),
                 create_host_path=False)  # type: ignore[arg-type]


def _size(val: str, key: str, flag: str, value: str) -> str:
    if val.endswith("%") and val[:-1].isdigit():
        return val  # tmpfs accepts a percentage of RAM
    try:
        return str(parse_bytes(val, flag))
    except ValueError:
        raise invalid(flag, value, f"invalid value for {key}: {val}") from None


def _octal(val: str, key: str, flag: str, value: str) -> str:
    if not re.fullmatch(r"[0-7]{1,4}", val):
        raise invalid(flag, value, f"invalid value for {key}: {val} (expected octal, e.g. 1777)")
    return f"{int(val, 8):o}"


def parse_tmpfs(value: str, flag: str = "--tmpfs") -> Mount:
    """``/run[:rw,size=64m,mode=1777,noexec...]``; sizes normalised to bytes, ``ro`` -> read_only."""
    target, _, opts = value.partition(":")
    target = clean_target(target, flag, value)
    options: list[str] = []
    read_only = False
    for opt in (o.strip() for o in opts.split(",") if o.strip()):
        key, eq, val = opt.partition("=")
        if not eq and key in _TMPFS_FLAGS:
            if key in ("ro", "rw"):
                read_only = key == "ro"
            else:
                options.append(key)
        elif eq and key in _TMPFS_DATA:
            if key == "size":
                val = _size(val, key, flag, value)
            elif key == "mode":
                val = _octal(val, key, flag, value)
            options.append(f"{key}={val}")
        else:
            raise invalid(flag, value, f"invalid tmpfs option '{opt}'")
    return Mount(type="tmpfs", target=target, read_only=read_only, options=tuple(options))


def parse_volumes_from(value: str, flag: str = "--volumes-from") -> str:
    """``container[:ro|:rw]``."""
    name, colon, mode = value.partition(":")
    if not name or (colon and mode not in ("ro", "rw")):
        raise invalid(flag, value, "expected container[:ro|:rw]")
    return value
