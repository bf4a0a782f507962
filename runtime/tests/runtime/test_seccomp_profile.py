"""Docker's default seccomp profile and its resolution into OCI ``linux.seccomp`` (no runtime needed)."""

from __future__ import annotations

import pytest

from berth.runtime.caps import DEFAULT_CAPS
from berth.runtime.seccomp import ProfileError, kernel_version, native_arch, oci_seccomp, validate_profile
from berth.runtime.seccomp_default import default_profile

AMD64 = {"arch": "amd64", "kernel": (6, 1)}


def allowed(seccomp: dict, *, unconditional: bool = False) -> set[str]:
    """Names some ALLOW rule lets through (``unconditional``: only rules without argument filters)."""
    return {n for r in seccomp["syscalls"] if r["action"] == "SCMP_ACT_ALLOW"
            and not (unconditional and r.get("args")) for n in r["names"]}


def rules_for(seccomp: dict, name: str) -> list[dict]:
    return [r for r in seccomp["syscalls"] if name in r["names"]]


def test_default_profile_is_valid_and_an_allow_list() -> None:
    profile = default_profile()
    validate_profile(profile)
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO" and profile["defaultErrnoRet"] == 1  # EPERM
    assert default_profile() == profile and default_profile() is not profile  # a fresh copy each time


def test_default_caps_on_amd64() -> None:
    sc = oci_seccomp(default_profile(), DEFAULT_CAPS, **AMD64)
    assert sc["defaultAction"] == "SCMP_ACT_ERRNO" and sc["defaultErrnoRet"] == 1
    assert sc["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    ok = allowed(sc, unconditional=True)
    assert {"read", "write", "execve", "fork", "arch_prctl", "modify_ldt", "chroot",
            "ptrace", "fchmodat2", "io_uring_setup"} <= ok
    # what the capability set does not cover stays blocked (the kernel would refuse most anyway,
    # but not all: unshare(CLONE_NEWUSER) and keyctl need no capability)
    for name in ("mount", "umount2", "unshare", "setns", "keyctl", "add_key", "request_key", "bpf",
                 "perf_event_open", "reboot", "kexec_load", "init_module", "open_by_handle_at", "sethostname",
                 "clock_settime", "settimeofday", "acct", "swapon", "pivot_root", "userfaultfd", "iopl",
                 "s390_runtime_instr", "set_tls", "riscv_flush_icache", "personality", "socket"):
        assert name not in ok, name
    # clone without namespace flags; clone3 answers ENOSYS so libc falls back to clone
    (clone,) = rules_for(sc, "clone")
    assert clone["args"] == [{"index": 0, "value": 0x7E020000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]
    (clone3,) = rules_for(sc, "clone3")
    assert (clone3["action"], clone3["errnoRet"]) == ("SCMP_ACT_ERRNO", 38)
    # socket: anything but AF_VSOCK; personality: the five personas only
    (sock,) = rules_for(sc, "socket")
    assert sock["args"] == [{"index": 0, "value": 40, "valueTwo": 0, "op": "SCMP_CMP_NE"}]
    assert sorted(r["args"][0]["value"] for r in rules_for(sc, "personality")) == [0, 8, 0x20000, 0x20008,
                                                                                   0xFFFFFFFF]


def test_x32_is_left_out_where_the_kernel_does_not_serve_it() -> None:
    with_x32 = oci_seccomp(default_profile(), DEFAULT_CAPS, **AMD64)
    without = oci_seccomp(default_profile(), DEFAULT_CAPS, **AMD64, x32=False)
    assert without["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]  # 32-bit x86 binaries still run
    assert without["syscalls"] == with_x32["syscalls"]  # the same rules: only the x32 copy is not compiled
    custom = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"]}
    assert oci_seccomp(custom, DEFAULT_CAPS, **AMD64, x32=False)["architectures"] == ["SCMP_ARCH_X86_64"]


def test_the_x32_probe_agrees_with_the_kernel() -> None:
    """getpid through the x32 ABI, made here in a child (the probe's own way) and compared."""
    import subprocess
    import sys

    from berth.runtime.seccomp import kernel_serves_x32

    if native_arch() != "amd64":
        assert kernel_serves_x32() is False
        return
    code = ("import ctypes, sys; r = ctypes.CDLL(None, use_errno=True).syscall(0x40000000 | 39, 0); "
            "sys.exit(0 if r > 0 else ctypes.get_errno())")
    proc = subprocess.run([sys.executable, "-c", code], check=False)
    assert proc.returncode in (0, 38, -31)  # served; ENOSYS; SIGSYS from a filter above us
    assert kernel_serves_x32() is (proc.returncode == 0)  # and, a child probing, this process lives on


def test_capabilities_unlock_their_syscalls() -> None:
    sc = oci_seccomp(default_profile(), [*DEFAULT_CAPS, "CAP_SYS_ADMIN", "CAP_SYS_TIME", "CAP_SYS_PTRACE"],
                     **AMD64)
    ok = allowed(sc, unconditional=True)
    assert {"mount", "umount2", "unshare", "setns", "clone", "clone3", "sethostname", "bpf", "clock_settime",
            "settimeofday", "kcmp", "pidfd_getfd", "process_madvise"} <= ok
    # the restricted clone and the clone3 ENOSYS rule are for containers without CAP_SYS_ADMIN only
    assert all(not r.get("args") for r in rules_for(sc, "clone"))
    assert all(r["action"] == "SCMP_ACT_ALLOW" for r in rules_for(sc, "clone3"))
    assert "reboot" not in ok and "init_module" not in ok
    dropped = oci_seccomp(default_profile(), [c for c in DEFAULT_CAPS if c != "CAP_SYS_CHROOT"], **AMD64)
    assert "chroot" not in allowed(dropped)


def test_architecture_and_kernel_conditions() -> None:
    arm = oci_seccomp(default_profile(), DEFAULT_CAPS, arch="arm64", kernel=(6, 1))
    assert arm["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert {"set_tls", "cacheflush", "arm_fadvise64_64"} <= allowed(arm)
    assert "arch_prctl" not in allowed(arm) and "modify_ldt" not in allowed(arm)
    s390 = oci_seccomp(default_profile(), DEFAULT_CAPS, arch="s390x", kernel=(6, 1))
    (clone,) = rules_for(s390, "clone")
    assert clone["args"][0]["index"] == 1  # s390 puts clone's flags second
    old = oci_seccomp(default_profile(), DEFAULT_CAPS, arch="amd64", kernel=(4, 4))
    assert "ptrace" not in allowed(old)  # before 4.8 ptrace could bypass seccomp
    # an architecture the archMap does not name: no architectures list (runc's native one)
    ppc = oci_seccomp(default_profile(), DEFAULT_CAPS, arch="ppc64le", kernel=(6, 1))
    assert "architectures" not in ppc and "sync_file_range2" in allowed(ppc)


@pytest.mark.parametrize(("machine", "arch"), [
    ("x86_64", "amd64"), ("i686", "x86"), ("aarch64", "arm64"), ("armv7l", "arm"), ("s390x", "s390x"),
    ("riscv64", "riscv64"), ("ppc64le", "ppc64le"),
])
def test_native_arch(machine, arch) -> None:
    assert native_arch(machine) == arch


def test_kernel_version() -> None:
    assert kernel_version("6.1.0-18-amd64") == (6, 1)
    assert kernel_version("4.8") == (4, 8)
    assert kernel_version("5.15.0+") == (5, 15)
    assert kernel_version("6") == (6, 0)


def test_custom_profile_shapes() -> None:
    assert oci_seccomp({}, DEFAULT_CAPS, **AMD64) is None  # nothing asked: no filter (moby)
    sc = oci_seccomp({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                      "flags": ["SECCOMP_FILTER_FLAG_LOG"],
                      "syscalls": [{"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                                   {"names": ["chmod"], "action": "SCMP_ACT_LOG",
                                    "args": [{"index": 1, "value": 0o4000, "op": "SCMP_CMP_MASKED_EQ",
                                              "valueTwo": 0o4000}]}]}, DEFAULT_CAPS, **AMD64)
    assert sc == {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                  "flags": ["SECCOMP_FILTER_FLAG_LOG"],
                  "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                               {"names": ["chmod"], "action": "SCMP_ACT_LOG",
                                "args": [{"index": 1, "value": 0o4000, "valueTwo": 0o4000,
                                          "op": "SCMP_CMP_MASKED_EQ"}]}]}


@pytest.mark.parametrize(("profile", "message"), [
    ([], "must be a JSON object"),
    ({"defaultAction": "SCMP_ACT_NOPE"}, 'defaultAction "SCMP_ACT_NOPE"'),
    ({"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}, "defaultAction is missing"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
      "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}, "both 'architectures' and 'archMap'"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["x86_64"]}, 'unknown architecture "x86_64"'),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}]},
     "both 'name' and 'names'"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]}, r"syscalls\[0\] names no"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "ALLOW"}]},
     r'syscalls\[0\]: action "ALLOW"'),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": "read", "action": "SCMP_ACT_ALLOW"}]},
     r"syscalls\[0\].names must be a list"),
    ({"defaultAction": "SCMP_ACT_ERRNO",
      "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "op": "SCMP_CMP_EQ"}]}]},
     r"args\[0\].index must be 0..5"),
    ({"defaultAction": "SCMP_ACT_ERRNO",
      "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "op": "EQ"}]}]},
     r'op "EQ"'),
    ({"defaultAction": "SCMP_ACT_ERRNO",
      "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "op": "SCMP_CMP_EQ",
                                                                            "value": -1}]}]},
     r"value must be an unsigned 64-bit integer"),
    ({"defaultAction": "SCMP_ACT_ERRNO",
      "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "new"}}]},
     'minKernel "new"'),
    ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": "EPERM"}, "defaultErrnoRet must be"),
])
def test_bad_profiles_are_refused_with_the_reason(profile, message) -> None:
    with pytest.raises(ProfileError, match=message):
        validate_profile(profile)
