"""The resolver's table: ``dns.json`` (written by the engine) validated into an immutable lookup.

Format (every key optional; a missing file is the empty table)::

    {"listen":   [{"address": "172.18.0.1", "port": 53}],
     "upstream": ["9.9.9.9", "127.0.0.1:5353", "[2620:fe::fe]:53"],
     "clients":  {"172.18.0.2": {"networks": ["<netid>"], "upstream": ["9.9.9.9"]}},
     "names":    {"<netid>": {"web": ["172.18.0.2"], "0123456789ab": ["172.18.0.2"]}},
     "ptr":      {"<netid>": {"172.18.0.2": "web"}}}

``ptr`` pins the name a reverse lookup answers; without it the first name of the address that is
not a 12-hex short ID is used (dns.json is written with sorted keys, so "first" is alphabetical).
Unknown keys are ignored: an older server keeps working with a newer engine's table.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from berth.errors import BerthError
from berth.structs import dataclass, field

HOST_RESOLV_CONF = Path("/etc/resolv.conf")
_SHORT_ID = re.compile(r"[0-9a-f]{12}")
_EMPTY: Mapping[str, Any] = MappingProxyType({})


class TableError(BerthError):
    """dns.json is malformed; the message names the offending field."""


def _ip(value: object, where: str) -> str:
    """The canonical text of an IP address (so table keys match socket addresses)."""
    if isinstance(value, str):
        for family in (socket.AF_INET, socket.AF_INET6):
            try:
                return socket.inet_ntop(family, socket.inet_pton(family, value))
            except OSError:
                continue
    raise TableError(f"dns table: {where}: {value!r} is not an IP address", field=where)


@dataclass(frozen=True, order=True)
class Upstream:
    """A forwarding target: ``9.9.9.9``, ``9.9.9.9:5353``, ``2620:fe::fe``, ``[::1]:5353``."""

    host: str
    port: int = 53

    @property
    def family(self) -> int:
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 53 else f"{host}:{self.port}"

    @classmethod
    def parse(cls, text: object, where: str) -> Upstream:
        if not isinstance(text, str):
            raise TableError(f"dns table: {where}: {text!r} is not a server address", field=where)
        host, port = text, "53"
        if text.startswith("["):  # [v6]:port
            host, sep, rest = text[1:].partition("]")
            if not sep or (rest and not rest.startswith(":")):
                raise TableError(f"dns table: {where}: {text!r} is not a server address", field=where)
            port = rest[1:] or "53"
        elif text.count(":") == 1:  # v4:port (a bare v6 address has several colons)
            host, port = text.split(":")
        if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            raise TableError(f"dns table: {where}: bad port in {text!r}", field=where)
        return cls(_ip(host, where), int(port))


@dataclass(frozen=True)
class Client:
    networks: tuple[str, ...] = ()
    upstream: tuple[Upstream, ...] = ()
    #: False for a container on internal networks only: no way out, DNS included (as in Docker)
    forward: bool = True


@dataclass(frozen=True)
class Table:
    listen: tuple[tuple[str, int], ...] = ()
    #: forwarding default: the table's ``upstream``, else the host's resolv.conf nameservers
    upstream: tuple[Upstream, ...] = ()
    clients: Mapping[str, Client] = field(default_factory=lambda: _EMPTY)
    names: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=lambda: _EMPTY)
    ptr: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: _EMPTY)

    def resolve(self, client: str, key: str) -> tuple[str, ...] | None:
        """The addresses of ``key`` (lowercase, no trailing dot) for ``client``: from the first of
        its networks that knows the name; None when it is not a local name for this client."""
        c = self.clients.get(client)
        if c is None:
            return None
        for net in c.networks:
            ips = self.names.get(net, _EMPTY).get(key)
            if ips is not None:
                return ips
        return None

    def reverse(self, client: str, ip: str) -> str | None:
        """The name of container address ``ip`` on one of ``client``'s networks, or None."""
        c = self.clients.get(client)
        if c is None:
            return None
        for net in c.networks:
            name = self.ptr.get(net, _EMPTY).get(ip)
            if name is not None:
                return name
        return None

    def upstreams(self, client: str) -> tuple[Upstream, ...]:
        c = self.clients.get(client)
        if c is not None and not c.forward:
            return ()
        return c.upstream if c is not None and c.upstream else self.upstream


EMPTY = Table()


# -- parsing ---------------------------------------------------------------------------------
def _list(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise TableError(f"dns table: {where}{key}: expected a list, got {type(value).__name__}", field=key)
    return value


def _dict(obj: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TableError(f"dns table: {where}{key}: expected an object, got {type(value).__name__}", field=key)
    return value


def _name(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise TableError(f"dns table: {where}: {value!r} is not a name", field=where)
    key = value.lower().rstrip(".")
    if not key or len(key) > 253 or ".." in key:
        raise TableError(f"dns table: {where}: {value!r} is not a valid DNS name", field=where)
    return key


def _listen(table: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    out: dict[tuple[str, int], None] = {}
    for i, entry in enumerate(_list(table, "listen", "")):
        where = f"listen[{i}]"
        if not isinstance(entry, dict):
            raise TableError(f"dns table: {where}: expected an object", field=where)
        port = entry.get("port", 53)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise TableError(f"dns table: {where}.port: {port!r} is not a port", field=where)
        out[(_ip(entry.get("address"), f"{where}.address"), port)] = None
    return tuple(out)


def _upstreams(values: list[Any], where: str) -> tuple[Upstream, ...]:
    return tuple(dict.fromkeys(Upstream.parse(v, f"{where}[{i}]") for i, v in enumerate(values)))


def _default_ptr(names: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """ip -> name: the first name that is not a short ID, else the first one."""
    best: dict[str, str] = {}
    for name, ips in names.items():
        for ip in ips:
            if ip not in best or (_SHORT_ID.fullmatch(best[ip]) and not _SHORT_ID.fullmatch(name)):
                best[ip] = name
    return best


def parse(obj: object, *, host_upstream: Sequence[Upstream] = ()) -> Table:
    """Validate a decoded dns.json. ``host_upstream``: the fallback when the table has none."""
    if obj is None:
        return EMPTY
    if not isinstance(obj, dict):
        raise TableError("dns table: expected a JSON object at the top level")
    listen = _listen(obj)
    # never forward to ourselves: a --dns naming the gateway would loop each query forever
    ours = {Upstream(addr, port) for addr, port in listen}

    def usable(ups: tuple[Upstream, ...]) -> tuple[Upstream, ...]:
        return tuple(u for u in ups if u not in ours)

    upstream = usable(_upstreams(_list(obj, "upstream", ""), "upstream") or tuple(host_upstream))
    clients: dict[str, Client] = {}
    for ip, spec in _dict(obj, "clients", "").items():
        where = f"clients[{ip!r}]"
        if not isinstance(spec, dict):
            raise TableError(f"dns table: {where}: expected an object", field=where)
        nets = _list(spec, "networks", f"{where}.")
        if not all(isinstance(n, str) and n for n in nets):
            raise TableError(f"dns table: {where}.networks: expected network IDs", field=where)
        own = usable(_upstreams(_list(spec, "upstream", f"{where}."), f"{where}.upstream"))
        forward = spec.get("forward", True)
        if not isinstance(forward, bool):
            raise TableError(f"dns table: {where}.forward: expected true or false", field=where)
        clients[_ip(ip, where)] = Client(tuple(dict.fromkeys(nets)), own, forward)
    names: dict[str, Mapping[str, tuple[str, ...]]] = {}
    ptr: dict[str, Mapping[str, str]] = {}
    for net, entries in _dict(obj, "names", "").items():
        if not isinstance(entries, dict):
            raise TableError(f"dns table: names[{net!r}]: expected an object", field="names")
        table: dict[str, tuple[str, ...]] = {}
        for name, ips in entries.items():
            where = f"names[{net!r}][{name!r}]"
            if not isinstance(ips, list):
                raise TableError(f"dns table: {where}: expected a list of addresses", field=where)
            key = _name(name, where)
            table[key] = tuple(dict.fromkeys((*table.get(key, ()), *(_ip(v, where) for v in ips))))
        names[net] = MappingProxyType(table)
        ptr[net] = _default_ptr(table)
    for net, entries in _dict(obj, "ptr", "").items():
        if not isinstance(entries, dict):
            raise TableError(f"dns table: ptr[{net!r}]: expected an object", field="ptr")
        pinned = {_ip(ip, f"ptr[{net!r}]"): _name(n, f"ptr[{net!r}][{ip!r}]") for ip, n in entries.items()}
        ptr[net] = {**ptr.get(net, {}), **pinned}
    return Table(listen, upstream, MappingProxyType(clients), MappingProxyType(names),
                 MappingProxyType({k: MappingProxyType(v) for k, v in ptr.items()}))


def host_nameservers(resolv_conf: Path = HOST_RESOLV_CONF) -> tuple[Upstream, ...]:
    """The ``nameserver`` lines of the host's resolv.conf (unusable ones skipped, missing file: none).
    Loopback servers such as systemd-resolved's 127.0.0.53 are fine: the resolver runs on the host."""
    try:
        text = resolv_conf.read_text(errors="replace")
    except OSError:
        return ()
    out: list[Upstream] = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver":
            try:
                out.append(Upstream(_ip(words[1], "nameserver")))
            except TableError:
                continue  # e.g. fe80::1%eth0: a zone we would have to resolve; skip it
    return tuple(dict.fromkeys(out))


def loads(data: bytes | None, *, resolv_conf: Path = HOST_RESOLV_CONF, source: object = "dns.json") -> Table:
    """Validate the bytes of a table file (None: no file, the empty table); the host's nameservers
    are read now, so each (re)load sees the current resolv.conf."""
    if data is None:
        return EMPTY
    try:
        obj = json.loads(data)
    except ValueError as e:
        raise TableError(f"dns table {source}: not valid JSON: {e}") from None
    return parse(obj, host_upstream=host_nameservers(resolv_conf))


def read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def load(path: Path, *, resolv_conf: Path = HOST_RESOLV_CONF) -> Table:
    return loads(read(path), resolv_conf=resolv_conf, source=path)
