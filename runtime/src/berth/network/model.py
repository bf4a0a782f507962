"""``NetworkRecord``: one network as stored in ``networks/<id>.json``, and its Docker-shaped view;
``Interface``: one network of a container, as its endpoint file stores it."""

from __future__ import annotations

import ipaddress
from typing import Any

from berth.structs import asdict, dataclass, field, fields

#: the predefined networks, as in Docker: they cannot be created or removed by users
PREDEFINED = ("bridge", "host", "none")
DRIVERS = {"bridge": "bridge", "host": "host", "none": "null"}
BRIDGE_NAME_OPT = "com.docker.network.bridge.name"
MTU_OPT = "com.docker.network.driver.mtu"


@dataclass
class NetworkRecord:
    Name: str
    Id: str
    Created: str
    Driver: str = "bridge"  # bridge | host | null
    Subnet: str = ""  # "172.18.0.0/16"; empty for host / none
    Gateway: str = ""
    IPRange: str = ""  # --ip-range: where dynamic addresses come from (default: the subnet)
    Internal: bool = False
    Labels: dict[str, str] = field(default_factory=dict)
    Options: dict[str, str] = field(default_factory=dict)
    Bridge: str = ""  # the bridge device
    MTU: int = 1500

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NetworkRecord:
        names = {f.name for f in fields(cls)}
        known = {k: v for k, v in d.items() if k in names}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def is_bridge(self) -> bool:
        return self.Driver == "bridge"

    @property
    def is_user_defined(self) -> bool:
        return self.Name not in PREDEFINED

    @property
    def subnet(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.Subnet)

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return ipaddress.IPv4Address(self.Gateway)

    @property
    def pool(self) -> ipaddress.IPv4Network:
        """Where dynamic addresses are allocated from."""
        return ipaddress.IPv4Network(self.IPRange or self.Subnet)

    def inspect(self, containers: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        """``docker network inspect`` shape."""
        config = []
        if self.Subnet:
            entry = {"Subnet": self.Subnet, "Gateway": self.Gateway}
            if self.IPRange:
                entry["IPRange"] = self.IPRange
            config.append(entry)
        options = dict(self.Options)
        if self.is_bridge:
            options.setdefault(BRIDGE_NAME_OPT, self.Bridge)
            if self.MTU != 1500:
                options.setdefault(MTU_OPT, str(self.MTU))
        return {
            "Name": self.Name,
            "Id": self.Id,
            "Created": self.Created,
            "Scope": "local",
            "Driver": self.Driver,
            "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": {}, "Config": config},
            "Internal": self.Internal,
            "Attachable": False,
            "Ingress": False,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": False,
            "Containers": containers or {},
            "Options": options,
            "Labels": dict(self.Labels),
        }


def mac_for(ip: ipaddress.IPv4Address) -> str:
    """Docker's classic MAC for a container address: 02:42 and the four address bytes."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ip.packed)


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
