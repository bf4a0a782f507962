"""What both backends render, checked and in one canonical order.

``plan(state)`` validates everything that ends up inside an ``nft`` script or an
``iptables-restore`` file (names are interpolated, so a quote or a space must never get through)
and sorts it, so the same state always renders byte-for-byte the same text whatever order the
caller listed bridges and ports in. Both renderers walk the same ``Plan``: the two backends
cannot drift apart in what they mean.
"""

from __future__ import annotations

import ipaddress
import re

from berth.network.firewall.errors import FirewallError
from berth.network.firewall.model import BridgeRule, FirewallState, PortRule
from berth.structs import dataclass

# Letters, digits and underscores only: a valid nft table name, and upper-cased plus "-SUFFIX"
# a valid iptables chain name (<= 28 chars with the longest suffix, "-POSTROUTING"). No "-":
# "berth-x" would make chains "BERTH-X-..." that look like chains of the ident "berth".
IDENT_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,15}\Z")
# A Linux interface name (IFNAMSIZ - 1), minus anything that would need quoting in either tool.
IFNAME_RE = re.compile(r"[A-Za-z0-9_.@:+-]{1,15}\Z")


@dataclass(frozen=True)
class Plan:
    ident: str
    bridges: tuple[BridgeRule, ...]  # sorted by device name, subnets normalised
    ports: tuple[PortRule, ...]  # sorted: specific host addresses before "any", then proto/port

    @property
    def empty(self) -> bool:
        return not self.bridges and not self.ports

    @property
    def internal(self) -> tuple[BridgeRule, ...]:
        return tuple(b for b in self.bridges if b.internal)

    @property
    def external(self) -> tuple[BridgeRule, ...]:
        return tuple(b for b in self.bridges if not b.internal)


def check_ident(ident: str) -> str:
    if not IDENT_RE.match(ident):
        raise FirewallError(f"invalid firewall ident {ident!r}: want a letter then up to 15 letters, digits "
                            "or underscores", ident=ident)
    return ident


def plan(state: FirewallState) -> Plan:
    """The validated, sorted content of ``state``; ``FirewallError`` names the first bad field."""
    ident = check_ident(state.ident)
    bridges: dict[str, BridgeRule] = {}
    for b in state.bridges:
        rule = BridgeRule(_ifname(b.bridge), _subnet(b.subnet, b.bridge), bool(b.internal))
        if bridges.get(rule.bridge, rule) != rule:
            raise FirewallError(f"bridge {rule.bridge} is listed twice with different settings", bridge=rule.bridge)
        bridges[rule.bridge] = rule
    ports = {_port(p) for p in state.ports}
    return Plan(ident, tuple(sorted(bridges.values())),
                tuple(sorted((p for p in ports if p is not None), key=_port_order)))


def _port_order(p: PortRule) -> tuple:
    # a rule for one address must come before the "any address" rule of the same port, or the
    # latter would catch its packets first (the caller should not publish both, but be safe)
    return (p.host_ip == "", p.proto, p.host_port, p.host_ip, p.container_ip, p.container_port, p.bridge)


def _ifname(name: str) -> str:
    if not IFNAME_RE.match(name or ""):
        raise FirewallError(f"invalid bridge device name {name!r}", bridge=name)
    return name


def _subnet(subnet: str, bridge: str) -> str:
    try:
        net = ipaddress.ip_network(subnet, strict=False)
    except ValueError as exc:
        raise FirewallError(f"bridge {bridge}: invalid subnet {subnet!r}", bridge=bridge, subnet=subnet) from exc
    if net.version != 4:
        raise FirewallError(f"bridge {bridge}: subnet {subnet} is not IPv4 (the firewall is IPv4 only)",
                            bridge=bridge, subnet=subnet)
    return str(net)  # "10.0.0.5/24" -> "10.0.0.0/24": what the tools list back


def _port(p: PortRule) -> PortRule | None:
    """The rule with canonical addresses, or None for an IPv6 host address (an IPv4 ruleset
    cannot match it; ``-p [::]:80:80`` publishes on IPv6 only)."""
    if p.proto not in ("tcp", "udp"):
        raise FirewallError(f"published port {p.host_port}: invalid protocol {p.proto!r}", proto=p.proto)
    for what, port in (("host", p.host_port), ("container", p.container_port)):
        if not isinstance(port, int) or not 0 < port < 65536:
            raise FirewallError(f"published port: invalid {what} port {port!r}", port=port)
    host_ip = ""
    if p.host_ip not in ("", "0.0.0.0"):
        try:
            addr = ipaddress.ip_address(p.host_ip)
        except ValueError as exc:
            raise FirewallError(f"published port {p.host_port}: invalid host address {p.host_ip!r}",
                                host_ip=p.host_ip) from exc
        if addr.version != 4:
            return None
        host_ip = str(addr)
    try:
        container = ipaddress.ip_address(p.container_ip)
    except ValueError as exc:
        raise FirewallError(f"published port {p.host_port}: invalid container address {p.container_ip!r}",
                            container_ip=p.container_ip) from exc
    if container.version != 4:
        raise FirewallError(f"published port {p.host_port}: container address {p.container_ip} is not IPv4",
                            container_ip=p.container_ip)
    return PortRule(p.proto, host_ip, p.host_port, str(container), p.container_port, _ifname(p.bridge))
