"""``--volumes-from``: which mounts a new container inherits."""

from __future__ import annotations

import pytest

from berth.containers.spec import Mount
from berth.errors import InvalidArgument
from berth.volumes import volumes_from

SOURCE = [
    {"Type": "volume", "Name": "shared", "Source": "/r/volumes/shared/_data", "Destination": "/data",
     "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""},
    {"Type": "volume", "Name": "0" * 64, "Source": "/r/volumes/000/_data", "Destination": "/anon",
     "Driver": "local", "Mode": "", "RW": True, "Propagation": ""},
    {"Type": "bind", "Source": "/srv/conf", "Destination": "/etc/app", "Mode": "ro", "RW": False,
     "Propagation": "rprivate"},
    {"Type": "tmpfs", "Source": "", "Destination": "/run", "RW": True},
]


def test_same_volumes_and_binds_at_the_same_targets() -> None:
    assert volumes_from(SOURCE, "") == [
        Mount(type="volume", target="/data", source="shared"),
        Mount(type="volume", target="/anon", source="0" * 64),
        Mount(type="bind", target="/etc/app", source="/srv/conf", read_only=True, options=("rprivate",)),
    ]  # tmpfs is private to its container


def test_ro_makes_everything_read_only_and_rw_keeps_read_only_mounts() -> None:
    assert all(m.read_only for m in volumes_from(SOURCE, ":ro"))
    assert [m.read_only for m in volumes_from(SOURCE, ":rw")] == [False, False, True]
    assert [m.read_only for m in volumes_from(SOURCE, "rw")] == [False, False, True]


def test_bad_input() -> None:
    with pytest.raises(InvalidArgument, match='invalid mode for volumes-from: ":rx"'):
        volumes_from(SOURCE, ":rx")
    with pytest.raises(InvalidArgument, match="no Name"):
        volumes_from([{"Type": "volume", "Destination": "/d"}])
    assert volumes_from(None) == []
