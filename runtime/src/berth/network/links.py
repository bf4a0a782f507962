"""Bridges and veth pairs, through berth's own rtnetlink client (``berth.network.rtnl``).

``HostLinks`` holds one rtnetlink socket of the engine's own namespace; ``configure_inside``
opens one inside a container's namespace (``berth.network.netns.run_in``).
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import os
import socket
from collections.abc import Iterable, Sequence
from pathlib import Path

from berth.network import netns
from berth.network.errors import NetworkSetupError
from berth.network.model import Interface, mac_for
from berth.network.rtnl import RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST, NetlinkError, Rtnl, mac_bytes


def _netlink_error(what: str, exc: Exception) -> NetworkSetupError:
    return NetworkSetupError(f"{what}: {exc}")


def index(name: str) -> int | None:
    """The link's index in the calling thread's namespace, None if there is none."""
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return None


class HostLinks:
    def __init__(self) -> None:
        self.nl = Rtnl()

    def close(self) -> None:
        self.nl.close()

    def __enter__(self) -> HostLinks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def index(self, name: str) -> int | None:
        return index(name)

    def names(self, prefix: str = "") -> list[str]:
        return [name for _, name in socket.if_nameindex() if name.startswith(prefix)]

    def ensure_bridge(self, name: str, gateway: ipaddress.IPv4Interface, mtu: int) -> None:
        """The bridge exists, is up, carries ``gateway`` (address/prefix) and ``mtu``; idempotent."""
        idx = self.index(name)
        try:
            if idx is None:
                with _unless(errno.EEXIST):  # a concurrent start made it
                    # a fixed MAC (the gateway's, as a container's comes from its address): a bridge
                    # without one takes its lowest port's, and every container that had cached the
                    # gateway's MAC loses it (DNS too) when that port's container leaves (Docker pins it)
                    self.nl.add_bridge(name, mac_bytes(mac_for(gateway.ip)))
                idx = self.index(name)
                if idx is None:
                    raise NetworkSetupError(f"bridge {name} could not be created")
            kind = self.nl.link_kind(idx)
            if kind != "bridge":
                raise NetworkSetupError(f"device {name} exists and is not a bridge ({kind or 'no kind'}): "
                                        f"choose another bridge name")
            if (str(gateway.ip), gateway.network.prefixlen) not in self.nl.addresses_v4(idx):
                with _unless(errno.EEXIST):  # a concurrent start added it
                    self.nl.add_address_v4(idx, str(gateway.ip), gateway.network.prefixlen)
            self.nl.set_link(idx, up=True, mtu=mtu)
        except NetlinkError as exc:
            raise _netlink_error(f"bridge {name}", exc) from None
        _sysctl(f"net/ipv4/conf/{name}/route_localnet", "1")  # DNAT from 127.0.0.1 to a container

    def add_veth(self, iface: Interface, ns_path: Path) -> None:
        """Create the pair with its inner end already in the namespace, then enslave and raise the host end."""
        bridge = self.index(iface.bridge)
        if bridge is None:
            raise NetworkSetupError(f"bridge {iface.bridge} does not exist")
        if self.index(iface.host_if) is not None:
            self.delete(iface.host_if)  # left by a namespace something else kept alive
        fd = os.open(ns_path, os.O_RDONLY)
        try:
            self.nl.add_veth(iface.host_if, iface.mtu, iface.ifname, fd, mac_bytes(iface.mac))
            idx = self.index(iface.host_if)
            if idx is None:
                raise NetworkSetupError(f"veth {iface.host_if} vanished after creation")
            self.nl.set_link(idx, master=bridge)
            # hairpin: a container reaching its own published port through a host address gets the
            # packet back out of the port it came in by (needed where br_netfilter is loaded; Docker does it)
            self.nl.set_hairpin(idx)
            self.nl.set_link(idx, up=True)
        except NetlinkError as exc:
            raise _netlink_error(f"veth {iface.host_if} on {iface.bridge}", exc) from None
        finally:
            os.close(fd)

    def delete(self, name: str) -> bool:
        """Delete a link (a veth's peer goes with it); False if it did not exist."""
        idx = self.index(name)
        if idx is None:
            return False
        try:
            with _unless(errno.ENODEV):  # gone meanwhile
                self.nl.delete_link(idx)
        except NetlinkError as exc:
            raise _netlink_error(f"deleting {name}", exc) from None
        return True

    def routes_v4(self) -> list[ipaddress.IPv4Network]:
        """The host's IPv4 routes, every table (auto subnet allocation avoids them); not the
        kernel's local and broadcast entries, which only mirror the addresses."""
        out = []
        for r in self.nl.routes(socket.AF_INET):
            if r.dst and r.dst_len and r.type not in (RTN_LOCAL, RTN_BROADCAST, RTN_MULTICAST):
                with contextlib.suppress(ValueError):
                    out.append(ipaddress.IPv4Network(f"{r.dst}/{r.dst_len}", strict=False))
        return out


@contextlib.contextmanager
def _unless(code: int):
    """Ignore the kernel's ``code`` (EEXIST of a concurrent change, ENODEV of a link gone meanwhile)."""
    try:
        yield
    except NetlinkError as exc:
        if exc.errno != code:
            raise


def configure_inside(ns_path: Path, interfaces: Sequence[Interface], *, loopback: bool = True) -> None:
    """Inside the namespace: ``lo`` up, each interface's address, up, and the default route."""

    def body() -> None:
        with Rtnl() as nl:
            try:
                lo = index("lo")
                if loopback and lo is not None:
                    nl.set_link(lo, up=True)
                for iface in interfaces:
                    idx = index(iface.ifname)
                    if idx is None:
                        raise NetworkSetupError(f"{iface.ifname} is missing in the container namespace")
                    nl.add_address_v4(idx, str(iface.address.ip), iface.address.network.prefixlen)
                    nl.set_link(idx, up=True)
                gateway = next((i.gateway for i in interfaces if i.gateway is not None), None)
                if gateway is not None:
                    nl.set_default_route_v4(str(gateway))
            except NetlinkError as exc:
                raise _netlink_error("configuring the container's interfaces", exc) from None

    netns.run_in(ns_path, body)


def set_default_route(ns_path: Path, gateway: ipaddress.IPv4Address) -> None:
    """Inside the namespace: the default route goes through ``gateway`` (replacing any)."""

    def body() -> None:
        with Rtnl() as nl:
            try:
                nl.set_default_route_v4(str(gateway), replace=True)
            except NetlinkError as exc:
                raise _netlink_error(f"default route via {gateway}", exc) from None

    netns.run_in(ns_path, body)


def remove_inside(ns_path: Path, ifnames: Iterable[str]) -> None:
    """``network disconnect`` of a running container: delete its interface(s) from inside."""

    def body() -> None:
        with Rtnl() as nl:
            for name in ifnames:
                idx = index(name)
                if idx is not None:
                    with _unless(errno.ENODEV):
                        nl.delete_link(idx)

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
