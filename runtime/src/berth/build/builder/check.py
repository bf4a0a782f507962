"""The build's part of ``berth system check``: RUN containers of a builder that was killed.

A RUN step's container carries the label ``berth.build.owner`` = ``<pid>:<start time>`` of the
``berth build`` process. A build removes its containers whatever happens, unless it is killed
(kill -9, a crash, a reboot): then the container outlives it, running or exited. Such a container
is reported, and removed with its anonymous volumes on repair. The step's image was never
written, and the temp dirs of a killed COPY step are found by the store's check (by pid).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from berth.runtime.liveness import is_alive, start_time

OWNER_LABEL = "berth.build.owner"


def owner_label() -> tuple[str, str]:
    pid = os.getpid()
    return OWNER_LABEL, f"{pid}:{start_time(pid)}"


def _owner_alive(value: str) -> bool:
    pid, _, started = value.partition(":")
    try:
        return is_alive(int(pid), int(started))
    except ValueError:
        return False


def check_build(engine: Any, repair: bool) -> list[dict[str, Any]]:
    from berth.engine import container_ops as co
    from berth.errors import BerthError

    ctx = co.runtime_context(engine)
    problems = []
    for cid in ctx.containers.ids():
        with contextlib.suppress(BerthError, OSError):
            labels = (ctx.containers.config(cid).get("Config") or {}).get("Labels") or {}
            owner = labels.get(OWNER_LABEL)
            if owner is None or _owner_alive(owner):
                continue
            problem = {"kind": "stale-build-container", "subject": cid,
                       "detail": f"RUN container of a build that no longer runs (pid {owner.partition(':')[0]})",
                       "repaired": False}
            if repair:
                co.rm(engine, cid, force=True, volumes=True)
                problem["repaired"] = True
            problems.append(problem)
    return problems
