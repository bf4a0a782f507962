"""Published ports: from a record's ``PortBindings`` / ``-P`` to concrete ``PortRule``s, checked.

Pure planning (``plan``) plus one effect, ``probe``: can this host address/port be bound? That
is how a port another process listens on is refused before the container starts (no userland
proxy holds ports here: the kernel's DNAT serves them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from berth.network.errors import InvalidNetworkConfig, PortAllocated
from berth.network.firewall.model import PortRule
from berth.structs import dataclass

if TYPE_CHECKING:
    import random

#: Docker takes random host ports from the kernel's ephemeral range
EPHEMERAL = (32768, 60999)

Probe = Callable[[str, str, int], str | None]  # (proto, host_ip, port) -> None if free, else why not


@dataclass(frozen=True)
class Wanted:
    """One ``-p``: a container port and where on the host (port 0: random; end > 0: a range)."""

    proto: str
    container_port: int
    host_ip: str
    host_port: int
    host_port_end: int = 0


def wanted(host_config: dict[str, Any], exposed: Iterable[str] = ()) -> list[Wanted]:
    """The bindings of a record: ``PortBindings`` (Docker's shape), then ``-P``'s EXPOSEd ports."""
    out: list[Wanted] = []
    bound: set[str] = set()
    for key, entries in (host_config.get("PortBindings") or {}).items():
        port, proto = _port_key(key)
        bound.add(f"{port}/{proto}")
        for entry in entries or [{}]:
            lo, hi = _host_ports(str(entry.get("HostPort") or ""), key)
            out.append(Wanted(proto, port, _any(str(entry.get("HostIp") or "")), lo, hi))
    if host_config.get("PublishAllPorts"):
        for key in sorted(exposed):
            port, proto = _port_key(key)
            if f"{port}/{proto}" not in bound:
                out.append(Wanted(proto, port, "", 0))
    return out


def plan(want: Sequence[Wanted], container_ip: str, bridge: str, taken: Sequence[PortRule],
         probe: Probe, *, rng: random.Random | None = None) -> list[PortRule]:
    """Pick host ports for ``want``; raise ``PortAllocated`` naming the first one that cannot be had."""
    if rng is None:
        import random

        rng = random.Random()
    chosen: list[PortRule] = []
    for w in want:
        def usable(port: int, w: Wanted = w) -> str | None:
            for rule in (*taken, *chosen):
                if rule.proto == w.proto and rule.host_port == port and _overlap(rule.host_ip, w.host_ip):
                    return "port is already allocated"
            return probe(w.proto, w.host_ip, port)

        if w.host_port and not w.host_port_end:
            why = usable(w.host_port)
            if why:
                raise PortAllocated(f"Bind for {w.host_ip or '0.0.0.0'}:{w.host_port} failed: {why}",
                                    host_ip=w.host_ip, host_port=w.host_port, proto=w.proto)
            port = w.host_port
        else:
            candidates = (list(range(w.host_port, w.host_port_end + 1)) if w.host_port_end
                          else rng.sample(range(EPHEMERAL[0], EPHEMERAL[1] + 1), 200))
            port = next((p for p in candidates if usable(p) is None), 0)
            if not port:
                what = f"{w.host_port}-{w.host_port_end}" if w.host_port_end else "a random port"
                raise PortAllocated(f"Bind for {w.host_ip or '0.0.0.0'}:{what} failed: no free host port",
                                    host_ip=w.host_ip, proto=w.proto)
        chosen.append(PortRule(w.proto, w.host_ip, port, container_ip, w.container_port, bridge))  # type: ignore[arg-type]
    return chosen


def probe(proto: str, host_ip: str, port: int) -> str | None:
    """Bind the address for a moment: a listener (or an address the host lacks) says no."""
    import socket  # here: validating and planning (every create) need no socket

    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT leftovers
        try:
            s.bind((host_ip or "0.0.0.0", port))
        except OSError as exc:
            return f"{exc.strerror.lower() if exc.strerror else exc} ({proto} port in use by another process?)" \
                if exc.errno == 98 else (exc.strerror or str(exc)).lower()
    return None


def docker_ports(rules: Iterable[PortRule], exposed: Iterable[str] = ()) -> dict[str, list[dict[str, str]] | None]:
    """``NetworkSettings.Ports``: every exposed port, with its bindings or null."""
    out: dict[str, list[dict[str, str]] | None] = {k: None for k in exposed}
    for r in rules:
        entries = out.get(f"{r.container_port}/{r.proto}") or []
        entries.append({"HostIp": r.host_ip or "0.0.0.0", "HostPort": str(r.host_port)})
        out[f"{r.container_port}/{r.proto}"] = entries
    return out


def _overlap(a: str, b: str) -> bool:
    return not a or not b or a == b


def _any(host_ip: str) -> str:
    if ":" in host_ip:  # "::" / "[::1]": the rules are IPv4 only
        raise InvalidNetworkConfig(f"invalid host IP {host_ip!r}: only IPv4 addresses can publish ports",
                                   host_ip=host_ip)
    return "" if host_ip in ("0.0.0.0", "") else host_ip


def _port_key(key: str) -> tuple[int, str]:
    port, _, proto = key.partition("/")
    proto = proto or "tcp"
    if proto not in ("tcp", "udp") or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidNetworkConfig(f"invalid port spec {key!r} (want PORT[/tcp|/udp])", port=key)
    return int(port), proto


def _host_ports(text: str, key: str) -> tuple[int, int]:
    if not text:
        return 0, 0
    lo, _, hi = text.partition("-")
    try:
        a, b = int(lo), int(hi) if hi else 0
    except ValueError:
        raise InvalidNetworkConfig(f"invalid host port {text!r} for {key}", port=text) from None
    if not 0 < a < 65536 or (b and not a <= b < 65536):
        raise InvalidNetworkConfig(f"invalid host port {text!r} for {key}", port=text)
    return a, b
