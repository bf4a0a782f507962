"""The resolver's pure parts: wire codec, table validation and the answer logic (no sockets)."""

from __future__ import annotations

import contextlib
import random
import struct
from pathlib import Path

import pytest

from berth.errors import BerthError
from berth.network.dns import codec
from berth.network.dns.server import LOCAL_TTL, Forward, answer
from berth.network.dns.table import EMPTY, TableError, Upstream, host_nameservers, load, parse

NET1, NET2 = "a" * 64, "b" * 64
TABLE = {
    "listen": [{"address": "172.18.0.1", "port": 53}],
    "upstream": ["192.0.2.53"],
    "clients": {
        "172.18.0.2": {"networks": [NET1], "upstream": []},
        "172.18.0.3": {"networks": [NET1], "upstream": ["198.51.100.1", "[2001:db8::1]:5353"]},
        "172.19.0.2": {"networks": [NET2, NET1], "upstream": []},
    },
    "names": {
        NET1: {"web": ["172.18.0.2"], "0123456789ab": ["172.18.0.2"], "db": ["172.18.0.3"],
               "both": ["172.18.0.4", "fd00::4"], "shared": ["172.18.0.5", "172.18.0.6"]},
        NET2: {"db": ["172.19.0.3"]},
    },
}


# -- codec -----------------------------------------------------------------------------------
def test_query_round_trip_keeps_case_and_gives_a_lowercase_key() -> None:
    data = codec.build_query("WeB.Example.", codec.TYPE_AAAA, ident=0xBEEF)
    q = codec.parse_query(data)
    assert (q.ident, q.question.qtype, q.question.qclass) == (0xBEEF, codec.TYPE_AAAA, codec.CLASS_IN)
    assert q.question.name == "WeB.Example"
    assert q.question.key == "web.example"
    assert q.flags & codec.FLAG_RD and q.opcode == codec.OPCODE_QUERY and q.edns is None
    assert q.raw == data and q.max_udp == 512


def test_message_round_trip_all_sections_and_edns() -> None:
    msg = codec.Message(
        ident=1, flags=codec.FLAG_QR | codec.FLAG_AA | codec.FLAG_RD | codec.FLAG_RA,
        questions=(codec.Question.make("web.example", codec.TYPE_ANY),),
        answers=(codec.address_record("web.example", "172.18.0.2", 600),
                 codec.address_record("web.example", "fd00::2", 600),
                 codec.ptr_record("2.0.18.172.in-addr.arpa", "web.example", 30)),
        authority=(codec.Record("example", codec.TYPE_NS, codec.CLASS_IN, 5, codec.encode_name("ns.example")),),
        additional=(codec.Record("x", codec.TYPE_TXT, codec.CLASS_IN, 0, b"\x03abc"),),
        edns=codec.Edns(udp_size=1232, dnssec_ok=True),
    )
    data = codec.build_message(msg)
    assert codec.parse_message(data) == msg
    assert [rr.value for rr in msg.answers] == ["172.18.0.2", "fd00::2", "web.example"]
    # the owner names after the first are compression pointers to the question
    assert data.count(b"\x03web\x07example") == 2  # question + PTR rdata (never compressed)


def test_compression_pointers_are_followed() -> None:
    # hand-built: question "www.example.test", answer owner = pointer to offset 12,
    # CNAME rdata "cdn" + pointer to "example.test" inside the question (offset 16)
    header = struct.pack("!HHHHHH", 7, 0x8180, 1, 2, 0, 0)
    question = b"\x03www\x07example\x04test\x00" + struct.pack("!HH", 1, 1)
    cname_rdata = b"\x03cdn\xc0\x10"
    cname = b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 60, len(cname_rdata)) + cname_rdata
    a_owner = 12 + len(question) + 12  # the "cdn..." name inside the CNAME rdata
    a = struct.pack("!H", 0xC000 | a_owner) + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 7])
    msg = codec.parse_message(header + question + cname + a)
    assert msg.questions[0].name == "www.example.test"
    assert [(rr.name, rr.value) for rr in msg.answers] == [("www.example.test", "cdn.example.test"),
                                                          ("cdn.example.test", "192.0.2.7")]
    assert msg.answers[0].rdata == codec.encode_name("cdn.example.test")  # stored decompressed


@pytest.mark.parametrize("tail", [
    b"\xc0\x0c",  # points at itself
    b"\xc0\x20",  # points forwards
    b"\x03abc\xc0\x0c",  # loops back to its own start
    b"\x03ab",  # label past the end
    b"\xc0",  # half a pointer
    b"\x80abc",  # reserved label type
    b"\x3f" + b"a" * 63,  # no terminator
])
def test_malformed_names_are_format_errors_with_the_id(tail: bytes) -> None:
    data = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + tail
    with pytest.raises(codec.FormatError) as e:
        codec.parse_query(data)
    assert e.value.ident == 0x1234


def test_overlong_names_are_refused_both_ways() -> None:
    long_name = ".".join(["a" * 63] * 4)  # 4*64+1 = 257 bytes on the wire
    with pytest.raises(ValueError):
        codec.split_name(long_name)
    with pytest.raises(ValueError):
        codec.split_name("a" * 64)
    with pytest.raises(ValueError):
        codec.split_name("a..b")
    wire = b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\x00" + struct.pack("!HH", 1, 1)
    with pytest.raises(codec.FormatError):
        codec.parse_query(struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0) + wire)


def test_short_packets_responses_and_question_counts() -> None:
    with pytest.raises(codec.FormatError) as e:
        codec.parse_query(b"\x00\x01\x00")
    assert e.value.ident is None
    reply = codec.response(codec.parse_query(codec.build_query("a", 1, ident=5)))
    with pytest.raises(codec.FormatError) as e:
        codec.parse_query(reply)  # a response is never answered: no id to reply to
    assert e.value.ident is None
    with pytest.raises(codec.FormatError) as e:
        codec.parse_query(struct.pack("!HHHHHH", 9, 0, 0, 0, 0, 0))
    assert e.value.ident == 9
    with pytest.raises(codec.FormatError):
        codec.parse_query(codec.build_query("a", 1, ident=5)[:-1])  # truncated question


def test_response_flags_edns_and_truncation() -> None:
    q = codec.parse_query(codec.build_query("many", codec.TYPE_A, ident=77, edns=codec.Edns(udp_size=4096)))
    assert q.max_udp == 4096
    records = [codec.address_record("many", f"10.0.{i // 250}.{i % 250}", 600) for i in range(100)]
    full = codec.parse_message(codec.response(q, codec.NOERROR, records, authoritative=True))
    assert full.ident == 77 and full.is_response and full.flags & codec.FLAG_AA and full.flags & codec.FLAG_RA
    assert full.flags & codec.FLAG_RD and not full.flags & codec.FLAG_TC
    assert len(full.answers) == 100 and full.edns is not None and full.edns.udp_size == codec.EDNS_SIZE
    small = codec.response(q, codec.NOERROR, records, max_size=512)
    cut = codec.parse_message(small)
    assert len(small) <= 512 and cut.flags & codec.FLAG_TC and 0 < len(cut.answers) < 100
    bad = codec.parse_message(codec.response(q, codec.BADVERS))
    assert bad.rcode == codec.BADVERS and bad.flags & 0xF == 0
    plain = codec.parse_query(codec.build_query("x", 1, ident=1))
    assert codec.parse_message(codec.response(plain, codec.BADVERS)).rcode == codec.SERVFAIL
    err = codec.parse_message(codec.error_response(5, 0x0100, codec.FORMERR))
    assert (err.ident, err.rcode, err.questions, err.is_response) == (5, codec.FORMERR, (), True)


def test_reverse_names() -> None:
    assert codec.reverse_name("172.18.0.2") == "2.0.18.172.in-addr.arpa"
    assert codec.reverse_ip("2.0.18.172.in-addr.arpa") == "172.18.0.2"
    v6 = codec.reverse_name("fd00::4")
    assert v6.endswith(".ip6.arpa") and codec.reverse_ip(v6) == "fd00::4"
    for bad in ("0.18.172.in-addr.arpa", "256.0.18.172.in-addr.arpa", "02.0.18.172.in-addr.arpa",
                "x.0.18.172.in-addr.arpa", "in-addr.arpa", "web", "1.2.ip6.arpa"):
        assert codec.reverse_ip(bad) is None


# -- table -----------------------------------------------------------------------------------
def test_table_lookup_in_network_order() -> None:
    t = parse(TABLE)
    assert t.listen == (("172.18.0.1", 53),)
    assert t.resolve("172.18.0.2", "web") == ("172.18.0.2",)
    assert t.resolve("172.19.0.2", "db") == ("172.19.0.3",)  # its first network wins
    assert t.resolve("172.19.0.2", "web") == ("172.18.0.2",)  # then the next one
    assert t.resolve("10.9.9.9", "web") is None  # unknown client: forwarding only
    assert t.reverse("172.18.0.2", "172.18.0.2") == "web"  # the name, not the short ID
    assert t.reverse("172.19.0.2", "172.19.0.3") == "db"
    assert t.upstreams("172.18.0.2") == (Upstream("192.0.2.53"),)
    assert t.upstreams("172.18.0.3") == (Upstream("198.51.100.1"), Upstream("2001:db8::1", 5353))
    assert t.upstreams("10.9.9.9") == (Upstream("192.0.2.53"),)


def test_table_normalises_and_pins_ptr() -> None:
    t = parse({"listen": [{"address": "127.0.0.1"}], "names": {"n": {"Web.": ["fd00:0::1"], "zz": ["fd00::1"]}},
               "clients": {"127.0.0.1": {"networks": ["n"]}}, "ptr": {"n": {"fd00::1": "zz"}}, "future": 1})
    assert t.listen == (("127.0.0.1", 53),)
    assert t.resolve("127.0.0.1", "web") == ("fd00::1",)
    assert t.reverse("127.0.0.1", "fd00::1") == "zz"


@pytest.mark.parametrize(("table", "field"), [
    ([], "top level"),
    ({"listen": [{"address": "nope"}]}, "listen[0].address"),
    ({"listen": [{"address": "127.0.0.1", "port": 0}]}, "listen[0].port"),
    ({"listen": {"address": "127.0.0.1"}}, "listen"),
    ({"upstream": ["1.2.3.4:x"]}, "upstream[0]"),
    ({"upstream": [53]}, "upstream[0]"),
    ({"clients": {"not-an-ip": {}}}, "clients['not-an-ip']"),
    ({"clients": {"10.0.0.1": {"networks": [1]}}}, "networks"),
    ({"names": {"n": {"web": "10.0.0.1"}}}, "names['n']['web']"),
    ({"names": {"n": {"": ["10.0.0.1"]}}}, "names['n']['']"),
    ({"names": {"n": {"web": ["10.0.0.300"]}}}, "names['n']['web']"),
])
def test_table_errors_name_the_field(table: object, field: str) -> None:
    with pytest.raises(TableError) as e:
        parse(table)
    assert isinstance(e.value, BerthError)
    assert field in str(e.value)


def test_upstream_fallbacks_and_no_forwarding_to_ourselves(tmp_path: Path) -> None:
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("# comment\nsearch example\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\n"
                      "nameserver 10.0.0.1\nnameserver 127.0.0.53\nnameserver 172.18.0.1\noptions edns0\n")
    assert host_nameservers(resolv) == (Upstream("127.0.0.53"), Upstream("10.0.0.1"), Upstream("172.18.0.1"))
    assert host_nameservers(tmp_path / "missing") == ()
    table = tmp_path / "dns.json"
    table.write_text('{"listen": [{"address": "172.18.0.1", "port": 53}],'
                     ' "clients": {"172.18.0.2": {"networks": [], "upstream": ["172.18.0.1", "9.9.9.9"]}}}')
    t = load(table, resolv_conf=resolv)
    assert t.upstream == (Upstream("127.0.0.53"), Upstream("10.0.0.1"))  # the gateway itself: dropped
    assert t.upstreams("172.18.0.2") == (Upstream("9.9.9.9"),)
    assert load(tmp_path / "absent.json") == EMPTY
    table.write_text("{not json")
    with pytest.raises(TableError):
        load(table)
    assert str(Upstream("::1", 5353)) == "[::1]:5353" and str(Upstream("10.0.0.1")) == "10.0.0.1"


# -- answering -------------------------------------------------------------------------------
def _ask(name: str, qtype: int, client: str = "172.18.0.2", **kw: object) -> codec.Message:
    out = answer(parse(TABLE), codec.build_query(name, qtype, ident=4242, **kw), client, tcp=False)
    assert isinstance(out, bytes), out
    msg = codec.parse_message(out)
    assert msg.ident == 4242 and msg.is_response
    return msg


def test_answer_known_names() -> None:
    for name in ("web", "WEB", "web.", "Web.", "0123456789AB"):
        msg = _ask(name, codec.TYPE_A)
        assert msg.rcode == codec.NOERROR and msg.flags & codec.FLAG_AA
        assert [(rr.value, rr.ttl) for rr in msg.answers] == [("172.18.0.2", LOCAL_TTL)]
        assert msg.questions[0].name == name.rstrip(".")  # echoed as asked
        assert msg.answers[0].name == name.rstrip(".")
    assert [rr.value for rr in _ask("shared", codec.TYPE_A).answers] == ["172.18.0.5", "172.18.0.6"]
    assert [rr.value for rr in _ask("both", codec.TYPE_AAAA).answers] == ["fd00::4"]
    assert [rr.value for rr in _ask("both", codec.TYPE_ANY).answers] == ["172.18.0.4", "fd00::4"]


def test_answer_nodata_for_other_types_of_known_names() -> None:
    for qtype in (codec.TYPE_AAAA, codec.TYPE_MX, codec.TYPE_TXT):
        msg = _ask("web", qtype)
        assert (msg.rcode, msg.answers) == (codec.NOERROR, ())


def test_answer_ptr() -> None:
    msg = _ask("2.0.18.172.in-addr.arpa", codec.TYPE_PTR)
    assert [(rr.rtype, rr.value) for rr in msg.answers] == [(codec.TYPE_PTR, "web")]
    assert [rr.value for rr in _ask(codec.reverse_name("fd00::4"), codec.TYPE_PTR).answers] == ["both"]


def test_answer_forwards_what_is_not_local() -> None:
    t = parse(TABLE)
    for name, client in (("example.com", "172.18.0.2"), ("web", "10.9.9.9"), ("9.9.9.9.in-addr.arpa", "172.18.0.2"),
                         ("web.example", "172.18.0.2")):
        data = codec.build_query(name, codec.TYPE_PTR if "arpa" in name else codec.TYPE_A, ident=3)
        out = answer(t, data, client, tcp=False)
        assert isinstance(out, Forward) and out.query.raw == data
    chaos = codec.build_query("version.bind", codec.TYPE_TXT, qclass=3, ident=3)
    assert isinstance(answer(t, chaos, "172.18.0.2", tcp=False), Forward)
    fwd = answer(t, codec.build_query("x.org", 1, ident=3), "172.18.0.3", tcp=True)
    assert isinstance(fwd, Forward) and fwd.upstreams == (Upstream("198.51.100.1"), Upstream("2001:db8::1", 5353))


def test_internal_only_clients_get_local_names_but_no_forwarding() -> None:
    t = parse({**TABLE, "clients": {"172.18.0.2": {"networks": [NET1], "forward": False}}})
    local = codec.parse_message(answer(t, codec.build_query("web", codec.TYPE_A, ident=5), "172.18.0.2", tcp=False))
    assert local.rcode == codec.NOERROR and local.answers
    out = answer(t, codec.build_query("example.com", codec.TYPE_A, ident=5), "172.18.0.2", tcp=False)
    assert codec.parse_message(out).rcode == codec.SERVFAIL  # no way out, DNS included
    with pytest.raises(TableError, match="forward"):
        parse({**TABLE, "clients": {"172.18.0.2": {"networks": [NET1], "forward": "no"}}})


def test_answer_errors() -> None:
    t = parse({**TABLE, "upstream": []})
    no_up = codec.parse_message(answer(t, codec.build_query("example.com", 1, ident=8), "10.1.1.1", tcp=False))
    assert no_up.rcode == codec.SERVFAIL  # no upstream at all (resolv.conf of the host is not read by parse)
    bad = struct.pack("!HHHHHH", 0x4444, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c"
    assert codec.parse_message(answer(t, bad, "172.18.0.2", tcp=False)).rcode == codec.FORMERR
    notify = bytearray(codec.build_query("web", 1, ident=9))
    notify[2] |= 4 << 3  # opcode NOTIFY
    assert codec.parse_message(answer(t, bytes(notify), "172.18.0.2", tcp=False)).rcode == codec.NOTIMP
    v1 = codec.build_query("web", 1, ident=9, edns=codec.Edns(version=1))
    assert codec.parse_message(answer(t, v1, "172.18.0.2", tcp=False)).rcode == codec.BADVERS
    assert answer(t, b"\x00\x01", "172.18.0.2", tcp=False) is None
    reply = codec.response(codec.parse_query(codec.build_query("web", 1, ident=1)))
    assert answer(t, reply, "172.18.0.2", tcp=False) is None  # never answer a response


def test_fuzz_never_raises_anything_but_format_error() -> None:
    rng = random.Random(1234)
    t = parse(TABLE)
    seeds = [codec.build_query("web", codec.TYPE_A, ident=1, edns=codec.Edns()),
             codec.build_query("2.0.18.172.in-addr.arpa", codec.TYPE_PTR, ident=2),
             codec.response(codec.parse_query(codec.build_query("web", 1, ident=3)), 0,
                            [codec.address_record("web", "172.18.0.2", 1)])]
    for i in range(3000):
        if i % 3 == 0:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
        else:
            buf = bytearray(rng.choice(seeds))
            for _ in range(rng.randrange(1, 6)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
            data = bytes(buf[: rng.randrange(len(buf) + 1)] if rng.random() < 0.3 else buf)
        with contextlib.suppress(codec.FormatError):
            codec.parse_message(data)
        out = answer(t, data, "172.18.0.2", tcp=bool(i % 2))
        assert out is None or isinstance(out, bytes | Forward)
