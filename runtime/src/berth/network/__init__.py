"""Container networking: bridge networks, IPAM, network namespaces, published ports, name resolution.

- ``store`` / ``model``: network records (the predefined ``bridge``, ``host``, ``none`` and user networks)
- ``ipam``: persistent per-network address leases
- ``netns`` / ``links``: namespaces, bridges and veth pairs through ``rtnl``, a
  minimal rtnetlink client (no pyroute2: its import alone cost ~0.1 s per ``run``)
- ``ports``: host port allocation and conflict checks for ``-p``
- ``firewall``: NAT, forwarding and DNAT rules rendered from one state (nftables or iptables)
- ``dns``: the resolver that answers container names on user networks
- ``manager``: the operations the engine and the runtime call

Netlink and the firewall tools are loaded lazily: a container with ``--network none``
or ``host`` never pays for them.
"""
