"""berth's rtnetlink client: message encoding, and every request against a real kernel inside a
throwaway network namespace (the host's links are never touched), checked with ``ip``."""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from berth.network import netns, rtnl
from berth.network.errors import NetworkSetupError
from berth.network.links import HostLinks, configure_inside, index, remove_inside, set_default_route
from berth.network.model import Interface


def test_attributes_are_padded_to_four_bytes_and_parse_back():
    raw = rtnl.attr(rtnl.IFLA_IFNAME, rtnl.cstr("eth0")) + rtnl.attr(rtnl.IFLA_MTU, rtnl.u32(1400))
    assert len(raw) == 12 + 8  # header 4 + "eth0\0" 5, padded to 12; then 4 + 4
    assert rtnl.parse_attrs(raw) == {rtnl.IFLA_IFNAME: b"eth0\0", rtnl.IFLA_MTU: (1400).to_bytes(4, "little")}


def test_nested_flag_is_masked_when_parsing():
    raw = rtnl.attr(rtnl.IFLA_PROTINFO | rtnl.NLA_F_NESTED, rtnl.attr(rtnl.IFLA_BRPORT_MODE, b"\1"))
    inner = rtnl.parse_attrs(raw)[rtnl.IFLA_PROTINFO]
    assert rtnl.parse_attrs(inner) == {rtnl.IFLA_BRPORT_MODE: b"\1"}


def test_a_truncated_attribute_stops_the_parse():
    assert rtnl.parse_attrs(b"\x02\x00\x01\x00garbage") == {}


def test_mac_bytes():
    assert rtnl.mac_bytes("02:42:0a:00:00:05") == bytes([2, 0x42, 10, 0, 0, 5])


# -- live: a namespace of the test's own, entered by a thread ---------------------------
@pytest.fixture
def ns(tmp_path: Path):
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to create and inspect a network namespace")
    outer, inner = tmp_path / "outer", tmp_path / "inner"
    netns.create(outer)
    netns.create(inner)
    yield outer, inner
    netns.remove(inner)
    netns.remove(outer)


def ip_json(path: Path, *args: str) -> list[dict]:
    out = subprocess.run(["nsenter", f"--net={path}", "ip", "-j", "-d", *args], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out or "[]")


def link(path: Path, name: str) -> dict:
    return next(x for x in ip_json(path, "addr", "show") if x["ifname"] == name)


def test_bridge_veth_addresses_routes_and_delete_as_ip_shows_them(ns):
    outer, inner = ns
    iface = Interface(bridge="brt0", host_if="vt0", ifname="eth0", mac="02:42:0a:fe:00:05", mtu=1400,
                      address=ipaddress.IPv4Interface("10.254.0.5/24"),
                      gateway=ipaddress.IPv4Address("10.254.0.1"))

    def host_side() -> list[str]:
        with HostLinks() as links:
            gw = ipaddress.IPv4Interface("10.254.0.1/24")
            links.ensure_bridge("brt0", gw, 1400)
            links.ensure_bridge("brt0", gw, 1400)  # idempotent: no EEXIST, one address
            links.add_veth(iface, inner)
            routes = [str(r) for r in links.routes_v4()]
            names = links.names("vt")
        return [*routes, *names]

    got = netns.run_in(outer, host_side)
    assert "10.254.0.0/24" in got and "vt0" in got

    bridge = link(outer, "brt0")
    assert bridge["address"] == "02:42:0a:fe:00:01"  # pinned: the gateway's, not the lowest port's
    assert bridge["mtu"] == 1400 and "UP" in bridge["flags"] and bridge["linkinfo"]["info_kind"] == "bridge"
    assert [(a["local"], a["prefixlen"]) for a in bridge["addr_info"] if a["family"] == "inet"] == [("10.254.0.1", 24)]
    veth = link(outer, "vt0")
    assert veth["master"] == "brt0" and veth["mtu"] == 1400 and veth["linkinfo"]["info_slave_data"]["hairpin"] is True

    configure_inside(inner, [iface])
    eth0 = link(inner, "eth0")
    assert eth0["address"] == "02:42:0a:fe:00:05" and eth0["mtu"] == 1400 and "UP" in eth0["flags"]
    assert [(a["local"], a["prefixlen"]) for a in eth0["addr_info"] if a["family"] == "inet"] == [("10.254.0.5", 24)]
    assert "UP" in link(inner, "lo")["flags"]
    assert {"dst": "default", "gateway": "10.254.0.1"}.items() <= ip_json(inner, "route", "show", "default")[0].items()

    set_default_route(inner, ipaddress.IPv4Address("10.254.0.9"))  # replaces, never adds a second
    assert [r["gateway"] for r in ip_json(inner, "route", "show", "default")] == ["10.254.0.9"]

    remove_inside(inner, ["eth0", "eth9"])  # a missing one is no error
    assert [x["ifname"] for x in ip_json(inner, "link", "show")] == ["lo"]
    assert netns.run_in(outer, lambda: index("vt0")) is None  # the peer went with it
    assert link(outer, "brt0")["address"] == "02:42:0a:fe:00:01"  # its last port gone, the bridge kept it

    def delete_bridge() -> tuple[bool, bool]:
        with HostLinks() as links:
            return links.delete("brt0"), links.delete("brt0")

    assert netns.run_in(outer, delete_bridge) == (True, False)


def test_kernel_refusals_raise_with_their_errno(ns):
    outer, _ = ns

    def body() -> None:
        with rtnl.Rtnl() as nl:
            nl.add_bridge("brt1")
            with pytest.raises(rtnl.NetlinkError) as exists:
                nl.add_bridge("brt1")
            assert exists.value.errno == errno.EEXIST
            with pytest.raises(rtnl.NetlinkError) as missing:
                nl.delete_link(999999)
            assert missing.value.errno == errno.ENODEV
            nl.request(rtnl.RTM_NEWLINK, rtnl.ifinfo(index("lo"), up=True))  # the socket is still usable

    netns.run_in(outer, body)


def test_a_device_of_another_kind_is_not_taken_for_the_bridge(ns):
    outer, _ = ns
    subprocess.run(["nsenter", f"--net={outer}", "ip", "link", "add", "brt2", "type", "veth", "peer", "name", "brt2p"],
                   check=True)

    def body() -> None:
        with HostLinks() as links, pytest.raises(NetworkSetupError, match=r"brt2 exists and is not a bridge \(veth\)"):
            links.ensure_bridge("brt2", ipaddress.IPv4Interface("10.254.1.1/24"), 1500)

    netns.run_in(outer, body)


def test_dumps_larger_than_one_datagram_are_read_whole(ns):
    outer, _ = ns
    batch = "".join(f"route add 10.{100 + i // 250}.{i % 250}.0/24 dev lo\n" for i in range(1500))
    subprocess.run(["nsenter", f"--net={outer}", "ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["nsenter", f"--net={outer}", "ip", "-batch", "-"], input=batch, text=True, check=True)

    def body() -> int:
        with HostLinks() as links:
            return len(links.routes_v4())

    assert netns.run_in(outer, body) == 1500
