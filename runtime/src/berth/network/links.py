"""Bridges and veth pairs through pyroute2 (imported here only: ``berth.network`` stays light).

``HostLinks`` holds one rtnetlink socket of the engine's own namespace; ``configure_inside``
opens one inside a container's namespace (``berth.network.netns.run_in``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from berth.network import netns
from berth.network.errors import NetworkSetupError


@dataclass(frozen=True)
class Interface:
    """One network of a container: the veth pair ``host_if`` (on ``bridge``) <-> ``ifname`` (inside)."""

    bridge: str
    host_if: str
    ifname: str  # eth0, eth1...
    address: ipaddress.IPv4Interface
    mac: str
    mtu: int
    gateway: ipaddress.IPv4Address | None  # None: no default route through this one


def _netlink_error(what: str, exc: Exception) -> NetworkSetupError:
    return NetworkSetupError(f"{what}: {exc}")


class HostLinks:
    def __init__(self) -> None:
        from pyroute2 import IPRoute

        self.ipr = IPRoute()

    def close(self) -> None:
        self.ipr.close()

    def __enter__(self) -> HostLinks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def index(self, name: str) -> int | None:
        found = self.ipr.link_lookup(ifname=name)
        return found[0] if found else None

    def names(self, prefix: str = "") -> list[str]:
        out = []
        for link in self.ipr.get_links():
            name = link.get("ifname") or link.get_attr("IFLA_IFNAME")
            if name and name.startswith(prefix):
                out.append(name)
        return out

    def ensure_bridge(self, name: str, gateway: ipaddress.IPv4Interface, mtu: int) -> None:
        """The bridge exists, is up, carries ``gateway`` (address/prefix) and ``mtu``; idempotent."""
        from pyroute2 import NetlinkError

        idx = self.index(name)
        try:
            if idx is None:
                with contextlib.suppress(NetlinkError):  # EEXIST: a concurrent start made it
                    self.ipr.link("add", ifname=name, kind="bridge")
                idx = self.index(name)
                if idx is None:
                    raise NetworkSetupError(f"bridge {name} could not be created")
            kind = _kind(self.ipr.get_links(idx)[0])
            if kind != "bridge":
                raise NetworkSetupError(f"device {name} exists and is not a bridge ({kind or 'no kind'}): "
                                        f"choose another bridge name")
            have = {(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in self.ipr.get_addr(index=idx, family=2)}
            if (str(gateway.ip), gateway.network.prefixlen) not in have:
                with contextlib.suppress(NetlinkError):  # EEXIST from a concurrent start
                    self.ipr.addr("add", index=idx, address=str(gateway.ip), prefixlen=gateway.network.prefixlen)
            self.ipr.link("set", index=idx, state="up", mtu=mtu)
        except NetlinkError as exc:
            raise _netlink_error(f"bridge {name}", exc) from None
        _sysctl(f"net/ipv4/conf/{name}/route_localnet", "1")  # DNAT from 127.0.0.1 to a container

    def add_veth(self, iface: Interface, ns_path: Path) -> None:
        """Create the pair with its inner end already in the namespace, then enslave and raise the host end."""
        from pyroute2 import NetlinkError

        bridge = self.index(iface.bridge)
        if bridge is None:
            raise NetworkSetupError(f"bridge {iface.bridge} does not exist")
        if self.index(iface.host_if) is not None:
            self.delete(iface.host_if)  # left by a namespace something else kept alive
        fd = os.open(ns_path, os.O_RDONLY)
        try:
            self.ipr.link("add", ifname=iface.host_if, kind="veth", mtu=iface.mtu,
                          peer={"ifname": iface.ifname, "net_ns_fd": fd, "address": iface.mac, "mtu": iface.mtu})
            idx = self.index(iface.host_if)
            if idx is None:
                raise NetworkSetupError(f"veth {iface.host_if} vanished after creation")
            self.ipr.link("set", index=idx, master=bridge)
            # hairpin: a container reaching its own published port through a host address gets the
            # packet back out of the port it came in by (needed where br_netfilter is loaded; Docker does it)
            self.ipr.brport("set", index=idx, mode=1)
            self.ipr.link("set", index=idx, state="up")
        except NetlinkError as exc:
            raise _netlink_error(f"veth {iface.host_if} on {iface.bridge}", exc) from None
        finally:
            os.close(fd)

    def delete(self, name: str) -> bool:
        """Delete a link (a veth's peer goes with it); False if it did not exist."""
        from pyroute2 import NetlinkError

        idx = self.index(name)
        if idx is None:
            return False
        try:
            self.ipr.link("del", index=idx)
        except NetlinkError as exc:
            if exc.code != 19:  # ENODEV: gone meanwhile
                raise _netlink_error(f"deleting {name}", exc) from None
        return True

    def routes_v4(self) -> list[ipaddress.IPv4Network]:
        """The host's IPv4 routes (auto subnet allocation avoids them)."""
        out = []
        for r in self.ipr.get_routes(family=2):
            dst = r.get_attr("RTA_DST")
            if dst and r["dst_len"]:
                with contextlib.suppress(ValueError):
                    out.append(ipaddress.IPv4Network(f"{dst}/{r['dst_len']}", strict=False))
        return out


def _kind(link) -> str:
    info = link.get_attr("IFLA_LINKINFO")
    return (info.get_attr("IFLA_INFO_KIND") if info is not None else "") or ""


def configure_inside(ns_path: Path, interfaces: Sequence[Interface], *, loopback: bool = True) -> None:
    """Inside the namespace: ``lo`` up, each interface's address, up, and the default route."""

    def body() -> None:
        from pyroute2 import IPRoute, NetlinkError

        with IPRoute() as ipr:
            try:
                if loopback:
                    lo = ipr.link_lookup(ifname="lo")
                    if lo:
                        ipr.link("set", index=lo[0], state="up")
                for iface in interfaces:
                    idx = ipr.link_lookup(ifname=iface.ifname)
                    if not idx:
                        raise NetworkSetupError(f"{iface.ifname} is missing in the container namespace")
                    ipr.addr("add", index=idx[0], address=str(iface.address.ip),
                             prefixlen=iface.address.network.prefixlen)
                    ipr.link("set", index=idx[0], state="up")
                gateway = next((i.gateway for i in interfaces if i.gateway is not None), None)
                if gateway is not None:
                    ipr.route("add", dst="default", gateway=str(gateway))
            except NetlinkError as exc:
                raise _netlink_error("configuring the container's interfaces", exc) from None

    netns.run_in(ns_path, body)


def set_default_route(ns_path: Path, gateway: ipaddress.IPv4Address) -> None:
    """Inside the namespace: the default route goes through ``gateway`` (replacing any)."""

    def body() -> None:
        from pyroute2 import IPRoute, NetlinkError

        with IPRoute() as ipr:
            try:
                ipr.route("replace", dst="default", gateway=str(gateway))
            except NetlinkError as exc:
                raise _netlink_error(f"default route via {gateway}", exc) from None

    netns.run_in(ns_path, body)


def remove_inside(ns_path: Path, ifnames: Iterable[str]) -> None:
    """``network disconnect`` of a running container: delete its interface(s) from inside."""

    def body() -> None:
        from pyroute2 import IPRoute

        with IPRoute() as ipr:
            for name in ifnames:
                idx = ipr.link_lookup(ifname=name)
                if idx:
                    ipr.link("del", index=idx[0])

    netns.run_in(ns_path, body)


def _sysctl(key: str, value: str) -> None:
    path = Path("/proc/sys") / key
    try:
        if path.read_text().strip() != value:
            path.write_text(value)
    except OSError as exc:
        raise NetworkSetupError(f"sysctl {key.replace('/', '.')}={value}: {exc}") from None


def enable_forwarding() -> None:
    _sysctl("net/ipv4/ip_forward", "1")
