"""Is a container's process alive? One /proc read, no runtime spawn (the ps/inspect budget).

A pid alone can be reused; pid plus its start time (field 22 of
/proc/<pid>/stat) cannot, so signals go only to the process we started.
"""

from __future__ import annotations

import os
import signal as _signal


def start_time(pid: int) -> int:
    """Clock ticks after boot at which ``pid`` started; 0 if it does not exist."""
    if pid <= 0:
        return 0
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return 0
    # comm (field 2) may contain spaces and parens: split after the last ")".
    rest = data.rsplit(b")", 1)[-1].split()
    if len(rest) < 20 or rest[0] == b"Z":  # a zombie has exited
        return 0
    return int(rest[19])


def is_alive(pid: int, started: int) -> bool:
    return pid > 0 and started > 0 and start_time(pid) == started


def send_signal(pid: int, started: int, sig: int) -> bool:
    """Signal the process if it is still the one that started at ``started``; False if gone."""
    try:
        fd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        return False
    try:
        if start_time(pid) != started:  # checked after opening the pidfd: the pid cannot be reused now
            return False
        _signal.pidfd_send_signal(fd, sig)
        return True
    except ProcessLookupError:
        return False
    finally:
        os.close(fd)


def parse_signal(name: str | int | None, default: int = _signal.SIGTERM) -> int:
    """"SIGTERM", "TERM", "15", "SIGRTMIN+3" or 15 -> its number (Docker accepts all of them); the
    parsing is ``berth.containers.values.parse_signal_number``, as for ``--stop-signal``."""
    from berth.containers.values import parse_signal_number
    from berth.errors import InvalidArgument
    from berth.runtime.errors import InvalidContainerConfig

    if name is None or name == "":
        return int(default)
    if isinstance(name, int):
        return name
    try:
        return parse_signal_number(name, "--signal")
    except InvalidArgument:
        raise InvalidContainerConfig(f"invalid signal: {name}", value=name) from None
