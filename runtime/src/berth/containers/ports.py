"""``-p`` / ``--publish`` as ``PortBinding`` value objects (Docker's ``nat.ParsePortSpec``).

Accepted: ``80``, ``8080:80``, ``127.0.0.1:8080:80``, ``127.0.0.1::80``, ``[::1]:8080:80``,
``8080:80/udp``, ``8000-8002:9000-9002`` (equal lengths, paired in order), ``9000-9002``
(each to a random host port) and ``8000-8010:80`` (one container port, a host range
to pick a free port from: ``host_port``..``host_port_end``).
"""

from __future__ import annotations

import ipaddress

from berth.containers.spec import PortBinding
from berth.containers.values import invalid


def _split(raw: str) -> tuple[str, str, str]:
    """(host ip, host port, container port[/proto]): the last two ':'-parts are ports, the rest is the IP."""
    parts = raw.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def _ip(text: str, flag: str, value: str) -> str:
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not text:
        return ""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise invalid(flag, value, f"invalid IP address '{text}'") from None


def _range(text: str, flag: str, value: str, lowest: int) -> tuple[int, int]:
    start, dash, end = text.partition("-")
    if not dash:
        end = start
    if not (start.isdigit() and end.isdigit()):
        raise invalid(flag, value, f"invalid port '{text}'")
    lo, hi = int(start), int(end)
    if not (lowest <= lo <= 65535 and lowest <= hi <= 65535) or (dash and (lo == 0 or hi < lo)):
        raise invalid(flag, value, f"invalid port '{text}': ports are {lowest}-65535, ranges low-high")
    return lo, hi


def parse_publish(value: str, flag: str = "--publish") -> list[PortBinding]:
    """One ``-p`` value -> its bindings, in container-port order."""
    host_ip, host_part, ctr_part = _split(value.strip())
    ctr_text, slash, proto = ctr_part.partition("/")
    proto = (proto or "tcp").lower() if slash else "tcp"
    if proto not in ("tcp", "udp"):
        raise invalid(flag, value, f"unsupported protocol '{proto}' (tcp or udp)")
    if not ctr_text:
        raise invalid(flag, value, "no container port specified")
    ip = _ip(host_ip, flag, value)
    c_lo, c_hi = _range(ctr_text, flag, value, lowest=1)
    if not host_part:
        return [PortBinding(port, proto, ip, 0) for port in range(c_lo, c_hi + 1)]  # type: ignore[arg-type]
    h_lo, h_hi = _range(host_part, flag, value, lowest=0)  # host port 0 = random, as omitting it
    if c_lo == c_hi and h_lo != h_hi:
        return [PortBinding(c_lo, proto, ip, h_lo, h_hi)]  # type: ignore[arg-type]
    if h_hi - h_lo != c_hi - c_lo:
        raise invalid(flag, value, "host and container port ranges must have the same length")
    return [PortBinding(c_lo + i, proto, ip, h_lo + i if h_lo else 0)  # type: ignore[arg-type]
            for i in range(c_hi - c_lo + 1)]
