"""Containers of the service image tests: started with published ports, as ``berth run -d -p``."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from nethost import free_port

from berth.containers import ContainerSpec
from berth.containers.ports import parse_publish
from berth.engine import Engine
from berth.engine import container_ops as co
from berth.errors import NotFound


@dataclass
class Started:
    """A running container and the host ports its container ports are published on."""

    cid: str
    ports: dict[int, int]

    def url(self, container_port: int, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.ports[container_port]}{path}"


def start(engine: Engine, image: str, *container_ports: int, **spec) -> Started:
    """Create and start ``image`` with each listed port published on a free host port (the seeds'
    80/3307/8080 may be taken on a test machine); ``spec``: further ``ContainerSpec`` fields."""
    ports = {p: free_port() for p in container_ports}
    bindings = tuple(b for p, host in ports.items() for b in parse_publish(f"{host}:{p}"))
    cid = co.create(engine, ContainerSpec(image=image, ports=bindings, **spec), detach=True)
    try:
        co.start(engine, cid)
    except BaseException:
        remove(engine, cid)
        raise
    return Started(cid, ports)


def remove(engine: Engine, cid: str) -> None:
    """``rm -f -v``; gone already (a test removed it) is fine."""
    with contextlib.suppress(NotFound):
        co.rm(engine, cid, force=True, volumes=True)
