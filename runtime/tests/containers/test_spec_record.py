"""The creation spec survives the container record's JSON unchanged."""

from __future__ import annotations

import json

from berth.containers.record import SPEC_KEY, recorded_spec, spec_from_json, spec_to_json
from berth.containers.spec import ContainerSpec, Mount, PortBinding, RestartPolicy

FULL = ContainerSpec(
    image="busybox:latest", name="web", command=("sleep", "1"), entrypoint=(), env=(("A", "1"), ("B", "")),
    workdir="/w", user="1:2", hostname="h", labels=(("l", "v"),), tty=True, interactive=True,
    mounts=(Mount("bind", "/data", "/srv", True, ("rprivate",)), Mount("volume", "/v"),
            Mount("tmpfs", "/run", options=("size=1024",), create_host_path=True),
            Mount("bind", "/m", "/src", create_host_path=False)),
    volumes_from=("other:ro",), restart=RestartPolicy("on-failure", 3), auto_remove=False, memory=1 << 30,
    nano_cpus=1_500_000_000, pids_limit=50, read_only=True, cap_add=("NET_ADMIN",), cap_drop=("ALL",),
    privileged=False, stop_signal="SIGINT", stop_timeout=3, init=True,
    ports=(PortBinding(80, "tcp", "127.0.0.1", 8080), PortBinding(53, "udp", "", 8000, 8010)), publish_all=True,
    network="web", dns=("1.1.1.1",), extra_hosts=(("db", "10.0.0.2"),), ip="10.0.0.3", network_aliases=("a",),
)


def test_a_spec_round_trips_through_json():
    for spec in (FULL, ContainerSpec(image="busybox")):
        assert spec_from_json(json.loads(json.dumps(spec_to_json(spec)))) == spec


def test_records_without_a_spec_and_unknown_keys():
    assert recorded_spec({"Id": "x"}) is None
    data = {**spec_to_json(ContainerSpec(image="busybox")), "future_field": 1}
    assert recorded_spec({SPEC_KEY: data}) == ContainerSpec(image="busybox")
