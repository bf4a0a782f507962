"""Seccomp: a profile in Docker's format -> the OCI spec's ``linux.seccomp`` for one container.

Docker's profile format (``--security-opt seccomp=FILE``, and the default profile in
``berth.runtime.seccomp_default``) has rules that apply only on some architectures, with some
capabilities or from some kernel version on (``includes`` / ``excludes``), and an ``archMap``
of the native architecture to the ones it also runs (x86_64: x86, x32). ``oci_seccomp`` resolves
them for the container's bounding capabilities, the host's architecture and kernel, as moby's
``setupSeccomp`` does; runc compiles the result to BPF (and skips syscall names its libseccomp
does not know).

``validate_profile`` checks a profile's shape, so a bad file is refused when the flag is parsed,
not when runc meets it at start.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

ACTIONS = frozenset({
    "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
})
OPERATORS = frozenset({
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
})
ARCHES = frozenset({
    "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
})

#: libseccomp's native architecture name (what ``includes.arches`` says) -> its SCMP_ARCH constant
_NATIVE_TO_SCMP = {
    "x86": "SCMP_ARCH_X86", "amd64": "SCMP_ARCH_X86_64", "arm": "SCMP_ARCH_ARM", "arm64": "SCMP_ARCH_AARCH64",
    "mips64": "SCMP_ARCH_MIPS64", "mips64n32": "SCMP_ARCH_MIPS64N32", "mipsel64": "SCMP_ARCH_MIPSEL64",
    "mipsel64n32": "SCMP_ARCH_MIPSEL64N32", "mipsel": "SCMP_ARCH_MIPSEL", "mips": "SCMP_ARCH_MIPS",
    "ppc": "SCMP_ARCH_PPC", "ppc64": "SCMP_ARCH_PPC64", "ppc64le": "SCMP_ARCH_PPC64LE",
    "riscv64": "SCMP_ARCH_RISCV64", "s390": "SCMP_ARCH_S390", "s390x": "SCMP_ARCH_S390X",
}


class ProfileError(ValueError):
    """A seccomp profile that cannot be applied; the message says what is wrong with it."""


def native_arch(machine: str | None = None) -> str:
    """The host's architecture in libseccomp's names (``amd64``, ``arm64``, ``x86``...)."""
    m = (machine or os.uname().machine).lower()
    little = sys.byteorder == "little"
    if m in ("x86_64", "amd64"):
        return "amd64"
    if m in ("i386", "i486", "i586", "i686", "x86"):
        return "x86"
    if m in ("aarch64", "arm64"):
        return "arm64"
    if m.startswith("arm"):
        return "arm"
    if m == "ppc64le" or (m == "ppc64" and little):
        return "ppc64le"
    if m.startswith("mips64"):
        return "mipsel64" if little else "mips64"
    if m.startswith("mips"):
        return "mipsel" if little else "mips"
    return m  # ppc64, ppc, s390, s390x, riscv64: the same names


def kernel_version(release: str | None = None) -> tuple[int, int]:
    """``6.1.0-18-amd64`` -> (6, 1)."""
    text = release or os.uname().release
    parts = []
    for piece in text.split(".")[:2]:
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        parts.append(int(digits or 0))
    while len(parts) < 2:
        parts.append(0)
    return parts[0], parts[1]


def _min_kernel(value: str, where: str) -> tuple[int, int]:
    try:
        major, _, minor = value.partition(".")
        return int(major), int(minor or 0)
    except ValueError:
        raise ProfileError(f'{where}: minKernel "{value}" is not a kernel version like "4.8"') from None


#: x86_64's x32 ABI: its system call numbers carry this bit (getpid is 39 in both tables)
_X32_SYSCALL_BIT = 0x40000000
_GETPID = 39


def kernel_serves_x32() -> bool:
    """Whether this x86_64 kernel runs x32-ABI system calls. Most do not (Debian's needs
    ``syscall.x32=y`` at boot; Ubuntu's and Fedora's are built without), and there a filter that
    lists SCMP_ARCH_X32 lets no process do anything more (each x32 call ends in ENOSYS instead of
    the filter's kill), but it costs runc ~10 ms of libseccomp compiling at every create: a
    quarter of it. Probed in a child (getpid through the x32 ABI), since a seccomp filter above
    berth that does not list x32 kills the caller."""
    if native_arch() != "amd64":
        return False
    import ctypes

    syscall = ctypes.CDLL(None, use_errno=True).syscall
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        code = 2
        try:
            code = 0 if syscall(_X32_SYSCALL_BIT | _GETPID, 0) > 0 else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def kernel_supports_seccomp() -> bool:
    """Whether the kernel has seccomp (``Seccomp:`` in /proc/self/status, as runc checks)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            return any(line.startswith("Seccomp:") for line in f)
    except OSError:
        return False


# -- validation ---------------------------------------------------------------------------
def _str_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProfileError(f"{where} must be a list of strings")
    return value


def _filter(value: Any, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise ProfileError(f"{where} must be an object")
    _str_list(value.get("caps"), f"{where}.caps")
    _str_list(value.get("arches"), f"{where}.arches")
    if value.get("minKernel") not in (None, ""):
        if not isinstance(value["minKernel"], str):
            raise ProfileError(f"{where}.minKernel must be a string")
        _min_kernel(value["minKernel"], where)


def _errno(value: Any, where: str) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ProfileError(f"{where} must be a non-negative integer")


def validate_profile(profile: Any) -> None:
    """Raise ``ProfileError`` naming the first problem of a Docker-format profile."""
    if not isinstance(profile, dict):
        raise ProfileError("a seccomp profile must be a JSON object")
    default = profile.get("defaultAction", "")
    if default and default not in ACTIONS:
        raise ProfileError(f'defaultAction "{default}" is not a seccomp action (SCMP_ACT_ERRNO, SCMP_ACT_ALLOW...)')
    syscalls = profile.get("syscalls") or []
    if not isinstance(syscalls, list):
        raise ProfileError("syscalls must be a list")
    if not default and syscalls:
        raise ProfileError("defaultAction is missing")
    _errno(profile.get("defaultErrnoRet"), "defaultErrnoRet")
    arches = _str_list(profile.get("architectures"), "architectures")
    arch_map = profile.get("archMap") or []
    if arches and arch_map:
        raise ProfileError("both 'architectures' and 'archMap' are specified in the seccomp profile, "
                           "use either 'architectures' or 'archMap'")
    if not isinstance(arch_map, list):
        raise ProfileError("archMap must be a list")
    for i, entry in enumerate(arch_map):
        if not isinstance(entry, dict) or not isinstance(entry.get("architecture"), str):
            raise ProfileError(f"archMap[{i}] must be an object with an architecture")
        subs = _str_list(entry.get("subArchitectures"), f"archMap[{i}].subArchitectures")
        arches = [*arches, entry["architecture"], *subs]
    for arch in arches:
        if arch not in ARCHES:
            raise ProfileError(f'unknown architecture "{arch}" (SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64...)')
    _str_list(profile.get("flags"), "flags")
    for i, call in enumerate(syscalls):
        where = f"syscalls[{i}]"
        if not isinstance(call, dict):
            raise ProfileError(f"{where} must be an object")
        names = _str_list(call.get("names"), f"{where}.names")
        if call.get("name"):
            if names:
                raise ProfileError(f"{where}: both 'name' and 'names' are specified in the seccomp profile, "
                                   "use either 'name' or 'names'")
            if not isinstance(call["name"], str):
                raise ProfileError(f"{where}.name must be a string")
        elif not names:
            raise ProfileError(f"{where} names no syscall")
        if call.get("action") not in ACTIONS:
            raise ProfileError(f'{where}: action "{call.get("action")}" is not a seccomp action')
        _errno(call.get("errnoRet"), f"{where}.errnoRet")
        args = call.get("args") or []
        if not isinstance(args, list):
            raise ProfileError(f"{where}.args must be a list")
        for j, arg in enumerate(args):
            if not isinstance(arg, dict):
                raise ProfileError(f"{where}.args[{j}] must be an object")
            index = arg.get("index")
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= 5:
                raise ProfileError(f"{where}.args[{j}].index must be 0..5")
            if arg.get("op") not in OPERATORS:
                raise ProfileError(f'{where}.args[{j}]: op "{arg.get("op")}" is not a comparison (SCMP_CMP_EQ...)')
            for key in ("value", "valueTwo"):
                v = arg.get(key, 0)
                if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 2**64:
                    raise ProfileError(f"{where}.args[{j}].{key} must be an unsigned 64-bit integer")
        _filter(call.get("includes"), f"{where}.includes")
        _filter(call.get("excludes"), f"{where}.excludes")


# -- resolution ---------------------------------------------------------------------------
def _skip(call: dict[str, Any], caps: frozenset[str], arch: str, kernel: tuple[int, int], where: str) -> bool:
    """moby: a rule is dropped when an exclude matches or an include does not."""
    exc = call.get("excludes") or {}
    if arch in (exc.get("arches") or ()):
        return True
    if any(c in caps for c in exc.get("caps") or ()):
        return True
    if exc.get("minKernel") and kernel >= _min_kernel(exc["minKernel"], where):
        return True
    inc = call.get("includes") or {}
    if inc.get("arches") and arch not in inc["arches"]:
        return True
    if inc.get("caps") and not all(c in caps for c in inc["caps"]):
        return True
    return bool(inc.get("minKernel") and kernel < _min_kernel(inc["minKernel"], where))


def oci_seccomp(profile: dict[str, Any], capabilities: Sequence[str], *, arch: str | None = None,
                kernel: tuple[int, int] | None = None, x32: bool = True) -> dict[str, Any] | None:
    """The OCI ``linux.seccomp`` of ``profile`` for a container whose bounding set is ``capabilities``
    (``CAP_`` names); None when the profile has neither a default action nor rules (no filter).
    ``x32``: whether the kernel serves x32 system calls (``kernel_serves_x32``); without, the
    filter leaves SCMP_ARCH_X32 out."""
    validate_profile(profile)
    if not profile.get("defaultAction") and not profile.get("syscalls"):
        return None
    arch = arch or native_arch()
    kernel = kernel or kernel_version()
    caps = frozenset(capabilities)
    out: dict[str, Any] = {"defaultAction": profile["defaultAction"]}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    architectures = list(profile.get("architectures") or ())
    native = _NATIVE_TO_SCMP.get(arch)
    for entry in profile.get("archMap") or ():
        if native is not None and entry["architecture"] == native:
            architectures += [entry["architecture"], *(entry.get("subArchitectures") or ())]
    if not x32:
        architectures = [a for a in architectures if a != "SCMP_ARCH_X32"]
    if architectures:
        out["architectures"] = architectures
    for key in ("flags", "listenerPath", "listenerMetadata"):
        if profile.get(key):
            out[key] = profile[key]
    rules = []
    for i, call in enumerate(profile.get("syscalls") or ()):
        if _skip(call, caps, arch, kernel, f"syscalls[{i}]"):
            continue
        rule: dict[str, Any] = {"names": list(call.get("names") or [call["name"]]), "action": call["action"]}
        if call.get("errnoRet") is not None:
            rule["errnoRet"] = call["errnoRet"]
        if call.get("args"):
            rule["args"] = [{"index": a["index"], "value": a.get("value", 0), "valueTwo": a.get("valueTwo", 0),
                             "op": a["op"]} for a in call["args"]]
        rules.append(rule)
    if rules:
        out["syscalls"] = rules
    return out
