"""Helpers of the container tests: ``berth run`` in miniature, logs, leftover mounts."""

from __future__ import annotations

from pathlib import Path

from berth.engine import Engine
from berth.engine import container_ops as co


def mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(str(path))]



def run(engine: Engine, *cmd: str, **spec_args) -> tuple[str, int]:
    """``berth run`` in miniature: create, start, wait; returns (cid, exit code)."""
    from berth.containers import ContainerSpec

    cid = co.create(engine, ContainerSpec(image="busybox", command=cmd or None, **spec_args))
    co.start(engine, cid)
    return cid, co.wait(engine, cid, timeout=30)


def output(engine: Engine, cid: str) -> str:
    return "".join(rec.line for rec in co.logs(engine, cid))
