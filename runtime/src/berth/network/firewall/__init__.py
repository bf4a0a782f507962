"""NAT, forwarding and published-port rules, rendered from one ``FirewallState``.

The whole ruleset of an engine is a pure function of its state (the bridges in use and the
published ports of running containers): every change re-renders it and replaces the engine's
table (nftables) or chains (iptables) in one atomic transaction, so there are no rule handles
to track and ``system check --repair`` is "apply the state again".
"""

from berth.network.firewall.model import BridgeRule, FirewallState, PortRule

__all__ = ["BridgeRule", "FirewallState", "PortRule"]
