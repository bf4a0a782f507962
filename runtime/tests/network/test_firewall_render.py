"""The firewall rulesets as text: both renderers, no kernel, no tools.

The live behaviour of the same rules is in test_firewall_live.py; here each semantic is pinned to
the rule that implements it, so a change of meaning shows up as a one-line diff.
"""

from __future__ import annotations

import random

import pytest

from berth.network.firewall import iptables, nft
from berth.network.firewall.errors import FirewallError
from berth.network.firewall.model import BridgeRule, FirewallState, PortRule

BR0 = BridgeRule("berth0", "172.17.0.0/16")
BR1 = BridgeRule("br-0123456789ab", "172.18.0.0/16")
INTERNAL = BridgeRule("br-internal0", "172.19.0.0/16", internal=True)
WEB = PortRule("tcp", "", 8080, "172.17.0.2", 80, "berth0")
DNS = PortRule("udp", "", 5353, "172.17.0.2", 53, "berth0")
LOCAL = PortRule("tcp", "127.0.0.1", 8081, "172.17.0.3", 80, "berth0")
STATE = FirewallState((BR0, BR1), (WEB, DNS, LOCAL), "berth")


def nft_rules(state: FirewallState) -> dict[str, list[str]]:
    """chain -> its lines (head and rules) of the nft rendering."""
    chains: dict[str, list[str]] = {}
    current: list[str] = []
    for line in nft.normalise(nft.render(state)):
        if line.startswith("chain "):
            current = chains.setdefault(line.split()[1], [])
        elif line != "}" and not line.startswith("table "):
            current.append(line)
    return chains


def ipt_rules(state: FirewallState) -> dict[str, list[str]]:
    """chain -> rules of the iptables rendering, both tables merged (names are unique)."""
    return {c: rules for table in iptables.expected(state).values() for c, rules in table.items()}


# -- each semantic, nftables ---------------------------------------------------------------------
def test_nft_table_and_base_chains() -> None:
    text = nft.render(STATE)
    assert text.startswith("table ip berth {\n")
    chains = nft_rules(STATE)
    assert list(chains) == ["prerouting", "output", "ports", "postrouting", "forward", "isolate", "input"]
    assert chains["prerouting"][0] == "type nat hook prerouting priority -100; policy accept;"
    assert chains["output"][0] == "type nat hook output priority -100; policy accept;"
    assert chains["postrouting"][0] == "type nat hook postrouting priority 100; policy accept;"
    # policy accept: traffic that is none of ours is never dropped by this table
    assert chains["forward"][0] == "type filter hook forward priority 0; policy accept;"


def test_nft_published_ports_only_to_local_addresses() -> None:
    chains = nft_rules(STATE)
    assert chains["prerouting"][1:] == ["fib daddr type local jump ports"]
    assert chains["output"][1:] == ["fib daddr type local jump ports"]  # clients on the host, 127.0.0.1 too
    assert chains["ports"] == [
        "ip daddr 127.0.0.1 tcp dport 8081 dnat to 172.17.0.3:80",  # one address: before the "any" rules
        "tcp dport 8080 dnat to 172.17.0.2:80",
        "udp dport 5353 dnat to 172.17.0.2:53",
    ]


def test_nft_postrouting_masquerades() -> None:
    rules = nft_rules(STATE)["postrouting"]
    assert 'ip saddr 172.17.0.0/16 oifname != "berth0" masquerade' in rules  # egress
    assert 'ip saddr 127.0.0.0/8 oifname "berth0" masquerade' in rules  # DNAT from 127.0.0.1
    assert 'ip saddr 172.17.0.0/16 oifname "berth0" ct status dnat masquerade' in rules  # hairpin
    assert 'ip saddr 172.18.0.0/16 oifname != "br-0123456789ab" masquerade' in rules


def test_nft_forward() -> None:
    rules = nft_rules(STATE)["forward"][1:]
    assert rules == [
        'oifname "berth0" ct state established,related accept',
        'oifname "berth0" ct status dnat accept',
        'oifname "br-0123456789ab" ct state established,related accept',
        'oifname "br-0123456789ab" ct status dnat accept',
        'iifname "berth0" oifname != "berth0" jump isolate',
        'iifname "br-0123456789ab" oifname != "br-0123456789ab" jump isolate',
        'iifname "berth0" accept',
        'iifname "br-0123456789ab" accept',
        'oifname "berth0" drop',
        'oifname "br-0123456789ab" drop',
    ]
    assert nft_rules(STATE)["isolate"] == ['oifname "berth0" drop', 'oifname "br-0123456789ab" drop']


def test_nft_internal_bridge() -> None:
    chains = nft_rules(FirewallState((BR0, INTERNAL), (), "berth"))
    assert chains["forward"][1:3] == ['iifname "br-internal0" oifname != "br-internal0" drop',
                                      'oifname "br-internal0" iifname != "br-internal0" drop']
    text = nft.render(FirewallState((BR0, INTERNAL), (), "berth"))
    assert 'oifname != "br-internal0" masquerade' not in text  # no egress NAT
    assert 'iifname "br-internal0" accept' not in text  # no egress
    assert not [r for r in chains["forward"] if r.startswith('oifname "br-internal0" ct')]  # no way in
    assert 'oifname "br-internal0" drop' not in nft_rules(FirewallState((BR0, INTERNAL), (), "berth"))["isolate"]
    # the host itself may still reach it through a published port on 127.0.0.1 (output + postrouting)
    assert 'ip saddr 127.0.0.0/8 oifname "br-internal0" masquerade' in chains["postrouting"]


def test_nft_empty_state_is_no_table() -> None:
    empty = FirewallState((), (), "berth")
    assert nft.render(empty) == ""
    assert nft.script(empty) == "table ip berth {}\ndelete table ip berth\n"


def test_nft_script_replaces_in_one_transaction() -> None:
    script = nft.script(STATE)
    assert script.startswith("table ip berth {}\ndelete table ip berth\ntable ip berth {\n")
    assert script.endswith(nft.render(STATE))


def test_nft_normalise() -> None:
    listing = ("table ip berth { # handle 7\n\tchain forward { # handle 1\n"
               "\t\ttype filter hook forward priority 0; policy accept;\n"
               '\t\toifname  "x" drop # handle 3\n\t}\n}\n')
    assert nft.normalise(listing) == ["table ip berth {", "chain forward {",
                                      "type filter hook forward priority 0; policy accept;",
                                      'oifname "x" drop', "}", "}"]
    assert nft.normalise("type nat hook prerouting priority dstnat;") == nft.normalise(
        "type nat hook prerouting priority -100;")


# -- each semantic, iptables ---------------------------------------------------------------------
def test_ipt_chains_and_tables() -> None:
    out = iptables.render(STATE)
    assert list(out) == ["nat", "filter"]
    assert out["nat"].startswith("*nat\n:BERTH-PREROUTING - [0:0]\n:BERTH-OUTPUT - [0:0]\n"
                                 ":BERTH-POSTROUTING - [0:0]\n:BERTH-PORTS - [0:0]\n")
    assert out["filter"].startswith("*filter\n:BERTH-FORWARD - [0:0]\n:BERTH-ISOLATE - [0:0]\n")
    assert all(text.endswith("COMMIT\n") for text in out.values())
    # the jumps from the builtin chains are the caller's (they depend on what is there)
    assert "-j BERTH-PREROUTING" not in out["nat"]


def test_ipt_published_ports_only_to_local_addresses() -> None:
    rules = ipt_rules(STATE)
    assert rules["BERTH-PREROUTING"] == ["-m addrtype --dst-type LOCAL -j BERTH-PORTS"]
    assert rules["BERTH-OUTPUT"] == ["-m addrtype --dst-type LOCAL -j BERTH-PORTS"]
    assert rules["BERTH-PORTS"] == [
        "-d 127.0.0.1/32 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 172.17.0.3:80",
        "-p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80",
        "-p udp -m udp --dport 5353 -j DNAT --to-destination 172.17.0.2:53",
    ]


def test_ipt_postrouting_masquerades() -> None:
    rules = ipt_rules(STATE)["BERTH-POSTROUTING"]
    assert "-s 172.17.0.0/16 ! -o berth0 -j MASQUERADE" in rules
    assert "-s 127.0.0.0/8 -o berth0 -j MASQUERADE" in rules
    assert "-s 172.17.0.0/16 -o berth0 -m conntrack --ctstate DNAT -j MASQUERADE" in rules


def test_ipt_forward() -> None:
    rules = ipt_rules(STATE)
    assert rules["BERTH-FORWARD"] == [
        "-o berth0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-o berth0 -m conntrack --ctstate DNAT -j ACCEPT",
        "-o br-0123456789ab -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-o br-0123456789ab -m conntrack --ctstate DNAT -j ACCEPT",
        "-i berth0 ! -o berth0 -j BERTH-ISOLATE",
        "-i br-0123456789ab ! -o br-0123456789ab -j BERTH-ISOLATE",
        "-i berth0 -j ACCEPT",
        "-i br-0123456789ab -j ACCEPT",
        "-o berth0 -j DROP",
        "-o br-0123456789ab -j DROP",
    ]
    assert rules["BERTH-ISOLATE"] == ["-o berth0 -j DROP", "-o br-0123456789ab -j DROP"]


def test_ipt_internal_bridge() -> None:
    rules = ipt_rules(FirewallState((INTERNAL,), (), "berth"))
    assert rules["BERTH-FORWARD"] == ["-i br-internal0 ! -o br-internal0 -j DROP",
                                      "! -i br-internal0 -o br-internal0 -j DROP"]
    assert rules["BERTH-ISOLATE"] == []
    assert rules["BERTH-POSTROUTING"] == [
        "-s 127.0.0.0/8 -o br-internal0 -j MASQUERADE",
        "-s 172.19.0.0/16 -o br-internal0 -m conntrack --ctstate DNAT -j MASQUERADE",
    ]


def test_ipt_empty_state() -> None:
    assert iptables.render(FirewallState((), (), "berth")) == {}
    assert iptables.apply_input(FirewallState((), (), "berth"), {}) == ""


# -- iptables: jumps, removal, comparison with save output -----------------------------------------
def saved_after_apply(state: FirewallState, extra: str = "") -> iptables.Tables:
    """What iptables-save would show after applying ``state`` onto an empty host."""
    pre = iptables.prefix(state.ident)
    text = (f"*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [3:180]\n:POSTROUTING ACCEPT [0:0]\n"
            f"-A PREROUTING -j {pre}-PREROUTING\n-A OUTPUT -j {pre}-OUTPUT\n"
            f"-A POSTROUTING -j {pre}-POSTROUTING\nCOMMIT\n"
            f"*filter\n:FORWARD ACCEPT [10:600]\n:INPUT ACCEPT [0:0]\n-A FORWARD -j {pre}-FORWARD\n"
            f"-A INPUT -j {pre}-INPUT\n{extra}COMMIT\n")
    saved = iptables.parse(text)
    for table, chains in iptables.expected(state).items():
        saved[table].update(chains)
    return saved


def test_ipt_jumps_inserted_once() -> None:
    text = iptables.apply_input(STATE, {})
    for line in ("-I PREROUTING 1 -j BERTH-PREROUTING", "-I OUTPUT 1 -j BERTH-OUTPUT",
                 "-I POSTROUTING 1 -j BERTH-POSTROUTING", "-I FORWARD 1 -j BERTH-FORWARD",
                 "-I INPUT 1 -j BERTH-INPUT"):
        assert text.count(line) == 1
    # chains are declared before the jump to them, inside the same table section
    assert text.index(":BERTH-FORWARD") < text.index("-I FORWARD 1") < text.index("*filter") + len(text)
    again = iptables.apply_input(STATE, saved_after_apply(STATE))
    assert "-I " not in again and "-D " not in again
    doubled = saved_after_apply(STATE)
    doubled["filter"]["FORWARD"] *= 3
    assert iptables.apply_input(STATE, doubled).count("-D FORWARD -j BERTH-FORWARD") == 2


def test_ipt_in_sync() -> None:
    saved = saved_after_apply(STATE, extra=":DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\n")
    assert iptables.in_sync(STATE, saved)
    assert not iptables.in_sync(FirewallState((BR0,), (WEB,), "berth"), saved)
    assert not iptables.in_sync(FirewallState((), (), "berth"), saved)
    missing_rule = saved_after_apply(STATE)
    missing_rule["nat"]["BERTH-PORTS"].pop()
    assert not iptables.in_sync(STATE, missing_rule)
    missing_jump = saved_after_apply(STATE)
    missing_jump["filter"]["FORWARD"] = []
    assert not iptables.in_sync(STATE, missing_jump)
    assert iptables.in_sync(FirewallState((), (), "berth"), iptables.parse("*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n"))


def test_ipt_remove_input() -> None:
    text = iptables.remove_input("berth", saved_after_apply(STATE))
    assert text.index("-D FORWARD -j BERTH-FORWARD") < text.index(":BERTH-FORWARD - [0:0]") \
        < text.index("-X BERTH-FORWARD")
    for chain in ("PREROUTING", "OUTPUT", "POSTROUTING", "PORTS", "FORWARD", "ISOLATE", "INPUT"):
        assert f"-X BERTH-{chain}\n" in text
    assert iptables.remove_input("berth", {}) == ""  # nothing there: nothing to run
    # another engine's chains are never named
    assert "BERTH_" not in iptables.remove_input("berth", saved_after_apply(
        FirewallState((BR1,), (), "berth_1a2b3c4d")) | saved_after_apply(STATE))


# -- both: idents, stability, validation -----------------------------------------------------------
def test_ident_isolation() -> None:
    other = FirewallState(STATE.bridges, STATE.ports, "berth_1a2b3c4d")
    assert nft.render(other).startswith("table ip berth_1a2b3c4d {")
    assert "table ip berth " not in nft.script(other) and "table ip berth {" not in nft.script(other)
    text = "".join(iptables.render(other).values())
    chains = {line[1:].split()[0] for line in text.splitlines() if line.startswith(":")}
    assert chains == {f"BERTH_1A2B3C4D-{c}" for c in ("PREROUTING", "OUTPUT", "POSTROUTING", "PORTS",
                                                       "FORWARD", "ISOLATE", "INPUT")}
    assert all(len(c) <= 28 for c in chains)
    assert "BERTH-" not in text


@pytest.mark.parametrize("ident", ["", "berth-x", "9berth", "a" * 17, 'x"y', "berth x"])
def test_bad_ident(ident: str) -> None:
    with pytest.raises(FirewallError):
        nft.render(FirewallState((BR0,), (), ident))
    with pytest.raises(FirewallError):
        iptables.render(FirewallState((BR0,), (), ident))
    with pytest.raises(FirewallError):
        nft.remove_script(ident)


def test_stable_output() -> None:
    bridges = [BR0, BR1, INTERNAL]
    ports = [WEB, DNS, LOCAL, PortRule("tcp", "10.0.0.1", 8080, "172.18.0.2", 80, "br-0123456789ab")]
    want_nft = nft.render(FirewallState(tuple(bridges), tuple(ports), "berth"))
    want_ipt = iptables.render(FirewallState(tuple(bridges), tuple(ports), "berth"))
    rng = random.Random(7)
    for _ in range(10):
        rng.shuffle(bridges)
        rng.shuffle(ports)
        state = FirewallState(tuple(bridges), tuple(ports * 2), "berth")  # duplicates collapse too
        assert nft.render(state) == want_nft
        assert iptables.render(state) == want_ipt


def test_udp_and_host_ip() -> None:
    state = FirewallState((BR0,), (PortRule("udp", "192.168.1.5", 53, "172.17.0.9", 5353, "berth0"),), "berth")
    assert nft_rules(state)["ports"] == ["ip daddr 192.168.1.5 udp dport 53 dnat to 172.17.0.9:5353"]
    assert ipt_rules(state)["BERTH-PORTS"] == [
        "-d 192.168.1.5/32 -p udp -m udp --dport 53 -j DNAT --to-destination 172.17.0.9:5353"]


def test_canonical_inputs() -> None:
    # 0.0.0.0 is "any"; a host-bits subnet lists back as its network; IPv6 host addresses cannot
    # be matched by an IPv4 ruleset and are left out
    state = FirewallState((BridgeRule("berth0", "172.17.0.1/16"),),
                          (PortRule("tcp", "0.0.0.0", 80, "172.17.0.2", 80, "berth0"),
                           PortRule("tcp", "::", 81, "172.17.0.2", 81, "berth0")), "berth")
    assert nft_rules(state)["ports"] == ["tcp dport 80 dnat to 172.17.0.2:80"]
    assert 'ip saddr 172.17.0.0/16 oifname != "berth0" masquerade' in nft_rules(state)["postrouting"]


@pytest.mark.parametrize("state", [
    FirewallState((BridgeRule('br"; flush ruleset', "10.0.0.0/24"),), (), "berth"),
    FirewallState((BridgeRule("averyveryverylongname", "10.0.0.0/24"),), (), "berth"),
    FirewallState((BridgeRule("br0", "fd00::/64"),), (), "berth"),
    FirewallState((BridgeRule("br0", "nonsense"),), (), "berth"),
    FirewallState((BridgeRule("br0", "10.0.0.0/24"), BridgeRule("br0", "10.0.1.0/24")), (), "berth"),
    FirewallState((), (PortRule("tcp", "", 0, "10.0.0.2", 80, "br0"),), "berth"),
    FirewallState((), (PortRule("tcp", "", 80, "10.0.0.2", 70000, "br0"),), "berth"),
    FirewallState((), (PortRule("sctp", "", 80, "10.0.0.2", 80, "br0"),), "berth"),  # type: ignore[arg-type]
    FirewallState((), (PortRule("tcp", "", 80, "fd00::2", 80, "br0"),), "berth"),
    FirewallState((), (PortRule("tcp", "1.2.3", 80, "10.0.0.2", 80, "br0"),), "berth"),
])
def test_rejects_what_cannot_be_rendered_safely(state: FirewallState) -> None:
    with pytest.raises(FirewallError):
        nft.render(state)
    with pytest.raises(FirewallError):
        iptables.render(state)
