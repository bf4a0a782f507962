"""The firewall's input: what must be true, independent of the backend."""

from __future__ import annotations

from typing import Literal

from berth.structs import dataclass


@dataclass(frozen=True, order=True)
class BridgeRule:
    """A bridge network with at least one running container (or the default bridge)."""

    bridge: str  # device name, e.g. "berth0", "br-0123456789ab"
    subnet: str  # "172.17.0.0/16"
    internal: bool = False  # --internal: no traffic in or out of the bridge except to the host


@dataclass(frozen=True, order=True)
class PortRule:
    """One published port: ``-p [host_ip:]host_port:container_port/proto``."""

    proto: Literal["tcp", "udp"]
    host_ip: str  # "" = every local address of the host
    host_port: int
    container_ip: str
    container_port: int
    bridge: str  # the bridge the container address is on


@dataclass(frozen=True)
class FirewallState:
    bridges: tuple[BridgeRule, ...] = ()
    ports: tuple[PortRule, ...] = ()
    # where the rules live: the nftables table / iptables chain prefix of this engine
    # ("berth" / "BERTH" for the default root; a suffix keeps several engines on one host apart)
    ident: str = "berth"
