"""``NetworkStore``: network records under ``<root>/networks``.

Layout::

    networks/<id>/network.json   the record (``NetworkRecord``)
    networks/<id>/leases.json    IPAM leases (``berth.network.ipam``)
    locks/networks.lock          held by create / remove / predefined setup (names, subnets, bridges unique)

A network exists iff its ``network.json`` does; create writes the directory under ``tmp/`` and
renames it into place, remove renames it out first, so a killed process never leaves half a
network. The predefined ``bridge``, ``host`` and ``none`` are made on first use; ``bridge``
follows the engine config (``bridge``, ``bip``, ``mtu``) while no container holds an address on it.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from berth.config.network_config import NetworkConfig
from berth.fsutil import atomic_write_json, fsync_dir, read_json, rmtree
from berth.locks import file_lock
from berth.network.errors import InvalidNetworkConfig, NetworkExists, NetworkInUse, NetworkNotFound
from berth.network.model import BRIDGE_NAME_OPT, DRIVERS, MTU_OPT, PREDEFINED, NetworkRecord
from berth.paths import Paths
from berth.state.records import now_rfc3339

# Docker's rule for network names (libnetwork config.ValidateName is laxer; this is the CLI's)
_VALID_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
_HEX = set("0123456789abcdef")

#: which containers use a network: returns container ids (the engine wires this to the records)
UsersHook = Callable[[str], list[str]]
#: the subnets the host already routes (auto-allocation avoids them, as Docker does)
HostRoutes = Callable[[], list[ipaddress.IPv4Network]]


class NetworkStore:
    def __init__(self, paths: Paths, config: NetworkConfig, users: UsersHook | None = None) -> None:
        self.paths = paths
        self.config = config
        self.base = paths.root / "networks"
        self.users: UsersHook = users or (lambda _id: [])

    def dir(self, nid: str) -> Path:
        return self.base / nid

    def lock_path(self, nid: str) -> Path:
        """Per-network lock: IPAM leases."""
        return self.paths.locks / "networks" / f"{nid}.lock"

    @contextmanager
    def _lock(self) -> Iterator[None]:
        with file_lock(self.paths.locks / "networks.lock"):
            yield

    # -- reading -------------------------------------------------------------
    def _load_all(self) -> list[NetworkRecord]:
        if not self.base.is_dir():
            return []
        out = []
        for d in sorted(self.base.iterdir()):
            data = read_json(d / "network.json")
            if isinstance(data, dict):
                out.append(NetworkRecord.from_dict(data))
        return out

    def list(self) -> list[NetworkRecord]:
        """Every network, the predefined ones first (created on first use)."""
        records = self._load_all()
        if not ({r.Name for r in records} >= set(PREDEFINED) and self._bridge_current(records)):
            self.ensure_predefined()
            records = self._load_all()
        order = {n: i for i, n in enumerate(PREDEFINED)}
        return sorted(records, key=lambda r: (order.get(r.Name, len(order)), r.Name))

    def get(self, ref: str) -> NetworkRecord:
        """Docker's lookup order: full id, name, unique id prefix."""
        records = self.list()
        for r in records:
            if r.Id == ref:
                return r
        for r in records:
            if r.Name == ref:
                return r
        if ref and set(ref) <= _HEX:
            matches = [r for r in records if r.Id.startswith(ref)]
            if len(matches) == 1:
                return matches[0]
        raise NetworkNotFound(f"network {ref} not found", network=ref)

    def by_id(self, nid: str) -> NetworkRecord:
        data = read_json(self.dir(nid) / "network.json")
        if not isinstance(data, dict):
            raise NetworkNotFound(f"network {nid} not found", network=nid)
        return NetworkRecord.from_dict(data)

    # -- predefined ----------------------------------------------------------
    def _bridge_record(self, nid: str, created: str) -> NetworkRecord:
        cfg = self.config
        return NetworkRecord(Name="bridge", Id=nid, Created=created, Driver="bridge", Subnet=str(cfg.bip.network),
                             Gateway=str(cfg.bip.ip), Bridge=cfg.bridge, MTU=cfg.mtu,
                             Options={BRIDGE_NAME_OPT: cfg.bridge, "com.docker.network.bridge.default_bridge": "true",
                                      "com.docker.network.bridge.enable_ip_masquerade": "true"})

    def _bridge_current(self, records: list[NetworkRecord]) -> bool:
        for r in records:
            if r.Name == "bridge":
                want = self._bridge_record(r.Id, r.Created)
                return (r.Subnet, r.Gateway, r.Bridge, r.MTU) == (want.Subnet, want.Gateway, want.Bridge, want.MTU)
        return False

    def ensure_predefined(self) -> None:
        with self._lock():
            existing = {r.Name: r for r in self._load_all()}
            for name in PREDEFINED:
                have = existing.get(name)
                if name == "bridge":
                    want = self._bridge_record(have.Id if have else _new_id(), have.Created if have else now_rfc3339())
                    if have is not None and have.to_dict() == want.to_dict():
                        continue
                    if have is not None and self._has_leases(have.Id):
                        continue  # addresses handed out: keep the old subnet until they are released
                    self._write(want)
                elif have is None:
                    self._write(NetworkRecord(Name=name, Id=_new_id(), Created=now_rfc3339(), Driver=DRIVERS[name]))

    def _has_leases(self, nid: str) -> bool:
        data = read_json(self.dir(nid) / "leases.json") or {}
        return bool(data.get("leases"))

    # -- create / remove -------------------------------------------------------
    def create(self, name: str, *, subnet: str | None = None, gateway: str | None = None,
               ip_range: str | None = None, internal: bool = False, labels: dict[str, str] | None = None,
               options: dict[str, str] | None = None, driver: str = "bridge",
               host_routes: HostRoutes | None = None) -> NetworkRecord:
        """``network create``: validate everything, then publish the record atomically."""
        if not isinstance(name, str) or not _VALID_NAME.fullmatch(name):
            raise InvalidNetworkConfig(f'invalid network name "{name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed',
                                       name=name)
        if driver != "bridge":
            raise InvalidNetworkConfig(f"network driver {driver!r} is not supported (only bridge)", driver=driver)
        options = dict(options or {})
        mtu = _mtu(options.get(MTU_OPT), self.config.mtu)
        self.list()  # predefined first: their names and the default subnet count below
        with self._lock():
            records = self._load_all()
            if name in PREDEFINED or any(r.Name == name for r in records):
                raise NetworkExists(f"network with name {name} already exists", name=name)
            nid = _new_id()
            bridge = options.get(BRIDGE_NAME_OPT) or f"br-{nid[:12]}"
            _check_ifname(bridge)
            if any(r.Bridge == bridge for r in records):
                raise InvalidNetworkConfig(f"bridge name {bridge} is already used by another network", bridge=bridge)
            taken = [r.subnet for r in records if r.Subnet]
            net = _parse_subnet(subnet) if subnet else self._auto_subnet(taken, host_routes)
            for other in records:
                if other.Subnet and net.overlaps(other.subnet):
                    raise InvalidNetworkConfig(
                        f"invalid pool request: Pool overlaps with other one on this address space "
                        f"({net} overlaps {other.Subnet} of network {other.Name})", subnet=str(net))
            gw = _gateway(net, gateway)
            rng = _ip_range(net, ip_range)
            record = NetworkRecord(Name=name, Id=nid, Created=now_rfc3339(), Driver="bridge", Subnet=str(net),
                                   Gateway=str(gw), IPRange=str(rng) if rng else "", Internal=internal,
                                   Labels=dict(labels or {}), Options=options, Bridge=bridge, MTU=mtu)
            self._write(record)
            return record

    def _auto_subnet(self, taken: list[ipaddress.IPv4Network], host_routes: HostRoutes | None) -> ipaddress.IPv4Network:
        routes = host_routes() if host_routes else []
        for pool in self.config.pools:
            for candidate in pool.subnets():
                if not any(candidate.overlaps(t) for t in (*taken, *routes)):
                    return candidate
        raise InvalidNetworkConfig("could not find an available, non-overlapping IPv4 address pool among the "
                                   "defaults to assign to the network (set --subnet or default-address-pools)")

    def _write(self, record: NetworkRecord) -> None:
        self.paths.tmp.mkdir(parents=True, exist_ok=True)
        target = self.dir(record.Id)
        if target.is_dir():
            atomic_write_json(target / "network.json", record.to_dict())
            return
        tmp = self.paths.tmp / f"network-{os.getpid()}-{os.urandom(4).hex()}"
        tmp.mkdir()
        try:
            atomic_write_json(tmp / "network.json", record.to_dict())
            self.base.mkdir(parents=True, exist_ok=True)
            os.rename(tmp, target)
            fsync_dir(self.base)
        finally:
            if tmp.exists():
                rmtree(tmp)

    def remove(self, ref: str) -> NetworkRecord:
        """Drop a user network's record; refused for predefined networks and while containers use it.

        The caller deletes the bridge device (``berth.network.links``)."""
        record = self.get(ref)
        if not record.is_user_defined:
            raise NetworkInUse(f"{record.Name} is a pre-defined network and cannot be removed", network=record.Name)
        with self._lock(), file_lock(self.lock_path(record.Id)):
            # leases too: a create or connect in progress holds one before its record is written
            users = sorted(set(self.users(record.Id)) | set(
                (read_json(self.dir(record.Id) / "leases.json") or {}).get("leases", {}).values()))
            if users:
                raise NetworkInUse(
                    f"error while removing network: network {record.Name} id {record.Id} has active endpoints "
                    f"(containers: {', '.join(u[:12] for u in users)})", network=record.Name, containers=users)
            doomed = self.paths.tmp / f"deleted-network-{os.getpid()}-{os.urandom(4).hex()}"
            self.paths.tmp.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(self.dir(record.Id), doomed)
            except FileNotFoundError:
                raise NetworkNotFound(f"network {ref} not found", network=ref) from None
            rmtree(doomed)
        return record


def _new_id() -> str:
    return os.urandom(32).hex()  # secrets.token_hex, without importing secrets (hashlib, OpenSSL)


def _parse_subnet(text: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise InvalidNetworkConfig(f"invalid subnet {text}: {exc}", subnet=text) from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise InvalidNetworkConfig(f"invalid subnet {text}: only IPv4 subnets are supported", subnet=text)
    if net.prefixlen > 30:
        raise InvalidNetworkConfig(f"invalid subnet {text}: too small for a gateway and a container (max /30)",
                                   subnet=text)
    return net


def _gateway(net: ipaddress.IPv4Network, text: str | None) -> ipaddress.IPv4Address:
    if not text:
        return net.network_address + 1
    try:
        gw = ipaddress.IPv4Address(text)
    except ValueError:
        raise InvalidNetworkConfig(f"invalid gateway {text}: not an IPv4 address", gateway=text) from None
    if gw not in net or gw in (net.network_address, net.broadcast_address):
        raise InvalidNetworkConfig(f"invalid gateway {text}: not a usable address of subnet {net}", gateway=text)
    return gw


def _ip_range(net: ipaddress.IPv4Network, text: str | None) -> ipaddress.IPv4Network | None:
    if not text:
        return None
    try:
        rng = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise InvalidNetworkConfig(f"invalid ip-range {text}: {exc}", ip_range=text) from None
    if not rng.subnet_of(net):
        raise InvalidNetworkConfig(f"invalid ip-range {text}: not inside subnet {net}", ip_range=text)
    return rng


def _mtu(text: str | None, default: int) -> int:
    if text is None:
        return default
    try:
        mtu = int(text)
    except ValueError:
        mtu = -1
    if not 68 <= mtu <= 65535:
        raise InvalidNetworkConfig(f"invalid {MTU_OPT} {text}: an integer from 68 to 65535", mtu=text)
    return mtu


def _check_ifname(name: str) -> None:
    from berth.network.firewall.plan import IFNAME_RE  # the names the firewall rules can carry

    if not IFNAME_RE.match(name):
        raise InvalidNetworkConfig(f"invalid bridge name {name!r}: 1-15 of A-Z a-z 0-9 _ . @ : + -", bridge=name)
