"""The effective capability set of a container: Docker's default set and its --cap-add/--cap-drop/--privileged
rules. The names (and their validation) live in ``berth.containers.caps``; here they become OCI's ``CAP_`` form."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from berth.containers.caps import DEFAULT_CAPABILITIES, LINUX_CAPABILITIES, parse_capabilities

#: Docker's default set in OCI form (``CAP_CHOWN``...)
DEFAULT_CAPS: tuple[str, ...] = tuple(f"CAP_{n}" for n in DEFAULT_CAPABILITIES)


def host_caps() -> tuple[str, ...]:
    """What --privileged / --cap-add ALL grant: every capability in the engine's own bounding set
    (all the kernel knows on a normal host; fewer inside a sandbox, where more cannot be granted)."""
    try:
        with open("/proc/self/status") as f:
            bnd = next(int(ln.split()[1], 16) for ln in f if ln.startswith("CapBnd:"))
    except (OSError, ValueError, StopIteration):
        bnd = (1 << len(LINUX_CAPABILITIES)) - 1
    return tuple(f"CAP_{c}" for i, c in enumerate(LINUX_CAPABILITIES) if bnd >> i & 1)


def validate_caps(adds: Iterable[str], drops: Iterable[str]) -> None:
    """moby validateCapabilities: both lists must name known capabilities (or ALL), even with --privileged."""
    parse_capabilities(adds, "--cap-add")
    parse_capabilities(drops, "--cap-drop")


def effective_caps(adds: Sequence[str], drops: Sequence[str], privileged: bool) -> list[str]:
    """moby's TweakCapabilities: ALL in add wins over drops of ALL; otherwise drop first, then add."""
    if privileged:
        return list(host_caps())
    if not adds and not drops:
        return list(DEFAULT_CAPS)
    add = [_oci(c) for c in parse_capabilities(adds, "--cap-add")]
    drop = [_oci(c) for c in parse_capabilities(drops, "--cap-drop")]
    if "ALL" in add:
        return [c for c in host_caps() if c not in drop]
    if "ALL" in drop:
        return _dedup(c for c in add if c != "ALL")
    return _dedup([*(c for c in DEFAULT_CAPS if c not in drop), *add])


def _oci(name: str) -> str:
    return name if name == "ALL" else f"CAP_{name}"


def _dedup(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
