"""The nftables ruleset of one engine: a pure function of its ``FirewallState``.

Everything lives in one table ``ip <ident>``; nothing else on the host is touched. ``render``
writes the table exactly as ``nft list table`` prints it (tabs, chain order, spelling), so
``in_sync`` compares the live listing with the rendering after a light normalisation.
``script`` wraps it in the replace transaction::

    table ip berth {}        # create it if missing, so that...
    delete table ip berth    # ...this never fails
    table ip berth { ... }   # the new ruleset

``nft -f`` runs a file as one kernel transaction: packets see the old table or the new one,
never a half. An empty state renders no table at all (``apply`` deletes it): when no container
publishes or egresses, the host's ruleset shows nothing of berth.

Chains (see ``plan.py`` for the order of bridges and ports):

- ``prerouting`` / ``output`` (nat, dstnat): packets to a local address jump to ``ports``,
  the DNAT of published ports; ``output`` covers clients on the host itself, 127.0.0.1 included.
- ``postrouting`` (nat, srcnat): egress masquerade of non-internal subnets; masquerade of
  loopback sources leaving through a bridge (DNAT from 127.0.0.1; needs route_localnet=1 on the
  bridge); hairpin masquerade of DNATed packets from a bridge's subnet going back out of it.
- ``forward`` (filter, priority 0, policy accept: traffic that is not ours passes untouched):
  internal bridges cut off; replies and DNATed traffic into a bridge accepted; bridge to other
  bridge dropped (``isolate``); egress accepted; anything else into a bridge dropped (no direct
  routing to container addresses from outside, as Docker 28 does).
- ``input`` (filter, policy accept): new connections from a bridge to 127.0.0.0/8 dropped (the
  route_localnet hole, CVE-2020-8558).
"""

from __future__ import annotations

import re

from berth.network.firewall.model import FirewallState, PortRule
from berth.network.firewall.plan import Plan, check_ident, plan

LOOPBACK = "127.0.0.0/8"


def render(state: FirewallState) -> str:
    """The table ``ip <ident>`` as ``nft list table`` prints it; "" for an empty state."""
    p = plan(state)
    if p.empty:
        return ""
    chains = [
        ("prerouting", "type nat hook prerouting priority dstnat; policy accept;", ["fib daddr type local jump ports"]),
        # "dstnat" is only a keyword in prerouting: output takes the number (and lists it so)
        ("output", "type nat hook output priority -100; policy accept;", ["fib daddr type local jump ports"]),
        ("ports", "", [_dnat(r) for r in p.ports]),
        ("postrouting", "type nat hook postrouting priority srcnat; policy accept;", _postrouting(p)),
        ("forward", "type filter hook forward priority filter; policy accept;", _forward(p)),
        ("isolate", "", [f"oifname {_q(b.bridge)} drop" for b in p.external]),
        ("input", "type filter hook input priority filter; policy accept;", _input(p)),
    ]
    blocks = []
    for name, head, rules in chains:
        body = [head] if head else []
        body += rules
        blocks.append(f"\tchain {name} {{\n" + "".join(f"\t\t{line}\n" for line in body) + "\t}\n")
    return f"table ip {p.ident} {{\n" + "\n".join(blocks) + "}\n"


def script(state: FirewallState) -> str:
    """The whole ``nft -f`` transaction that replaces (or, empty state, removes) the table."""
    return remove_script(state.ident) + render(state)


def remove_script(ident: str) -> str:
    """Delete ``ip <ident>`` whether or not it exists (declaring an existing table is a no-op)."""
    ident = check_ident(ident)
    return f"table ip {ident} {{}}\ndelete table ip {ident}\n"


def _q(ifname: str) -> str:
    return f'"{ifname}"'


def _dnat(r: PortRule) -> str:
    match = f"ip daddr {r.host_ip} " if r.host_ip else ""
    return f"{match}{r.proto} dport {r.host_port} dnat to {r.container_ip}:{r.container_port}"


def _postrouting(p: Plan) -> list[str]:
    rules = [f"ip saddr {b.subnet} oifname != {_q(b.bridge)} masquerade" for b in p.external]
    rules += [f"ip saddr {LOOPBACK} oifname {_q(b.bridge)} masquerade" for b in p.bridges]
    # iifname is not known in postrouting: "from the bridge" is "from its subnet"
    rules += [f"ip saddr {b.subnet} oifname {_q(b.bridge)} ct status dnat masquerade" for b in p.bridges]
    return rules


def _forward(p: Plan) -> list[str]:
    # Order matters: internal cut-offs first (nothing may override them), then what may enter a
    # bridge (replies, published ports, also from another bridge's containers), then isolation,
    # then egress, then the drop of everything else entering a bridge.
    rules: list[str] = []
    for b in p.internal:
        rules += [f"iifname {_q(b.bridge)} oifname != {_q(b.bridge)} drop",
                  f"oifname {_q(b.bridge)} iifname != {_q(b.bridge)} drop"]
    for b in p.external:
        rules += [f"oifname {_q(b.bridge)} ct state established,related accept",
                  f"oifname {_q(b.bridge)} ct status dnat accept"]
    rules += [f"iifname {_q(b.bridge)} oifname != {_q(b.bridge)} jump isolate" for b in p.external]
    rules += [f"iifname {_q(b.bridge)} accept" for b in p.external]
    rules += [f"oifname {_q(b.bridge)} drop" for b in p.external]
    return rules


def _input(p: Plan) -> list[str]:
    # route_localnet=1 on a bridge (for DNAT from 127.0.0.1) would also let containers open
    # connections to the host's 127.0.0.1-only services (CVE-2020-8558): refuse new ones; replies
    # to the host's own connections are established and pass
    return [f"iifname {_q(b.bridge)} ip daddr {LOOPBACK} ct state new drop" for b in p.bridges]


# Older nft versions list base-chain priorities as numbers; 1.0 prints the names where it can.
_PRIORITIES = {"dstnat": "-100", "srcnat": "100", "filter": "0", "mangle": "-150", "raw": "-300", "security": "50"}


def normalise(listing: str) -> list[str]:
    """Lines of a table listing (or rendering) with layout, comments and handles dropped."""
    out = []
    for raw in listing.splitlines():
        line = re.sub(r"\s+#.*$|^#.*$", "", raw)  # comments and "# handle N" of nft -a
        line = " ".join(line.split())
        line = re.sub(r"priority ([a-z]+)\b", lambda m: f"priority {_PRIORITIES.get(m[1], m[1])}", line)
        if line:
            out.append(line)
    return out
