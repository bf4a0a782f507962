"""A minimal rtnetlink client: the dozen link, address and route requests berth makes.

Why not pyroute2: importing it costs ~0.1 s and its interpreter shutdown another ~0.03 s, paid
by every ``run`` on a bridge network and by every exit hook that deletes a veth. The requests
below are the ones ``ip link/addr/route`` send (see rtnetlink(7) and linux/if_link.h); each is
one datagram and one acknowledgement on a ``NETLINK_ROUTE`` socket.

A socket belongs to the network namespace it was opened in: to act inside a container's
namespace, open ``Rtnl()`` in a thread that entered it (``berth.network.netns.run_in``).
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator

from berth.structs import dataclass

# message types (linux/rtnetlink.h)
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK = 16, 17, 18, 19
RTM_NEWADDR, RTM_GETADDR = 20, 22
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
NLMSG_ERROR, NLMSG_DONE = 2, 3

# header flags (linux/netlink.h)
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_DUMP = 0x300
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x100, 0x200, 0x400

# attributes (linux/if_link.h, if_addr.h, rtnetlink.h, veth.h)
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_PROTINFO, IFLA_LINKINFO, IFLA_NET_NS_FD = 1, 3, 4, 10, 12, 18, 28
IFLA_BRPORT_MODE = 4
NLA_F_NESTED = 0x8000
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_DST, RTA_GATEWAY, RTA_TABLE = 1, 5, 15

IFF_UP = 0x1
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RTN_UNICAST, RTN_LOCAL, RTN_BROADCAST, RTN_MULTICAST = 1, 2, 3, 5

_HDR = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
_ATTR = struct.Struct("=HH")  # rtattr: len, type


def _align(n: int) -> int:
    return (n + 3) & ~3


def attr(kind: int, payload: bytes) -> bytes:
    """One rtattr, padded to 4 bytes."""
    body = _ATTR.pack(_ATTR.size + len(payload), kind) + payload
    return body + b"\0" * (_align(len(body)) - len(body))


def nested(kind: int, *attrs: bytes) -> bytes:
    return attr(kind, b"".join(attrs))


def u32(value: int) -> bytes:
    return struct.pack("=I", value)


def cstr(value: str) -> bytes:
    return value.encode() + b"\0"


def ifinfo(index: int = 0, *, up: bool | None = None, family: int = socket.AF_UNSPEC) -> bytes:
    """An ifinfomsg; ``up`` True/False changes IFF_UP, None leaves the flags alone."""
    flags = IFF_UP if up else 0
    change = IFF_UP if up is not None else 0
    return _IFINFO.pack(family, 0, index, flags, change)


def parse_attrs(data: bytes, offset: int = 0) -> dict[int, bytes]:
    """``{type: payload}`` of a run of rtattrs (the nested flag masked off; the last of a repeated type wins)."""
    out: dict[int, bytes] = {}
    while offset + _ATTR.size <= len(data):
        length, kind = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size:
            break
        out[kind & 0x3FFF] = data[offset + _ATTR.size: offset + length]
        offset += _align(length)
    return out


@dataclass(frozen=True)
class Route:
    family: int
    dst_len: int
    table: int
    type: int
    attrs: dict[int, bytes]

    @property
    def dst(self) -> str | None:
        raw = self.attrs.get(RTA_DST)
        return socket.inet_ntop(self.family, raw) if raw else None


class NetlinkError(OSError):
    """The kernel refused a request; ``errno`` is its error number."""


class Rtnl:
    """One ``NETLINK_ROUTE`` socket of the calling thread's network namespace."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0)  # 0: NETLINK_ROUTE
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -----------------------------------------------------------------
    def _send(self, msg_type: int, flags: int, body: bytes) -> int:
        self.seq += 1
        self.sock.send(_HDR.pack(_HDR.size + len(body), msg_type, flags | NLM_F_REQUEST, self.seq, 0) + body)
        return self.seq

    def _replies(self, seq: int) -> Iterator[tuple[int, bytes]]:
        """``(type, payload)`` of each reply to ``seq`` until the ack or the end of a dump."""
        while True:
            data, _, flags, _ = self.sock.recvmsg(1 << 16)
            if flags & socket.MSG_TRUNC:
                raise NetlinkError(errno.EMSGSIZE, "netlink reply larger than the receive buffer")
            offset = 0
            while offset + _HDR.size <= len(data):
                length, kind, _, rseq, _ = _HDR.unpack_from(data, offset)
                payload = data[offset + _HDR.size: offset + length]
                offset += _align(length)
                if rseq != seq:
                    continue  # a late reply to an earlier request
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", payload)
                    if code:
                        raise NetlinkError(-code, os.strerror(-code))
                    return
                if kind == NLMSG_DONE:
                    return
                yield kind, payload

    def request(self, msg_type: int, body: bytes, flags: int = 0) -> None:
        """Send one change and wait for its acknowledgement (raises ``NetlinkError``)."""
        for _ in self._replies(self._send(msg_type, flags | NLM_F_ACK, body)):
            pass

    def dump(self, msg_type: int, body: bytes) -> list[bytes]:
        return [payload for _, payload in self._replies(self._send(msg_type, NLM_F_DUMP, body))]

    # -- links ---------------------------------------------------------------------
    def link_attrs(self, index: int) -> dict[int, bytes]:
        self._send(RTM_GETLINK, 0, ifinfo(index))
        for _, payload in self._replies(self.seq):
            return parse_attrs(payload, _IFINFO.size)
        raise NetlinkError(errno.ENODEV, f"no link with index {index}")

    def link_kind(self, index: int) -> str:
        info = self.link_attrs(index).get(IFLA_LINKINFO)
        kind = parse_attrs(info).get(IFLA_INFO_KIND, b"") if info else b""
        return kind.rstrip(b"\0").decode()

    def add_bridge(self, name: str, mac: bytes | None = None) -> None:
        """A bridge; ``mac`` set at creation pins its address (otherwise the kernel gives it the
        lowest of its ports' and changes it as ports come and go)."""
        address = attr(IFLA_ADDRESS, mac) if mac else b""
        self.request(RTM_NEWLINK, ifinfo() + attr(IFLA_IFNAME, cstr(name)) + address
                     + nested(IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"bridge")), NLM_F_CREATE | NLM_F_EXCL)

    def add_veth(self, name: str, mtu: int, peer: str, peer_netns_fd: int, peer_mac: bytes) -> None:
        """A veth pair whose ``peer`` end is created directly in the namespace of ``peer_netns_fd``."""
        peer_msg = (ifinfo() + attr(IFLA_IFNAME, cstr(peer)) + attr(IFLA_NET_NS_FD, u32(peer_netns_fd))
                    + attr(IFLA_ADDRESS, peer_mac) + attr(IFLA_MTU, u32(mtu)))
        linkinfo = nested(IFLA_LINKINFO, attr(IFLA_INFO_KIND, b"veth"),
                          nested(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer_msg)))
        self.request(RTM_NEWLINK, ifinfo() + attr(IFLA_IFNAME, cstr(name)) + attr(IFLA_MTU, u32(mtu)) + linkinfo,
                     NLM_F_CREATE | NLM_F_EXCL)

    def set_link(self, index: int, *, up: bool | None = None, mtu: int | None = None,
                 master: int | None = None) -> None:
        attrs = b""
        if mtu is not None:
            attrs += attr(IFLA_MTU, u32(mtu))
        if master is not None:
            attrs += attr(IFLA_MASTER, u32(master))
        self.request(RTM_NEWLINK, ifinfo(index, up=up) + attrs)

    def set_hairpin(self, index: int) -> None:
        """Hairpin mode on a bridge port (``bridge link set dev X hairpin on``): the bridge's own
        setlink, which takes the port options nested and flagged as such."""
        self.request(RTM_SETLINK, ifinfo(index, family=socket.AF_BRIDGE)
                     + attr(IFLA_PROTINFO | NLA_F_NESTED, attr(IFLA_BRPORT_MODE, b"\1")))

    def delete_link(self, index: int) -> None:
        self.request(RTM_DELLINK, ifinfo(index))

    # -- addresses and routes ------------------------------------------------------
    def add_address_v4(self, index: int, address: str, prefixlen: int) -> None:
        raw = socket.inet_aton(address)
        self.request(RTM_NEWADDR, _IFADDR.pack(socket.AF_INET, prefixlen, 0, RT_SCOPE_UNIVERSE, index)
                     + attr(IFA_LOCAL, raw) + attr(IFA_ADDRESS, raw), NLM_F_CREATE | NLM_F_EXCL)

    def addresses_v4(self, index: int) -> set[tuple[str, int]]:
        """``{(address, prefixlen)}`` on the link ``index``."""
        out = set()
        for payload in self.dump(RTM_GETADDR, _IFADDR.pack(socket.AF_INET, 0, 0, 0, 0)):
            _, prefixlen, _, _, idx = _IFADDR.unpack_from(payload)
            attrs = parse_attrs(payload, _IFADDR.size)
            raw = attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS)
            if idx == index and raw:
                out.add((socket.inet_ntoa(raw), prefixlen))
        return out

    def set_default_route_v4(self, gateway: str, *, replace: bool = False) -> None:
        body = (_RTMSG.pack(socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
                + attr(RTA_GATEWAY, socket.inet_aton(gateway)))
        self.request(RTM_NEWROUTE, body, NLM_F_CREATE | (NLM_F_REPLACE if replace else NLM_F_EXCL))

    def routes(self, family: int = socket.AF_INET) -> list[Route]:
        out = []
        for payload in self.dump(RTM_GETROUTE, _RTMSG.pack(family, 0, 0, 0, 0, 0, 0, 0, 0)):
            fam, dst_len, _, _, table, _, _, rtype, _ = _RTMSG.unpack_from(payload)
            attrs = parse_attrs(payload, _RTMSG.size)
            if RTA_TABLE in attrs:  # tables above 255 are only in the attribute
                (table,) = struct.unpack("=I", attrs[RTA_TABLE])
            out.append(Route(fam, dst_len, table, rtype, attrs))
        return out


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))
