"""Is a container's process alive? One /proc read, no runtime spawn (the ps/inspect budget).

A pid alone can be reused; pid plus its start time (field 22 of
/proc/<pid>/stat) cannot, so signals go only to the process we started.
"""

from __future__ import annotations

import os
import select
import signal as _signal
import time


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


class ExitWatch:
    """Sleeps that end early when one process exits (poll(2) on its pidfd, readable at its exit):
    a follower of a container learns of the exit at once, not at its next poll."""

    def __init__(self, pid: int, started: int) -> None:
        self.fd: int | None = None
        if pid <= 0:
            return
        try:
            self.fd = os.pidfd_open(pid)
        except (OSError, AttributeError):
            return
        if start_time(pid) != started:  # gone, or the pid reused: nothing to watch
            self.close()

    def sleep(self, seconds: float) -> None:
        if self.fd is None:
            time.sleep(seconds)
        elif select.select([self.fd], [], [], seconds)[0]:
            self.close()  # exited: later sleeps are plain ones

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> ExitWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
