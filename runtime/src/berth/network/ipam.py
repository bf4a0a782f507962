"""IPAM: each network's address leases, persistent in ``networks/<id>/leases.json``.

``{"leases": {"172.18.0.2": "<container id>"}, "last": "172.18.0.2"}``

A container holds its address from create (or connect) to rm (or disconnect), so it keeps
the same address across restarts and a reboot. Every change is a read-modify-write under the
network's flock, so parallel creates get distinct addresses. Dynamic addresses come from
the ``--ip-range`` (default: the subnet), round-robin after the last one handed out (as
Docker does, so a just-released address is not reused at once); ``--ip`` may be anywhere in
the subnet.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from berth.fsutil import atomic_write_json, read_json
from berth.locks import file_lock
from berth.network.errors import AddressInUse, InvalidNetworkConfig, SubnetExhausted
from berth.network.model import NetworkRecord
from berth.network.store import NetworkStore


class Ipam:
    def __init__(self, networks: NetworkStore) -> None:
        self.networks = networks

    def _file(self, net: NetworkRecord):
        return self.networks.dir(net.Id) / "leases.json"

    def leases(self, net: NetworkRecord) -> dict[str, str]:
        """address -> container id."""
        return dict((read_json(self._file(net)) or {}).get("leases") or {})

    def allocate(self, net: NetworkRecord, cid: str, requested: str | None = None) -> ipaddress.IPv4Address:
        """Lease an address to ``cid`` (the one it already holds, if any)."""
        with file_lock(self.networks.lock_path(net.Id)):
            data = read_json(self._file(net)) or {}
            leases: dict[str, str] = dict(data.get("leases") or {})
            held = [ip for ip, owner in leases.items() if owner == cid]
            if requested:
                ip = _requested(net, requested)
                owner = leases.get(str(ip))
                if owner is not None and owner != cid:
                    raise AddressInUse(f"Address already in use: {ip} is held by container {owner[:12]} "
                                       f"on network {net.Name}", address=str(ip), container=owner)
            elif held:
                return ipaddress.IPv4Address(held[0])
            else:
                ip = _next_free(net, set(leases), data.get("last"))
                data["last"] = str(ip)
            for old in held:
                leases.pop(old, None)
            leases[str(ip)] = cid
            data["leases"] = leases
            if not self.networks.dir(net.Id).is_dir():
                raise InvalidNetworkConfig(f"network {net.Name} was removed meanwhile", network=net.Name)
            atomic_write_json(self._file(net), data)
            return ip

    def release(self, net: NetworkRecord, cid: str) -> None:
        self.release_where(net, lambda owner: owner == cid)

    def release_where(self, net: NetworkRecord, doomed: Callable[[str], bool]) -> list[str]:
        """Drop the leases whose owner ``doomed(owner)`` says are gone; returns the addresses freed."""
        if not self._file(net).is_file():
            return []
        with file_lock(self.networks.lock_path(net.Id)):
            data = read_json(self._file(net)) or {}
            leases: dict[str, str] = dict(data.get("leases") or {})
            freed = [ip for ip, owner in leases.items() if doomed(owner)]
            if freed:
                for ip in freed:
                    del leases[ip]
                data["leases"] = leases
                if self.networks.dir(net.Id).is_dir():
                    atomic_write_json(self._file(net), data)
            return freed


def _requested(net: NetworkRecord, text: str) -> ipaddress.IPv4Address:
    try:
        ip = ipaddress.IPv4Address(text)
    except ValueError:
        raise InvalidNetworkConfig(f"invalid IPv4 address: {text}", address=text) from None
    subnet = net.subnet
    if ip not in subnet:
        raise InvalidNetworkConfig(f"no configured subnet or ip-range contain the IP address {ip} "
                                   f"(network {net.Name} is {subnet})", address=text)
    if ip in (subnet.network_address, subnet.broadcast_address, net.gateway):
        raise InvalidNetworkConfig(f"invalid address {ip}: the network, broadcast or gateway address of "
                                   f"{net.Name}", address=text)
    return ip


def _next_free(net: NetworkRecord, used: set[str], last: str | None) -> ipaddress.IPv4Address:
    pool, subnet, gw = net.pool, net.subnet, net.gateway
    first, end = int(pool.network_address), int(pool.broadcast_address)
    size = end - first + 1
    start = first
    if last:
        try:
            start = int(ipaddress.IPv4Address(last)) + 1
        except ValueError:
            start = first
        if not first <= start <= end:
            start = first
    reserved = {int(subnet.network_address), int(subnet.broadcast_address), int(gw)}
    for step in range(size):
        n = first + (start - first + step) % size
        if n in reserved or str(ipaddress.IPv4Address(n)) in used:
            continue
        return ipaddress.IPv4Address(n)
    raise SubnetExhausted(f"no available IPv4 addresses on this network's address pools: {net.Name} ({net.Id[:12]})",
                          network=net.Name)
