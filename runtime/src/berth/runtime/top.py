"""``berth top``: the processes of a running container, read from /proc (no runtime spawn).

A process belongs to the container when it lives in the container's pid namespace (its init's
``/proc/<pid>/ns/pid``): that covers ``exec``'d processes too, as ``docker top`` shows them.
"""

from __future__ import annotations

import os
from typing import Any

from berth.runtime.context import RuntimeContext
from berth.runtime.errors import ContainerNotRunning
from berth.runtime.liveness import is_alive

TITLES = ["PID", "USER", "TIME", "CMD"]


def top(ctx: RuntimeContext, cid: str) -> dict[str, Any]:
    """Docker's ContainerTop shape: ``{"Titles": [...], "Processes": [[...], ...]}``, by pid."""
    st = ctx.containers.state(cid)
    if not is_alive(st.Pid, st.PidStartTime):
        raise ContainerNotRunning(f"Container {cid} is not running", container=cid)
    try:
        ns = os.readlink(f"/proc/{st.Pid}/ns/pid")
    except OSError:
        raise ContainerNotRunning(f"Container {cid} is not running", container=cid) from None
    users = _passwd(f"/proc/{st.Pid}/root/etc/passwd")
    rows: list[tuple[int, list[str]]] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            if os.readlink(f"/proc/{pid}/ns/pid") != ns:
                continue
            row = _row(pid, users)
        except OSError:  # exited meanwhile
            continue
        rows.append((pid, row))
    return {"Titles": list(TITLES), "Processes": [r for _, r in sorted(rows)]}


def _row(pid: int, users: dict[int, str]) -> list[str]:
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    comm = stat[stat.index(b"(") + 1:stat.rindex(b")")].decode(errors="replace")
    rest = stat.rsplit(b")", 1)[-1].split()
    ticks = (int(rest[11]) + int(rest[12])) // (os.sysconf("SC_CLK_TCK") or 100)  # utime + stime
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    uid = _uid(pid)
    user = users.get(uid, str(uid))
    cmd = " ".join(argv) if argv else f"[{comm}]"
    return [str(pid), user, f"{ticks // 3600:02d}:{ticks // 60 % 60:02d}:{ticks % 60:02d}", cmd]


def _uid(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return -1


def _passwd(path: str) -> dict[int, str]:
    """uid -> name from the container's /etc/passwd (what the container calls its users)."""
    out: dict[int, str] = {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                parts = line.split(":")
                if len(parts) > 2 and parts[2].isdigit():
                    out.setdefault(int(parts[2]), parts[0])
    except OSError:
        pass
    return out
