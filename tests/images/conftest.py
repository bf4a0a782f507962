"""Fixtures of the service image tests: one engine per module with the images of images/ (cached
under $BERTH_TEST_CACHE by ``service_images``), and networking of its own (``rtkit``).

The engine tests' helpers (rtkit, nethost, filekit) live in runtime/tests, put on sys.path here as
runtime/tests/conftest.py does for its own tests.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1] / "runtime" / "tests")]

from rtkit import isolated_engine, teardown_engine  # noqa: E402
from runkit import Started, remove, start  # noqa: E402
from service_images import default_cache_dir, ensure_image  # noqa: E402

from berth.engine import Engine  # noqa: E402


def _need_runtime() -> None:
    if os.geteuid() != 0:
        pytest.skip("container tests need root")
    for tool in ("runc", "conmon"):
        if shutil.which(tool) is None and not os.access(f"/usr/sbin/{tool}", os.X_OK):
            pytest.skip(f"{tool} is not installed")


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """An engine of this module's own; its containers are force-removed and its network torn down after."""
    _need_runtime()
    engine = isolated_engine(tmp_path_factory.mktemp("services") / "root")
    yield engine
    teardown_engine(engine)


@pytest.fixture(scope="module")
def service_image(services: Engine) -> Callable[[str], str]:
    """``service_image("nginx")`` -> ``local/nginx:latest`` in ``services``: loaded from the cache or built."""
    cache = default_cache_dir()
    return lambda name: ensure_image(services, name, cache)



@pytest.fixture
def run(services: Engine) -> Iterator[Callable[..., Started]]:
    """``run(image, 80, mounts=..., env=...)``: ``runkit.start`` in ``services``; the test's containers
    and their anonymous volumes are removed after it."""
    cids: list[str] = []

    def run_one(image: str, *container_ports: int, **spec) -> Started:
        started = start(services, image, *container_ports, **spec)
        cids.append(started.cid)
        return started

    yield run_one
    for cid in cids:
        remove(services, cid)


@pytest.fixture
def user_network(services: Engine) -> Iterator[str]:
    """A user network (a compose project's), removed after the test with the containers on it."""
    net = services.networks.create_network("compose_default")
    yield net.Name
    for cid in services.networks.users_of(net.Id):
        remove(services, cid)
    services.networks.remove_network(net.Name)
