"""The mutable half of a container record: ``state.json``.

Field names are Docker's (``docker inspect`` .State) so inspect can return
them as they are; ``PidStartTime`` (clock ticks since boot, from
/proc/<pid>/stat) is ours: with ``Pid`` it identifies the process even after
the pid is reused, which keeps liveness checks to one /proc read.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from berth.structs import asdict, dataclass, fields

Status = Literal["created", "running", "paused", "restarting", "removing", "exited", "dead"]
ZERO_TIME = "0001-01-01T00:00:00Z"  # Docker's "never"


def now_rfc3339() -> str:
    return rfc3339_ns(time.time_ns())


def rfc3339_ns(ns: int) -> str:
    """UTC, to the microsecond, ``Z``-suffixed: what ``datetime.isoformat`` gives, without importing
    datetime (and math) on every ``run``'s path."""
    secs, sub = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{sub // 1000:06d}Z"


@dataclass
class ContainerState:
    Status: Status = "created"
    Running: bool = False
    Paused: bool = False
    Restarting: bool = False
    OOMKilled: bool = False
    Dead: bool = False
    Pid: int = 0
    ExitCode: int = 0
    Error: str = ""
    StartedAt: str = ZERO_TIME
    FinishedAt: str = ZERO_TIME
    RestartCount: int = 0
    #: not Docker's: see the module docstring
    PidStartTime: int = 0
    #: not Docker's: set by stop/kill from the user, so unless-stopped/always can tell (restart policies)
    ManuallyStopped: bool = False
    #: not Docker's: pid of the conmon monitor
    MonitorPid: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ContainerState:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def docker_view(self) -> dict[str, Any]:
        """``docker inspect`` .State (without our private fields)."""
        d = self.to_dict()
        for private in ("PidStartTime", "ManuallyStopped", "MonitorPid", "RestartCount"):
            d.pop(private)
        return d
