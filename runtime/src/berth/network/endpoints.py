"""Run state of a started container's networking: ``run/network/endpoints/<id>.json``.

``{"netns": "/run/berth/netns/<id>", "interfaces": [Interface...], "ports": [PortRule...]}``

Written before any link is made (interfaces planned, no ports yet), so whatever a crash
leaves behind can be found and deleted from this file alone; completed with the published
ports once they are allocated. Gone after a reboot, by design: restore starts the
containers again and that writes new ones. The firewall ruleset and the DNS table are
derived from these files (``berth.network.manager``).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from berth.fsutil import atomic_write_json, read_json
from berth.network.firewall.model import PortRule
from berth.network.model import Interface
from berth.structs import asdict, dataclass, field


@dataclass(frozen=True)
class Attached:
    """An interface plus what the DNS table and the views need to know about its network."""

    network_id: str
    network: str  # name
    interface: Interface
    internal: bool = False
    user_defined: bool = True  # names resolve on user networks only (as in Docker)

    def to_dict(self) -> dict[str, Any]:
        i = self.interface
        return {"network_id": self.network_id, "network": self.network, "internal": self.internal,
                "user_defined": self.user_defined, "bridge": i.bridge, "host_if": i.host_if, "ifname": i.ifname,
                "address": str(i.address), "mac": i.mac, "mtu": i.mtu,
                "gateway": str(i.gateway) if i.gateway else ""}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Attached:
        iface = Interface(d["bridge"], d["host_if"], d["ifname"], ipaddress.IPv4Interface(d["address"]), d["mac"],
                          int(d.get("mtu") or 1500),
                          ipaddress.IPv4Address(d["gateway"]) if d.get("gateway") else None)
        return cls(d["network_id"], d["network"], iface, bool(d.get("internal")), bool(d.get("user_defined", True)))


@dataclass
class Endpoint:
    cid: str
    netns: str
    attached: list[Attached] = field(default_factory=list)
    ports: list[PortRule] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"cid": self.cid, "netns": self.netns, "interfaces": [a.to_dict() for a in self.attached],
                "ports": [asdict(p) for p in self.ports]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Endpoint:
        return cls(d["cid"], d["netns"], [Attached.from_dict(a) for a in d.get("interfaces") or []],
                   [PortRule(**p) for p in d.get("ports") or []])


class EndpointFiles:
    def __init__(self, run_dir: Path) -> None:
        self.dir = run_dir / "network" / "endpoints"

    def path(self, cid: str) -> Path:
        return self.dir / f"{cid}.json"

    def read(self, cid: str) -> Endpoint | None:
        try:
            data = read_json(self.path(cid))
        except (OSError, ValueError):
            return None  # a torn file: treated as absent; check --repair removes it
        if not isinstance(data, dict):
            return None
        try:
            return Endpoint.from_dict(data)
        except (KeyError, TypeError, ValueError):
            return None  # a torn or foreign file: treated as absent; check --repair removes it

    def write(self, ep: Endpoint) -> None:
        atomic_write_json(self.path(ep.cid), ep.to_dict(), durable=False)  # the run dir: gone at a reboot

    def delete(self, cid: str) -> None:
        self.path(cid).unlink(missing_ok=True)

    def all(self) -> dict[str, Endpoint]:
        if not self.dir.is_dir():
            return {}
        out = {}
        for p in sorted(self.dir.glob("*.json")):
            ep = self.read(p.stem)
            if ep is not None:
                out[ep.cid] = ep
        return out
