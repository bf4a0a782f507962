"""One playbook run converges three hosts over SSH; each host's engine is its own (resources,
bridges, firewall), and a published port on one host is reachable from another."""

from __future__ import annotations

import ipaddress
import subprocess

import pytest
from fleetkit import Fleet
from nethost import httpd_cmd, wait_http

HOSTS = ("h1", "h2", "h3")


def own(fleet: Fleet, kind: str, prefix: str) -> dict[str, list[str]]:
    """host -> names of its ``kind`` ("volumes"/"networks") starting with ``prefix``."""
    return {h.name: sorted(n for n in getattr(h, kind)() if n.startswith(prefix)) for h in fleet.hosts}


def test_check_mode_reports_changes_and_makes_none(fleet: Fleet) -> None:
    run = fleet.play("basics.yml", check=True, prefix="chk").check()
    for host in HOSTS:
        assert run.changed_tasks(host) == ["volume", "network"], run.output
    assert own(fleet, "volumes", "chk") == own(fleet, "networks", "chk") == {h: [] for h in HOSTS}


def test_converge_then_nothing_to_do(fleet: Fleet) -> None:
    first = fleet.play("basics.yml", prefix="app").check()
    assert {h: first.changed_tasks(h) for h in HOSTS} == {h: ["volume", "network"] for h in HOSTS}
    # each engine has exactly its host's resources: the hosts share a filesystem, not a root
    assert own(fleet, "volumes", "app") == {h: [f"app-data-{h}"] for h in HOSTS}
    assert own(fleet, "networks", "app") == {h: [f"app-net-{h}"] for h in HOSTS}
    for h in fleet.hosts:  # from the host's own engine config
        subnet = h.networks()[f"app-net-{h.name}"]["IPAM"]["Config"][0]["Subnet"]
        assert ipaddress.ip_network(subnet).subnet_of(h.pool), (h.name, subnet, h.pool)

    again = fleet.play("basics.yml", prefix="app").check()
    assert {h: again.changed_tasks(h) for h in HOSTS} == {h: [] for h in HOSTS}, again.output


def test_drift_on_one_host_is_repaired_there_only(fleet: Fleet) -> None:
    fleet.play("basics.yml", prefix="dr").check()
    fleet.host("h2").berth("volume", "rm", "dr-data-h2")  # someone on h2 removes it by hand
    run = fleet.play("basics.yml", prefix="dr").check()
    assert {h: run.changed_tasks(h) for h in HOSTS} == {"h1": [], "h2": ["volume"], "h3": []}
    assert "dr-data-h2" in fleet.host("h2").volumes()


def test_limit_to_a_group(fleet: Fleet) -> None:
    run = fleet.play("basics.yml", limit="back", prefix="grp").check()
    assert sorted(run.hosts("volume")) == ["h2", "h3"]
    assert own(fleet, "volumes", "grp") == {"h1": [], "h2": ["grp-data-h2"], "h3": ["grp-data-h3"]}


@pytest.mark.slow
def test_published_port_is_reachable_from_another_host(fleet: Fleet) -> None:
    a, b = fleet.host("h1"), fleet.host("h2")
    a.berth("run", "-d", "--name", "web", "-p", "8080:80", "busybox", *httpd_cmd(body="hello-from-h1"))
    try:
        assert wait_http(f"http://{a.addr}:8080/", fetch=b.fetch).strip() == "hello-from-h1"
        assert b.fetch(f"http://{b.addr}:8080/", timeout=1) is None  # nothing published on B
        # A's bridge (and the DNAT rules with it) lives in A's namespace only
        assert a.bridge in a.run("ip", "-o", "link").stdout
        for elsewhere in (b.run("ip", "-o", "link"), fleet.host("h3").run("ip", "-o", "link"),
                          subprocess.run(["ip", "-o", "link"], capture_output=True, text=True)):
            assert a.bridge not in elsewhere.stdout
        assert "web" in a.containers() and "web" not in b.containers()
    finally:
        a.berth("rm", "-f", "web")


@pytest.mark.slow
def test_container_started_over_ssh_is_wired_in_its_host(fleet: Fleet) -> None:
    """The module runs in the SSH session, so in the host's namespace: h3's port answers on h3's
    address, from h1."""
    try:
        fleet.play("web.yml", limit="h3", port=8081).check()
        assert wait_http(f"http://{fleet.host('h3').addr}:8081/", fetch=fleet.host("h1").fetch).strip() == "hello-h3"
    finally:
        fleet.host("h3").berth("rm", "-f", "web", check=False)


def test_files_and_sessions_are_per_host(fleet: Fleet) -> None:
    run = fleet.play("files.yml").check()
    for h in fleet.hosts:
        assert (h.files / "whoami.txt").read_text() == f"I am {h.name}\n"
        # the SSH session (so every module) runs in the host's namespace: eth0 there has its address
        assert f"inet {h.addr}/" in run[h.name, "where the session runs"]["stdout"]
