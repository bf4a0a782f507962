"""``container_ops.create`` refusing bad input leaves nothing behind: no record, no name claim, no host
directory made for a ``-v`` bind, no volume (real engine root; the refusals come before any runtime)."""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.containers import ContainerSpec
from berth.containers.spec import Mount
from berth.engine import container_ops as co
from berth.errors import InvalidArgument
from berth.runtime.errors import NameInUse


def test_a_refused_create_removes_the_bind_dirs_it_made(rt, tmp_path: Path) -> None:
    co.create(rt, ContainerSpec(image="busybox", name="taken", command=("true",)))
    parent = tmp_path / "host"
    parent.mkdir()
    deep = parent / "new" / "deeper" / "data"
    with pytest.raises(NameInUse):
        co.create(rt, ContainerSpec(image="busybox", name="taken", command=("true",),
                                    mounts=(Mount("bind", "/data", str(deep)), Mount("volume", "/v", "fresh-vol"))))
    assert list(parent.iterdir()) == []  # new/deeper/data all gone, the existing parent kept
    assert [v["Name"] for v in rt.volumes.list()] == []
    cid = co.create(rt, ContainerSpec(image="busybox", command=("true",), mounts=(Mount("bind", "/data", str(deep)),)))
    assert deep.is_dir() and co.inspect(rt, cid)["HostConfig"]["Binds"] == [f"{deep}:/data"]  # made when it works


def test_nothing_to_run_is_refused_before_the_name_is_claimed(rt) -> None:
    with pytest.raises(InvalidArgument, match="no command specified"):
        co.create(rt, ContainerSpec(image="busybox", entrypoint=(), name="noop"))
    assert not (rt.paths.root / "container-names" / "noop").exists()
    assert [p for p in rt.system_check().problems if "noop" in str(p)] == []


def test_init_without_tini_on_the_host_is_refused_at_create(rt, monkeypatch) -> None:
    import berth.runtime.oci as oci

    monkeypatch.setattr(oci, "find_init_binary", lambda: None)  # a host without the tini package
    with pytest.raises(InvalidArgument, match="--init needs tini on the host"):
        co.create(rt, ContainerSpec(image="busybox", name="with-init", command=("true",), init=True))
    assert rt.containers(all=True) == []
    assert not (rt.paths.root / "container-names" / "with-init").exists()
