"""The networking keys of the engine config, with Docker's daemon.json names.

``{"bridge": "berth0", "bip": "172.17.0.1/16", "mtu": 1500,
   "default-address-pools": [{"base": "172.18.0.0/16", "size": 16}],
   "firewall-backend": "auto", "ip-forward": true}``

``bridge`` is the device of the default ``bridge`` network and ``bip`` its gateway address
and prefix (Docker's keys). ``default-address-pools`` is where ``network create`` without
``--subnet`` takes a subnet from (Docker's default: 172.17-31.0.0/16, then 192.168.0.0/16 in
/20s). ``firewall-backend`` is berth's own: ``auto`` (nftables if ``nft`` works, else
iptables), ``nftables`` or ``iptables``.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from berth.errors import ConfigError
from berth.structs import dataclass, field

NETWORK_KEYS = frozenset({"bridge", "bip", "mtu", "default-address-pools", "firewall-backend", "ip-forward"})
FIREWALL_BACKENDS = ("auto", "nftables", "iptables")
DEFAULT_BIP = ipaddress.IPv4Interface("172.17.0.1/16")  # Docker's docker0


@dataclass(frozen=True)
class AddressPool:
    base: ipaddress.IPv4Network
    size: int  # prefix length of each subnet carved from base

    def subnets(self):
        return self.base.subnets(new_prefix=self.size)


def _docker_default_pools() -> tuple[AddressPool, ...]:
    return (AddressPool(ipaddress.IPv4Network("172.16.0.0/12"), 16),
            AddressPool(ipaddress.IPv4Network("192.168.0.0/16"), 20))


@dataclass(frozen=True)
class NetworkConfig:
    bridge: str = "berth0"
    bip: ipaddress.IPv4Interface = DEFAULT_BIP
    mtu: int = 1500
    pools: tuple[AddressPool, ...] = field(default_factory=_docker_default_pools)
    firewall_backend: str = "auto"
    ip_forward: bool = True

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str) -> NetworkConfig:
        kwargs: dict[str, Any] = {}
        if "bridge" in raw:
            kwargs["bridge"] = _ifname(raw["bridge"], f"{source}: bridge")
        if "bip" in raw:
            try:
                bip = ipaddress.IPv4Interface(str(raw["bip"]))
            except ValueError:
                raise ConfigError(f"{source}: bip: invalid address {raw['bip']!r} (want e.g. 172.17.0.1/16)") from None
            if bip.ip in (bip.network.network_address, bip.network.broadcast_address) or bip.network.prefixlen > 30:
                raise ConfigError(f"{source}: bip: {raw['bip']!r} is not a usable gateway address of its subnet")
            kwargs["bip"] = bip
        if "mtu" in raw:
            mtu = raw["mtu"]
            if not isinstance(mtu, int) or isinstance(mtu, bool) or not 68 <= mtu <= 65535:
                raise ConfigError(f"{source}: mtu must be an integer from 68 to 65535, got {mtu!r}")
            kwargs["mtu"] = mtu
        if "default-address-pools" in raw:
            kwargs["pools"] = _pools(raw["default-address-pools"], f"{source}: default-address-pools")
        if "firewall-backend" in raw:
            if raw["firewall-backend"] not in FIREWALL_BACKENDS:
                raise ConfigError(f"{source}: firewall-backend must be one of {', '.join(FIREWALL_BACKENDS)}, "
                                  f"got {raw['firewall-backend']!r}")
            kwargs["firewall_backend"] = raw["firewall-backend"]
        if "ip-forward" in raw:
            if not isinstance(raw["ip-forward"], bool):
                raise ConfigError(f"{source}: ip-forward must be true or false, got {raw['ip-forward']!r}")
            kwargs["ip_forward"] = raw["ip-forward"]
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        default = NetworkConfig()
        out: dict[str, Any] = {}
        if self.bridge != default.bridge:
            out["bridge"] = self.bridge
        if self.bip != default.bip:
            out["bip"] = str(self.bip)
        if self.mtu != default.mtu:
            out["mtu"] = self.mtu
        if self.pools != default.pools:
            out["default-address-pools"] = [{"base": str(p.base), "size": p.size} for p in self.pools]
        if self.firewall_backend != default.firewall_backend:
            out["firewall-backend"] = self.firewall_backend
        if self.ip_forward != default.ip_forward:
            out["ip-forward"] = self.ip_forward
        return out


def _ifname(value: Any, what: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 15 or "/" in value or any(c.isspace() for c in value):
        raise ConfigError(f"{what}: invalid interface name {value!r} (1-15 characters, no '/' or spaces)")
    return value


def _pools(value: Any, what: str) -> tuple[AddressPool, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{what}: must be a non-empty list of {{\"base\": CIDR, \"size\": prefix}}")
    out = []
    for item in value:
        try:
            base = ipaddress.IPv4Network(str(item["base"]))
            size = int(item["size"])
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"{what}: invalid pool {item!r} (want {{\"base\": \"10.10.0.0/16\", \"size\": 24}})") \
                from None
        if not base.prefixlen <= size <= 30:
            raise ConfigError(f"{what}: pool {item!r}: size must be between {base.prefixlen} and 30")
        out.append(AddressPool(base, size))
    return tuple(out)
