"""Typed errors of networking; messages follow Docker's where users grep for them."""

from __future__ import annotations

from berth.errors import BerthError, Conflict, InvalidArgument, NotFound


class NetworkNotFound(NotFound):
    pass


class NetworkExists(Conflict):
    pass


class NetworkInUse(Conflict):
    """``network rm`` of a network with containers attached."""


class AddressInUse(Conflict):
    """``--ip`` names an address another container holds."""


class SubnetExhausted(Conflict):
    pass


class PortAllocated(Conflict):
    """A published host port is taken by another container or process."""


class InvalidNetworkConfig(InvalidArgument):
    """Bad ``network create`` options: subnet, gateway, ip-range, overlaps, names."""


class NetworkSetupError(BerthError):
    """The kernel refused a link, address, route or namespace operation."""
