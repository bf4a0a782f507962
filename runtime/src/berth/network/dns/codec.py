"""The DNS wire format (RFC 1035, EDNS from RFC 6891): just what a stub resolver's server needs.

Parsing never trusts the packet: every length and compression pointer is bounds-checked, pointers
must point backwards (so a loop cannot exist) and a malformed message raises ``FormatError`` and
nothing else. Names are ``str`` decoded as latin-1 (lossless for any label byte); ``Question.key``
is the lookup form: ASCII-lowercased, no trailing dot.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable, Sequence

from berth.structs import dataclass, field

# -- constants -------------------------------------------------------------------------------
TYPE_A = 1
TYPE_NS = 2
TYPE_CNAME = 5
TYPE_SOA = 6
TYPE_PTR = 12
TYPE_MX = 15
TYPE_TXT = 16
TYPE_AAAA = 28
TYPE_OPT = 41
TYPE_ANY = 255

CLASS_IN = 1
CLASS_ANY = 255

OPCODE_QUERY = 0

NOERROR = 0
FORMERR = 1
SERVFAIL = 2
NXDOMAIN = 3
NOTIMP = 4
REFUSED = 5
BADVERS = 16  # extended (EDNS) rcode: needs an OPT record to carry its upper bits

FLAG_QR = 0x8000
FLAG_AA = 0x0400
FLAG_TC = 0x0200
FLAG_RD = 0x0100
FLAG_RA = 0x0080

HEADER = struct.Struct("!HHHHHH")
HEADER_SIZE = HEADER.size
UDP_MIN = 512  # the size every client accepts without EDNS
UDP_MAX = 4096  # cap on what an EDNS client may ask for
EDNS_SIZE = 1232  # what we advertise (the DNS flag day 2020 value: no IP fragmentation)

_NAME_TYPES = (TYPE_NS, TYPE_CNAME, TYPE_PTR)  # rdata is one domain name
_MAX_NAME = 255  # wire length, RFC 1035 2.3.4
_MAX_LABEL = 63


class FormatError(ValueError):
    """A malformed message. ``ident`` is its ID when the header was readable (so a FORMERR can
    be sent back), else None (too short to answer at all)."""

    def __init__(self, message: str, ident: int | None = None) -> None:
        super().__init__(message)
        self.ident = ident


# -- data ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    #: raw labels, case preserved: echoed as they came (resolvers using 0x20 randomisation check)
    labels: tuple[bytes, ...]
    qtype: int
    qclass: int = CLASS_IN

    @property
    def name(self) -> str:
        return ".".join(label.decode("latin-1") for label in self.labels)

    @property
    def key(self) -> str:
        """The lookup key: ASCII-lowercase (DNS is case-insensitive for ASCII only), no trailing dot."""
        return ".".join(label.lower().decode("latin-1") for label in self.labels)

    @classmethod
    def make(cls, name: str, qtype: int, qclass: int = CLASS_IN) -> Question:
        return cls(split_name(name), qtype, qclass)


@dataclass(frozen=True)
class Edns:
    udp_size: int = EDNS_SIZE
    version: int = 0
    dnssec_ok: bool = False
    ext_rcode: int = 0  # upper 8 bits of a 12-bit rcode


@dataclass(frozen=True)
class Record:
    """A resource record; ``rdata`` is self-contained (names in it are never compressed)."""

    name: str
    rtype: int
    rclass: int
    ttl: int
    rdata: bytes

    @property
    def value(self) -> str:
        """rdata as text for the types this server deals in (A, AAAA, name types), else hex."""
        if self.rtype == TYPE_A and len(self.rdata) == 4:
            return socket.inet_ntop(socket.AF_INET, self.rdata)
        if self.rtype == TYPE_AAAA and len(self.rdata) == 16:
            return socket.inet_ntop(socket.AF_INET6, self.rdata)
        if self.rtype in _NAME_TYPES:
            return _read_name(self.rdata, 0)[0]
        return self.rdata.hex()


@dataclass(frozen=True)
class Message:
    ident: int
    flags: int
    questions: tuple[Question, ...] = ()
    answers: tuple[Record, ...] = ()
    authority: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()  # OPT excluded: it is ``edns``
    edns: Edns | None = None

    @property
    def rcode(self) -> int:
        low = self.flags & 0xF
        return low | (self.edns.ext_rcode << 4) if self.edns else low

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF

    @property
    def is_response(self) -> bool:
        return bool(self.flags & FLAG_QR)


@dataclass(frozen=True)
class Query:
    """A parsed query: what the server needs to answer it or pass it on."""

    ident: int
    flags: int
    question: Question
    edns: Edns | None = None
    raw: bytes = field(default=b"", repr=False)

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF

    @property
    def max_udp(self) -> int:
        """Largest UDP reply this client takes."""
        if self.edns is None:
            return UDP_MIN
        return max(UDP_MIN, min(self.edns.udp_size, UDP_MAX))


# -- names -----------------------------------------------------------------------------------
def split_name(name: str) -> tuple[bytes, ...]:
    """``"Web.Example."`` -> ``(b"Web", b"Example")``; the root is ``""`` or ``"."``."""
    name = name[:-1] if name.endswith(".") else name
    if not name:
        return ()
    labels = tuple(label.encode("latin-1") for label in name.split("."))
    if any(not 0 < len(label) <= _MAX_LABEL for label in labels):
        raise ValueError(f"invalid DNS name {name!r}: empty or over-long label")
    if sum(len(label) + 1 for label in labels) + 1 > _MAX_NAME:
        raise ValueError(f"invalid DNS name {name!r}: longer than 255 bytes")
    return labels


def _read_labels(data: bytes, offset: int) -> tuple[tuple[bytes, ...], int]:
    """Labels of the name at ``offset`` and the offset just past it (past the first pointer)."""
    labels: list[bytes] = []
    end = -1  # where parsing resumes: set at the first pointer
    pos = offset
    limit = offset  # a pointer must go strictly before the label run it interrupts
    wire = 1
    while True:
        if pos >= len(data):
            raise FormatError("name runs past the end of the message")
        length = data[pos]
        if length == 0:
            pos += 1
            break
        kind = length & 0xC0
        if kind == 0xC0:
            if pos + 1 >= len(data):
                raise FormatError("truncated compression pointer")
            target = ((length & 0x3F) << 8) | data[pos + 1]
            if target >= limit:
                raise FormatError("compression pointer does not point backwards")
            if end < 0:
                end = pos + 2
            pos = limit = target
            continue
        if kind:
            raise FormatError(f"unsupported label type 0x{kind:02x}")
        label = data[pos + 1 : pos + 1 + length]
        if len(label) != length:
            raise FormatError("label runs past the end of the message")
        wire += length + 1
        if wire > _MAX_NAME:
            raise FormatError("name longer than 255 bytes")
        labels.append(label)
        pos += 1 + length
    return tuple(labels), (end if end >= 0 else pos)


def _read_name(data: bytes, offset: int) -> tuple[str, int]:
    labels, end = _read_labels(data, offset)
    return ".".join(label.decode("latin-1") for label in labels), end


class _Writer:
    """Accumulates a message, compressing names against those already written."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self._offsets: dict[tuple[bytes, ...], int] = {}

    def name(self, labels: Sequence[bytes], *, compress: bool = True) -> None:
        labels = tuple(labels)
        for i in range(len(labels)):
            suffix = tuple(label.lower() for label in labels[i:])
            if compress and suffix in self._offsets:
                self.buf += struct.pack("!H", 0xC000 | self._offsets[suffix])
                return
            if compress and len(self.buf) < 0x3FFF:
                self._offsets[suffix] = len(self.buf)
            self.buf.append(len(labels[i]))
            self.buf += labels[i]
        self.buf.append(0)

    def record(self, rr: Record) -> None:
        self.name(split_name(rr.name))
        self.buf += struct.pack("!HHIH", rr.rtype, rr.rclass, rr.ttl & 0xFFFFFFFF, len(rr.rdata))
        self.buf += rr.rdata


def encode_name(name: str) -> bytes:
    """Uncompressed wire form of ``name`` (rdata of PTR/CNAME/NS records)."""
    w = _Writer()
    w.name(split_name(name), compress=False)
    return bytes(w.buf)


# -- parsing ---------------------------------------------------------------------------------
def _read_question(data: bytes, pos: int) -> tuple[Question, int]:
    labels, pos = _read_labels(data, pos)
    if pos + 4 > len(data):
        raise FormatError("truncated question")
    qtype, qclass = struct.unpack_from("!HH", data, pos)
    return Question(labels, qtype, qclass), pos + 4


def _read_record(data: bytes, pos: int) -> tuple[Record | Edns, int]:
    name, pos = _read_name(data, pos)
    if pos + 10 > len(data):
        raise FormatError("truncated resource record")
    rtype, rclass, ttl, rdlength = struct.unpack_from("!HHIH", data, pos)
    pos += 10
    if pos + rdlength > len(data):
        raise FormatError("rdata runs past the end of the message")
    rdata = data[pos : pos + rdlength]
    if rtype == TYPE_OPT:
        if name:
            raise FormatError("OPT record with a non-root owner name")
        edns = Edns(udp_size=rclass, version=(ttl >> 16) & 0xFF, dnssec_ok=bool(ttl & 0x8000),
                    ext_rcode=ttl >> 24)
        return edns, pos + rdlength
    if rtype in _NAME_TYPES:
        # decompress now so the record stands alone
        labels, end = _read_labels(data, pos)
        if end != pos + rdlength:
            raise FormatError("name rdata does not fill its rdlength")
        rdata = b"".join(bytes((len(label),)) + label for label in labels) + b"\x00"
    return Record(name, rtype, rclass, ttl, rdata), pos + rdlength


def _header(data: bytes) -> tuple[int, int, int, int, int, int]:
    if len(data) < HEADER_SIZE:
        raise FormatError("shorter than a DNS header")
    return HEADER.unpack_from(data)


def parse_message(data: bytes) -> Message:
    """Any message (query or response), every section; trailing bytes are ignored."""
    ident, flags, qd, an, ns, ar = _header(data)
    try:
        pos = HEADER_SIZE
        questions = []
        for _ in range(qd):
            q, pos = _read_question(data, pos)
            questions.append(q)
        sections: list[list[Record]] = [[], [], []]
        edns: Edns | None = None
        for section, count in zip(sections, (an, ns, ar), strict=True):
            for _ in range(count):
                rr, pos = _read_record(data, pos)
                if isinstance(rr, Edns):
                    if section is not sections[2] or edns is not None:
                        raise FormatError("misplaced or repeated OPT record")
                    edns = rr
                else:
                    section.append(rr)
    except FormatError as e:
        raise FormatError(str(e), ident) from None
    return Message(ident, flags, tuple(questions), *(tuple(s) for s in sections), edns=edns)


def parse_query(data: bytes) -> Query:
    """A query to answer. Raises ``FormatError`` (with ``ident`` when there is a header) for
    anything malformed, a response, or a question count other than one."""
    msg = parse_message(data)
    if msg.is_response:
        raise FormatError("a response, not a query", None)  # never answer: that is how loops start
    if len(msg.questions) != 1:
        raise FormatError(f"{len(msg.questions)} questions (one expected)", msg.ident)
    return Query(msg.ident, msg.flags, msg.questions[0], msg.edns, data)


def reply_id(data: bytes) -> int | None:
    """The ID of a reply (for matching it to a query), None if it is not a response at all."""
    if len(data) < HEADER_SIZE or not data[2] & 0x80:
        return None
    return (data[0] << 8) | data[1]


# -- building --------------------------------------------------------------------------------
def _opt(edns: Edns, rcode: int) -> bytes:
    ttl = ((rcode >> 4) & 0xFF) << 24 | (edns.version & 0xFF) << 16 | (0x8000 if edns.dnssec_ok else 0)
    return b"\x00" + struct.pack("!HHIH", TYPE_OPT, edns.udp_size, ttl, 0)


def build_message(msg: Message, *, max_size: int | None = None) -> bytes:
    """Encode ``msg``; over ``max_size`` bytes, drop records from the end and set TC."""
    answers, authority, additional = list(msg.answers), list(msg.authority), list(msg.additional)
    flags = msg.flags & ~0xF | (msg.rcode & 0xF)
    while True:
        w = _Writer()
        counts = (len(msg.questions), len(answers), len(authority), len(additional) + (msg.edns is not None))
        w.buf += HEADER.pack(msg.ident, flags, *counts)
        for q in msg.questions:
            w.name(q.labels)
            w.buf += struct.pack("!HH", q.qtype, q.qclass)
        for rr in (*answers, *authority, *additional):
            w.record(rr)
        if msg.edns is not None:
            w.buf += _opt(msg.edns, msg.rcode)
        if max_size is None or len(w.buf) <= max_size:
            return bytes(w.buf)
        # truncation: what does not fit is left out and the client told so (it retries over TCP)
        flags |= FLAG_TC
        for section in (additional, authority, answers):
            if section:
                section.pop()
                break
        else:
            return bytes(w.buf)  # header + question alone: nothing more to drop


def build_query(name: str, qtype: int, *, ident: int, qclass: int = CLASS_IN, rd: bool = True,
                edns: Edns | None = None) -> bytes:
    flags = FLAG_RD if rd else 0
    return build_message(Message(ident, flags, (Question.make(name, qtype, qclass),), edns=edns))


def response(query: Query, rcode: int = NOERROR, answers: Iterable[Record] = (), *,
             authoritative: bool = False, max_size: int | None = None) -> bytes:
    """The reply to ``query``: its ID, question and RD bit, RA set (we recurse by forwarding),
    an OPT record when the query had one (RFC 6891 6.1.1 requires it)."""
    flags = FLAG_QR | (query.flags & (0x7800 | FLAG_RD)) | FLAG_RA | (FLAG_AA if authoritative else 0)
    if query.edns is None and rcode > 0xF:
        rcode = SERVFAIL  # an extended rcode cannot be expressed without OPT
    edns = Edns(EDNS_SIZE, ext_rcode=rcode >> 4) if query.edns is not None else None
    msg = Message(query.ident, flags | (rcode & 0xF), (query.question,), tuple(answers), edns=edns)
    return build_message(msg, max_size=max_size)


def error_response(ident: int, flags: int, rcode: int) -> bytes:
    """A bare reply (no question echoed) for a message we could not parse."""
    out_flags = FLAG_QR | (flags & (0x7800 | FLAG_RD)) | FLAG_RA | (rcode & 0xF)
    return HEADER.pack(ident, out_flags, 0, 0, 0, 0)


def header_flags(data: bytes) -> int:
    return (data[2] << 8) | data[3] if len(data) >= 4 else 0


# -- records ---------------------------------------------------------------------------------
def address_record(name: str, ip: str, ttl: int) -> Record:
    """A or AAAA for ``ip`` (by its family)."""
    if ":" in ip:
        return Record(name, TYPE_AAAA, CLASS_IN, ttl, socket.inet_pton(socket.AF_INET6, ip))
    return Record(name, TYPE_A, CLASS_IN, ttl, socket.inet_pton(socket.AF_INET, ip))


def ptr_record(name: str, target: str, ttl: int) -> Record:
    return Record(name, TYPE_PTR, CLASS_IN, ttl, encode_name(target))


def reverse_name(ip: str) -> str:
    """``172.18.0.2`` -> ``2.0.18.172.in-addr.arpa`` (and the nibble form for IPv6)."""
    if ":" in ip:
        hexed = socket.inet_pton(socket.AF_INET6, ip).hex()
        return ".".join(reversed(hexed)) + ".ip6.arpa"
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


def reverse_ip(key: str) -> str | None:
    """The address a PTR query key names (``2.0.18.172.in-addr.arpa`` -> ``172.18.0.2``), or None
    for a partial or malformed reverse name."""
    if key.endswith(".in-addr.arpa"):
        parts = key[: -len(".in-addr.arpa")].split(".")
        if len(parts) != 4 or not all(p.isascii() and p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
            return None
        if any(len(p) > 1 and p[0] == "0" for p in parts):
            return None  # "02" is not how a reverse name spells 2
        return ".".join(reversed(parts))
    if key.endswith(".ip6.arpa"):
        nibbles = key[: -len(".ip6.arpa")].split(".")
        if len(nibbles) != 32 or not all(len(n) == 1 and n in "0123456789abcdef" for n in nibbles):
            return None
        return socket.inet_ntop(socket.AF_INET6, bytes.fromhex("".join(reversed(nibbles))))
    return None
