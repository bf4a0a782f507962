"""The firewall backends against a real kernel, inside throwaway network namespaces only.

Topology (one per module, every namespace made by netkit; the runner's own is never touched)::

    CLIENT 192.168.77.2 ──veth── 192.168.77.1  HOST  brA 10.77.0.1 ── CTR  10.77.0.2 (tcp 80, udp 5353)
                                                     brI 10.78.0.1 ── CTR2 10.78.0.2 (internal)
                                                     brB 10.79.0.1 ── CTR3 10.79.0.2 (tcp 80)

CLIENT routes 10.64.0.0/10 via HOST, so without rules every container is reachable directly and
can reach CLIENT: each "blocked" assertion below is the firewall's doing (see
``test_topology_is_open_without_rules``). Backends run in HOST through ``Netns.call`` (a thread
that setns-ed into HOST, so ``nft`` / ``iptables-restore`` start there).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import netkit
import pytest

from berth.network.firewall import backend as fwbackend
from berth.network.firewall.backend import Firewall, IptablesFirewall, NftablesFirewall, detect, sysctls_for
from berth.network.firewall.errors import FirewallError
from berth.network.firewall.model import BridgeRule, FirewallState, PortRule

pytestmark = pytest.mark.skipif(netkit.available() is not None, reason=str(netkit.available()))

BRIDGES = (BridgeRule("brA", "10.77.0.0/24"), BridgeRule("brI", "10.78.0.0/24", internal=True),
           BridgeRule("brB", "10.79.0.0/24"))
PORTS = (PortRule("tcp", "", 8080, "10.77.0.2", 80, "brA"),
         PortRule("udp", "", 5353, "10.77.0.2", 5353, "brA"),
         PortRule("tcp", "127.0.0.1", 8081, "10.77.0.2", 80, "brA"),
         PortRule("tcp", "", 8083, "10.79.0.2", 80, "brB"))
STATE = FirewallState(BRIDGES, PORTS, "berth")
EMPTY = FirewallState((), (), "berth")
HOST_IP, CLIENT_IP = "192.168.77.1", "192.168.77.2"
BLOCKED = 0.3  # seconds to wait for an answer that must not come (namespaces answer in microseconds)


@dataclass
class Topo:
    host: netkit.Netns
    client: netkit.Netns
    ctr: netkit.Netns
    ctr2: netkit.Netns
    ctr3: netkit.Netns


@pytest.fixture(scope="module")
def topo() -> Iterator[Topo]:
    with (netkit.netns("fwhost") as host, netkit.netns("fwcli") as client, netkit.netns("fwctr") as ctr,
          netkit.netns("fwctr2") as ctr2, netkit.netns("fwctr3") as ctr3):
        netkit.veth(host, client, f"{HOST_IP}/24", f"{CLIENT_IP}/24")
        netkit.route(client, "10.64.0.0/10", HOST_IP)
        for br, gw, ns, addr in (("brA", "10.77.0.1", ctr, "10.77.0.2"), ("brI", "10.78.0.1", ctr2, "10.78.0.2"),
                                 ("brB", "10.79.0.1", ctr3, "10.79.0.2")):
            netkit.bridge(host, br, f"{gw}/24")
            # hairpin: what the engine sets on container ports (see test_hairpin...)
            netkit.veth(host, ns, None, f"{addr}/24", a_master=br, hairpin=True)
            netkit.route(ns, "default", gw)
        for path, value in sysctls_for(STATE).items():
            host.sysctl(path, value)
        with (netkit.echo_server(ctr, "tcp", 80), netkit.echo_server(ctr, "udp", 5353),
              netkit.echo_server(ctr3, "tcp", 80), netkit.echo_server(client, "tcp", 9000),
              netkit.echo_server(host, "tcp", 9100)):
            yield Topo(host, client, ctr, ctr2, ctr3)


def ruleset(topo: Topo) -> str:
    """Everything of every netfilter flavour in HOST (iptables-nft shows up in nft's listing)."""
    return topo.host.run("nft", "list", "ruleset").stdout + topo.host.run("iptables-save").stdout


@pytest.fixture(params=["nftables", "iptables"])
def fw(request: pytest.FixtureRequest, topo: Topo) -> Iterator[Firewall]:
    try:
        firewall = topo.host.call(detect, request.param)
    except FirewallError as exc:
        pytest.skip(f"{request.param} is not usable here: {exc}")
    yield firewall
    topo.host.call(firewall.remove, "berth")
    topo.host.call(firewall.remove, "berth_1a2b3c4d")
    assert "berth" not in ruleset(topo).lower()


def listing(topo: Topo, fw: Firewall, ident: str = "berth") -> object:
    return topo.host.call(fw.listing, ident)  # type: ignore[attr-defined]


def seen(ns: netkit.Netns, host: str, port: int, proto: str = "tcp", timeout: float = 2.0) -> str | None:
    return netkit.peer_seen(ns, host, port, proto, timeout=timeout)


# -- the topology itself ---------------------------------------------------------------------------
def test_topology_is_open_without_rules(topo: Topo) -> None:
    assert "berth" not in ruleset(topo).lower()
    assert seen(topo.client, "10.77.0.2", 80) == CLIENT_IP  # routed straight to the container
    assert seen(topo.ctr, CLIENT_IP, 9000) == "10.77.0.2"  # no NAT
    assert seen(topo.ctr2, CLIENT_IP, 9000) == "10.78.0.2"  # the "internal" one goes out
    assert seen(topo.ctr, "10.79.0.2", 80) == "10.77.0.2"  # bridges reach each other
    assert seen(topo.host, "127.0.0.1", 8080, timeout=BLOCKED) is None


# -- behaviour, both backends ----------------------------------------------------------------------
def test_published_ports(topo: Topo, fw: Firewall) -> None:
    topo.host.call(fw.apply, STATE)
    # from the host itself: loopback clients are masqueraded to the bridge's address
    assert seen(topo.host, "127.0.0.1", 8080) == "10.77.0.1"
    assert seen(topo.host, HOST_IP, 8080) == HOST_IP
    # from another machine: the client's own address arrives (no SNAT inbound)
    assert seen(topo.client, HOST_IP, 8080) == CLIENT_IP
    assert netkit.request(topo.client, HOST_IP, 8080, payload="GET /") == f"{CLIENT_IP} GET /"
    # udp
    assert seen(topo.client, HOST_IP, 5353, "udp") == CLIENT_IP
    assert seen(topo.host, "127.0.0.1", 5353, "udp") == "10.77.0.1"
    # host_ip 127.0.0.1: only that address, so only from the host itself
    assert seen(topo.host, "127.0.0.1", 8081) == "10.77.0.1"
    assert seen(topo.client, HOST_IP, 8081, timeout=BLOCKED) is None
    assert seen(topo.host, HOST_IP, 8081, timeout=BLOCKED) is None


def test_hairpin_and_cross_bridge_published_port(topo: Topo, fw: Firewall) -> None:
    topo.host.call(fw.apply, STATE)
    # a container reaching itself through a published port on a host address
    assert seen(topo.ctr, "10.77.0.1", 8080) == "10.77.0.1"
    assert seen(topo.ctr, HOST_IP, 8080) == "10.77.0.1"
    # a published port is published to everyone, containers of other bridges included (they
    # arrive masqueraded to the address of the bridge they leave by, as any egress does)
    assert seen(topo.ctr, HOST_IP, 8083) == "10.79.0.1"
    assert seen(topo.ctr3, HOST_IP, 8080) == "10.77.0.1"


def test_egress_internal_and_isolation(topo: Topo, fw: Firewall) -> None:
    topo.host.call(fw.apply, STATE)
    assert seen(topo.ctr, CLIENT_IP, 9000) == HOST_IP  # egress NAT
    assert seen(topo.ctr3, CLIENT_IP, 9000) == HOST_IP
    # internal: no way out, no way in, but the host itself is reachable
    assert seen(topo.ctr2, CLIENT_IP, 9000, timeout=BLOCKED) is None
    assert seen(topo.client, "10.78.0.2", 80, timeout=BLOCKED) is None
    assert seen(topo.ctr2, "10.78.0.1", 9100) == "10.78.0.2"
    # isolation between bridges, both ways
    assert seen(topo.ctr, "10.79.0.2", 80, timeout=BLOCKED) is None
    assert seen(topo.ctr3, "10.77.0.2", 80, timeout=BLOCKED) is None
    # no direct routing to container addresses from outside: only published ports get in
    assert seen(topo.client, "10.77.0.2", 80, timeout=BLOCKED) is None
    # the host reaches containers directly (output path, not forwarded)
    assert seen(topo.host, "10.77.0.2", 80) == "10.77.0.1"


# -- state management --------------------------------------------------------------------------------
def tamper(topo: Topo, fw: Firewall) -> None:
    """Delete one of our rules by hand, as an admin might."""
    if fw.name == "nftables":
        out = topo.host.run("nft", "-a", "list", "chain", "ip", "berth", "postrouting").stdout
        handle = next(line.rsplit(" ", 1)[1] for line in out.splitlines() if "masquerade" in line)
        topo.host.run("nft", "delete", "rule", "ip", "berth", "postrouting", "handle", handle)
    else:
        topo.host.run("iptables", "-t", "nat", "-D", "BERTH-POSTROUTING", "1")


def test_in_sync_idempotent_and_drift(topo: Topo, fw: Firewall) -> None:
    h = topo.host
    assert h.call(fw.in_sync, EMPTY)
    assert not h.call(fw.in_sync, STATE)
    h.call(fw.apply, STATE)
    assert h.call(fw.in_sync, STATE)
    first = listing(topo, fw)
    h.call(fw.apply, STATE)
    assert h.call(fw.in_sync, STATE)
    assert listing(topo, fw) == first
    assert not h.call(fw.in_sync, FirewallState(BRIDGES, PORTS[:2], "berth"))
    assert not h.call(fw.in_sync, EMPTY)
    tamper(topo, fw)
    assert not h.call(fw.in_sync, STATE)
    h.call(fw.apply, STATE)  # the repair
    assert h.call(fw.in_sync, STATE)
    assert listing(topo, fw) == first


def test_iptables_jumps_exactly_once(topo: Topo, fw: Firewall) -> None:
    if fw.name != "iptables":
        pytest.skip("iptables only")
    h = topo.host
    h.call(fw.apply, STATE)
    h.run("iptables", "-D", "FORWARD", "-j", "BERTH-FORWARD")
    assert not h.call(fw.in_sync, STATE)
    h.run("iptables", "-t", "nat", "-I", "PREROUTING", "-j", "BERTH-PREROUTING")  # now twice
    h.call(fw.apply, STATE)
    assert h.call(fw.in_sync, STATE)
    save = h.run("iptables-save").stdout.splitlines()
    for table_jump in ("-A PREROUTING -j BERTH-PREROUTING", "-A OUTPUT -j BERTH-OUTPUT",
                       "-A POSTROUTING -j BERTH-POSTROUTING", "-A FORWARD -j BERTH-FORWARD"):
        assert save.count(table_jump) == 1


def test_remove_and_coexistence(topo: Topo, fw: Firewall) -> None:
    h = topo.host
    # somebody else's rules, in both flavours, must survive everything we do
    h.run("nft", "-f", "-", input="table ip other {\n chain c {\n type filter hook forward priority 10; "
                                  "policy accept;\n counter\n }\n}\n")
    h.run("iptables", "-N", "OTHER")
    h.run("iptables", "-A", "OTHER", "-s", "10.99.0.0/24", "-j", "RETURN")
    h.run("iptables", "-A", "FORWARD", "-j", "OTHER")
    try:
        h.call(fw.apply, STATE)
        assert "berth" in ruleset(topo).lower()
        h.call(fw.remove, "berth")
        assert "berth" not in ruleset(topo).lower()
        h.call(fw.remove, "berth")  # idempotent
        h.call(fw.apply, STATE)
        h.call(fw.apply, EMPTY)  # the empty state removes, too
        assert "berth" not in ruleset(topo).lower()
        assert h.call(fw.in_sync, EMPTY)
        assert "table ip other" in ruleset(topo)
        assert "-A FORWARD -j OTHER" in h.run("iptables-save").stdout
        assert "-A OTHER -s 10.99.0.0/24 -j RETURN" in h.run("iptables-save").stdout
    finally:
        h.run("nft", "delete", "table", "ip", "other", check=False)
        h.run("iptables", "-D", "FORWARD", "-j", "OTHER", check=False)
        h.run("iptables", "-F", "OTHER", check=False)
        h.run("iptables", "-X", "OTHER", check=False)


def test_two_idents_apart(topo: Topo, fw: Firewall) -> None:
    h = topo.host
    other = FirewallState((BridgeRule("brB", "10.79.0.0/24"),), (PortRule("tcp", "", 9083, "10.79.0.2", 80, "brB"),),
                          "berth_1a2b3c4d")
    mine = FirewallState(BRIDGES[:1], PORTS[:1], "berth")
    h.call(fw.apply, mine)
    h.call(fw.apply, other)
    assert h.call(fw.in_sync, mine) and h.call(fw.in_sync, other)
    assert seen(topo.client, HOST_IP, 8080) == CLIENT_IP
    assert seen(topo.client, HOST_IP, 9083) == CLIENT_IP
    h.call(fw.remove, "berth")
    assert h.call(fw.in_sync, other)
    assert h.call(fw.in_sync, FirewallState((), (), "berth"))
    assert seen(topo.client, HOST_IP, 9083) == CLIENT_IP
    assert seen(topo.client, HOST_IP, 8080, timeout=BLOCKED) is None


def test_apply_timing(topo: Topo, fw: Firewall, record_property) -> None:
    bridges = (BridgeRule("brA", "10.77.0.0/24"), BridgeRule("brB", "10.79.0.0/24"))
    ports = tuple(PortRule("tcp" if i % 2 else "udp", "", 20000 + i, "10.77.0.2" if i < 10 else "10.79.0.2",
                           80, "brA" if i < 10 else "brB") for i in range(20))
    state = FirewallState(bridges, ports, "berth")
    topo.host.call(fw.apply, state)  # the first one creates; the ones measured replace

    def timed() -> float:
        start = time.perf_counter()
        fw.apply(state)
        return time.perf_counter() - start

    runs = sorted(topo.host.call(timed) for _ in range(5))
    record_property(f"apply_seconds_{fw.name}", runs)
    print(f"\n{fw.name}: apply 2 bridges + 20 ports: median {runs[2] * 1000:.1f} ms, max {runs[-1] * 1000:.1f} ms")
    assert topo.host.call(fw.in_sync, state)
    assert runs[2] < 1.0


# -- errors and detection (no kernel needed) ----------------------------------------------------------
@pytest.fixture
def failing_tool(tmp_path: Path) -> str:
    tool = tmp_path / "failing-tool"
    tool.write_text("#!/bin/sh\ncat >/dev/null\necho 'Error: syntax error, unexpected junk' >&2\nexit 1\n")
    tool.chmod(0o755)
    return str(tool)


def test_tool_failure_carries_stderr(failing_tool: str) -> None:
    for fw in (NftablesFirewall(failing_tool), IptablesFirewall(failing_tool, failing_tool)):
        with pytest.raises(FirewallError) as err:
            fw.apply(STATE)
        assert "syntax error, unexpected junk" in err.value.stderr
        assert "syntax error" in str(err.value)
        assert err.value.returncode == 1


def test_detect(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FirewallError, match="unknown firewall backend"):
        detect("pf")
    monkeypatch.setattr(fwbackend, "which", lambda tool: None if tool == "nft" else f"/usr/sbin/{tool}")
    with pytest.raises(FirewallError, match="nftables is unavailable"):
        detect("nftables")
    assert detect("auto").name == "iptables"
    monkeypatch.setattr(fwbackend, "which", lambda tool: None)
    with pytest.raises(FirewallError, match="iptables is unavailable"):
        detect("auto")


def test_sysctls_for() -> None:
    assert sysctls_for(STATE) == {"/proc/sys/net/ipv4/ip_forward": "1",
                                  "/proc/sys/net/ipv4/conf/brA/route_localnet": "1",
                                  "/proc/sys/net/ipv4/conf/brB/route_localnet": "1",
                                  "/proc/sys/net/ipv4/conf/brI/route_localnet": "1"}


def test_nft_missing_table_is_empty_listing(topo: Topo) -> None:
    if fwbackend.which("nft") is None:
        pytest.skip("nft is not installed")
    fw = NftablesFirewall()
    assert topo.host.call(fw.listing, "nosuchtable") == ""
