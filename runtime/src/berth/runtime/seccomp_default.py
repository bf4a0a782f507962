"""Docker's default seccomp profile, as data in Docker's profile format (``--security-opt seccomp=FILE``).

Derived from moby's ``profiles/seccomp/default.json`` (github.com/moby/moby, Copyright Docker, Inc.,
Apache License 2.0; http://www.apache.org/licenses/LICENSE-2.0), as of the update that added the
syscalls of kernels 5.17 to 6.7 (moby#47341: cachestat, fchmodat2, map_shadow_stack and the futex2
calls). The rules, their order, the capability and architecture conditions and the actions are
moby's; this module restates them in Python (the engine role installs the package's ``*.py``
files only). ``berth.runtime.seccomp`` turns a profile into the OCI spec's ``linux.seccomp`` for
a container's capabilities, architecture and kernel, as moby's ``setupSeccomp`` does.

Shape: everything not listed fails with EPERM (``defaultErrnoRet`` 1); ``clone3`` fails with
ENOSYS without CAP_SYS_ADMIN, so that libc falls back to ``clone``, whose namespace flags are
refused by argument filter; the syscalls that only make sense with a capability are allowed
only when the container has it (``includes.caps``).
"""

from __future__ import annotations

from typing import Any

#: the syscalls every container may make
_ALLOWED: tuple[str, ...] = (
    "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset",
    "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
    "close", "close_range", "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
    "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
    "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
    "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
    "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr",
    "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
    "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait",
    "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
    "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
    "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
    "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid",
    "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
    "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
    "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get",
    "ioprio_set", "io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ipc",
    "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32",
    "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "_llseek", "lremovexattr", "lseek",
    "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier", "memfd_create",
    "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
    "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd",
    "msync", "munlock", "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
    "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
    "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
    "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read",
    "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64",
    "recvmsg", "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
    "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity",
    "sched_getattr", "sched_getparam", "sched_get_priority_max", "sched_get_priority_min",
    "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
    "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
    "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
    "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid",
    "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list",
    "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat",
    "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask",
    "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx",
    "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
    "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
    "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink",
    "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid",
    "waitpid", "write", "writev",
)

#: clone(2)/unshare(2) flags that create namespaces: CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP
_CLONE_NS_FLAGS = 0x7E020000
_ENOSYS = 38

#: (capability, syscalls it unlocks), in moby's order
_BY_CAPABILITY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("CAP_DAC_READ_SEARCH", ("open_by_handle_at",)),
    ("CAP_SYS_ADMIN", ("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
                       "lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open",
                       "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog", "umount",
                       "umount2", "unshare")),
)
_BY_CAPABILITY_AFTER_CLONE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("CAP_SYS_BOOT", ("reboot",)),
    ("CAP_SYS_CHROOT", ("chroot",)),
    ("CAP_SYS_MODULE", ("delete_module", "init_module", "finit_module")),
    ("CAP_SYS_PACCT", ("acct",)),
    ("CAP_SYS_PTRACE", ("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev",
                        "ptrace")),
    ("CAP_SYS_RAWIO", ("iopl", "ioperm")),
    ("CAP_SYS_TIME", ("settimeofday", "stime", "clock_settime", "clock_settime64")),
    ("CAP_SYS_TTY_CONFIG", ("vhangup",)),
    ("CAP_SYS_NICE", ("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node")),
    ("CAP_SYSLOG", ("syslog",)),
    ("CAP_BPF", ("bpf",)),
    ("CAP_PERFMON", ("perf_event_open",)),
)

#: (syscalls, the architectures, in libseccomp's native names, where they are allowed)
_BY_ARCH: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("sync_file_range2", "swapcontext"), ("ppc64le",)),
    (("arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"),
     ("arm", "arm64")),
    (("arch_prctl",), ("amd64", "x32")),
    (("modify_ldt",), ("amd64", "x32", "x86")),
    (("s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"), ("s390", "s390x")),
    (("riscv_flush_icache",), ("riscv64",)),
)

#: personality(2) personas a container may switch to: PER_LINUX, PER_LINUX32, UNAME26,
#: UNAME26|PER_LINUX32, and 0xffffffff (a query)
_PERSONALITIES = (0x0, 0x0008, 0x20000, 0x20008, 0xFFFFFFFF)

#: AF_VSOCK: the host's vsock is not namespaced
_AF_VSOCK = 40

_ARCH_MAP: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    ("SCMP_ARCH_X86_64", ("SCMP_ARCH_X86", "SCMP_ARCH_X32")),
    ("SCMP_ARCH_AARCH64", ("SCMP_ARCH_ARM",)),
    ("SCMP_ARCH_MIPS64", ("SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32")),
    ("SCMP_ARCH_MIPS64N32", ("SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64")),
    ("SCMP_ARCH_MIPSEL64", ("SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32")),
    ("SCMP_ARCH_MIPSEL64N32", ("SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64")),
    ("SCMP_ARCH_S390X", ("SCMP_ARCH_S390",)),
    ("SCMP_ARCH_RISCV64", None),
)

_ALLOW = "SCMP_ACT_ALLOW"


def _caps_rules(table: tuple[tuple[str, tuple[str, ...]], ...]) -> list[dict[str, Any]]:
    return [{"names": list(names), "action": _ALLOW, "includes": {"caps": [cap]}} for cap, names in table]


def default_profile() -> dict[str, Any]:
    """A fresh copy of Docker's default profile (Docker's JSON shape: ``archMap``, ``includes``...)."""
    arg0 = {"index": 0, "op": "SCMP_CMP_EQ"}
    syscalls: list[dict[str, Any]] = [
        {"names": list(_ALLOWED), "action": _ALLOW},
        {"names": ["process_vm_readv", "process_vm_writev", "ptrace"], "action": _ALLOW,
         "includes": {"minKernel": "4.8"}},
        {"names": ["socket"], "action": _ALLOW, "args": [{"index": 0, "value": _AF_VSOCK, "op": "SCMP_CMP_NE"}]},
        *({"names": ["personality"], "action": _ALLOW, "args": [{**arg0, "value": p}]} for p in _PERSONALITIES),
        *({"names": list(names), "action": _ALLOW, "includes": {"arches": list(arches)}}
          for names, arches in _BY_ARCH),
        *_caps_rules(_BY_CAPABILITY),
        {"names": ["clone"], "action": _ALLOW,
         "args": [{"index": 0, "value": _CLONE_NS_FLAGS, "op": "SCMP_CMP_MASKED_EQ"}],
         "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}},
        {"names": ["clone"], "action": _ALLOW,
         "args": [{"index": 1, "value": _CLONE_NS_FLAGS, "op": "SCMP_CMP_MASKED_EQ"}],
         "comment": "s390 parameter ordering for clone is different",
         "includes": {"arches": ["s390", "s390x"]}, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": _ENOSYS, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        *_caps_rules(_BY_CAPABILITY_AFTER_CLONE),
    ]
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [{"architecture": a, "subArchitectures": list(s) if s is not None else None} for a, s in _ARCH_MAP],
        "syscalls": syscalls,
    }
