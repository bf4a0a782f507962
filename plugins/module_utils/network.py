# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Networks: the options of ``berth.core.network`` / ``network_info``, the plan, the engine calls.

Option names follow ``community.docker.docker_network``. What is compared: the options the
task gives; labels and driver options key by key (keys the network has and the task does not
name are left alone), ``ipam_config`` field by field (subnet, gateway, iprange).

A network's subnet, gateway, IP range, ``internal``, labels and driver options cannot change
in place (as in Docker): a difference means the network is removed and created again. With no
container connected that happens without asking. With containers connected it is refused
unless ``force: true``; then the containers are disconnected, the network recreated, and the
ones that stay (all of them, unless ``connected`` without ``appends`` drops some) reconnected
with their aliases, and their fixed address when it is still inside the subnet.
Options the task does not give are carried over to the new network (an IPAM config as a whole).

``connected`` (alias ``containers``): when given, the containers on the network are exactly
these (or at least these, with ``appends``); when omitted, connections are not managed. An
explicit empty list disconnects every container (community.docker treats ``[]`` as omitted).
"""

from __future__ import annotations

import ipaddress
import typing

from ansible_collections.berth.core.plugins.module_utils.compat import field_validator, model_validator
from ansible_collections.berth.core.plugins.module_utils.options import ModuleOptions, option
from ansible_collections.berth.core.plugins.module_utils.runner import (
    ABSENT,
    Action,
    Difference,
    Plan,
    Refused,
    Resource,
)

PREDEFINED = ("bridge", "host", "none")  # berth.network.model.PREDEFINED (unit tests check they agree)
MTU_OPT = "com.docker.network.driver.mtu"
DEFAULT_MTU = "1500"  # inspect shows the MTU option only when it differs from this


class IpamConfig(ModuleOptions):
    subnet: str
    gateway: str | None = None
    iprange: str | None = option(None, aliases=["ip_range"])

    @field_validator("subnet", "iprange")
    @classmethod
    def _ipv4_network(cls, value):
        return None if value is None else str(ipaddress.IPv4Network(value))

    @field_validator("gateway")
    @classmethod
    def _ipv4_address(cls, value):
        return None if value is None else str(ipaddress.IPv4Address(value))

    @model_validator(mode="after")
    def _inside_the_subnet(self):
        subnet = ipaddress.IPv4Network(self.subnet)
        if self.gateway is not None and ipaddress.IPv4Address(self.gateway) not in subnet:
            raise ValueError(f"gateway {self.gateway} is not inside subnet {subnet}")
        if self.iprange is not None and not ipaddress.IPv4Network(self.iprange).subnet_of(subnet):
            raise ValueError(f"iprange {self.iprange} is not inside subnet {subnet}")
        return self


class NetworkOptions(ModuleOptions):
    name: str = option(aliases=["network_name"])
    state: typing.Literal["present", "absent"] = "present"
    driver: typing.Literal["bridge"] = "bridge"
    driver_options: dict[str, str] | None = None
    ipam_config: list[IpamConfig] | None = option(None, max_length=1)
    internal: bool | None = None
    labels: dict[str, str] | None = None
    connected: list[str] | None = option(None, aliases=["containers"])
    appends: bool = option(False, aliases=["incremental"])
    force: bool = False


class NetworkInfoOptions(ModuleOptions):
    name: str = option(aliases=["network_name"])


# -- pure planning -----------------------------------------------------------------------------
def actual_config(net: dict) -> dict:
    """The compared fields of a network's ``inspect`` view, in the options' terms."""
    ipam = ((net.get("IPAM") or {}).get("Config") or [{}])[0]
    options = dict(net.get("Options") or {})
    options.setdefault(MTU_OPT, DEFAULT_MTU)
    return {"driver": net.get("Driver"), "subnet": ipam.get("Subnet"), "gateway": ipam.get("Gateway"),
            "iprange": ipam.get("IPRange"), "internal": bool(net.get("Internal")),
            "labels": dict(net.get("Labels") or {}), "driver_options": options}


def compare_network(want: NetworkOptions, net: dict) -> list[Difference]:
    """Options the task gives that the network does not match (all of them need a recreate)."""
    have = actual_config(net)
    out = []
    if want.driver != have["driver"]:
        out.append(Difference("driver", have["driver"], want.driver))
    if want.ipam_config:
        wanted = {k: v for k, v in want.ipam_config[0].model_dump().items() if v is not None}
        if any(have.get(k) != v for k, v in wanted.items()):
            out.append(Difference("ipam_config", [{k: have.get(k) for k in wanted}], [wanted]))
    if want.internal is not None and want.internal != have["internal"]:
        out.append(Difference("internal", have["internal"], want.internal))
    for field in ("labels", "driver_options"):
        wanted = getattr(want, field)
        if wanted and any(have[field].get(k) != v for k, v in wanted.items()):
            out.append(Difference(field, {k: have[field].get(k) for k in wanted}, dict(wanted)))
    return out


def create_spec(want: NetworkOptions, net: dict | None) -> dict:
    """Arguments of ``NetworkManager.create_network``: the task's options, and for a recreate
    the old network's for what the task does not say."""
    spec = {"subnet": None, "gateway": None, "ip_range": None, "internal": bool(want.internal),
            "labels": dict(want.labels or {}), "options": dict(want.driver_options or {})}
    if want.ipam_config:
        ipam = want.ipam_config[0]
        spec.update(subnet=ipam.subnet, gateway=ipam.gateway, ip_range=ipam.iprange)
    if net is not None:
        have = actual_config(net)
        if not want.ipam_config:
            spec.update(subnet=have["subnet"], gateway=have["gateway"], ip_range=have["iprange"])
        if want.internal is None:
            spec["internal"] = have["internal"]
        spec["labels"] = {**have["labels"], **spec["labels"]}
        options = {k: v for k, v in have["driver_options"].items() if not (k == MTU_OPT and v == DEFAULT_MTU)}
        spec["options"] = {**options, **spec["options"]}
    return spec


def plan_network(want: NetworkOptions, actual: dict) -> Plan:
    """``actual``: ``{"network": inspect view or None, "containers": {ref: {"Id", "Name"} or None},
    "subnets": {name: subnet}}`` (the containers the task's ``connected`` names, resolved; the
    subnets of the other networks)."""
    name = want.name
    net = actual.get("network")
    members = {cid: c.get("Name", "") for cid, c in ((net or {}).get("Containers") or {}).items()}

    if want.state == "absent":
        if net is None:
            return Plan()
        if name in PREDEFINED:
            raise Refused(f"network {name} is predefined and cannot be removed")
        if members and not want.force:
            raise Refused(f"network {name} has containers connected ({_names(members)}): set force: true to "
                          "disconnect them and remove the network")
        actions = [Action("disconnect", f"disconnect container {members[cid]} from network {name}",
                          container=cid, network=name) for cid in sorted(members, key=members.get)]
        actions.append(Action("remove", f"remove network {name}", name=name))
        return Plan(actions, [Difference("exists", True, False)])

    wanted = _wanted_containers(want, actual.get("containers") or {})
    _check_overlaps(want, actual.get("subnets") or {})
    if net is None:
        actions = [Action("create", f"create network {name} (driver {want.driver})", name=name,
                          spec=create_spec(want, None))]
        actions += [Action("connect", f"connect container {cname} to network {name}", container=cid, network=name)
                    for cid, cname in wanted.items()]
        differences = [Difference("exists", False, True), *_created(want)]
        if want.connected is not None:
            differences.append(Difference("connected", ABSENT, sorted(wanted.values())))
        return Plan(actions, differences)

    differences = compare_network(want, net)
    # the containers on the network afterwards
    keep = {**members, **wanted} if want.connected is None or want.appends else dict(wanted)
    actions = []
    if differences:
        if name in PREDEFINED:
            raise Refused(f"network {name} is predefined and cannot be changed "
                          f"({', '.join(d.field for d in differences)} differ)")
        if members and not want.force:
            raise Refused(
                f"network {name}: {', '.join(d.field for d in differences)} cannot change in place, the network "
                f"must be recreated, and containers are connected ({_names(members)}): set force: true to "
                "disconnect them, recreate the network and reconnect them")
        reconnect = sorted((cid for cid in members if cid in keep), key=members.get)
        summary = f"recreate network {name}"
        if members:
            back = _names({c: members[c] for c in reconnect}) or "none"
            summary += f" (disconnect {_names(members)}; reconnect {back})"
        actions.append(Action("recreate", summary, name=name, spec=create_spec(want, net), reconnect=reconnect))
    else:
        actions += [Action("disconnect", f"disconnect container {members[cid]} from network {name}",
                           container=cid, network=name)
                    for cid in sorted(members, key=members.get) if cid not in keep]
    actions += [Action("connect", f"connect container {cname} to network {name}", container=cid, network=name)
                for cid, cname in wanted.items() if cid not in members]
    if sorted(keep.values()) != sorted(members.values()):
        differences.append(Difference("connected", sorted(members.values()), sorted(keep.values())))
    return Plan(actions, differences)


def _check_overlaps(want: NetworkOptions, subnets: dict) -> None:
    """The engine refuses a subnet overlapping another network's; refused here too, so check mode
    says so and a recreate never removes a network it cannot create again."""
    if not want.ipam_config:
        return
    mine = ipaddress.IPv4Network(want.ipam_config[0].subnet)
    for name, subnet in sorted(subnets.items()):
        if name != want.name and subnet and mine.overlaps(ipaddress.IPv4Network(subnet)):
            raise Refused(f"ipam_config[0].subnet: {mine} overlaps {subnet} of network {name}")


def _wanted_containers(want: NetworkOptions, resolved: dict) -> dict:
    """``{id: name}`` of the containers ``connected`` names, in the task's order; a name that
    resolves to no container is refused (so check mode says so too)."""
    out = {}
    for ref in dict.fromkeys(want.connected or ()):
        found = resolved.get(ref)
        if found is None:
            raise Refused(f"connected: no such container: {ref}")
        out[found["Id"]] = found["Name"].lstrip("/")
    return out


def _created(want: NetworkOptions) -> list[Difference]:
    spec = create_spec(want, None)
    out = [Difference("driver", ABSENT, want.driver)]
    if want.ipam_config:
        out.append(Difference("ipam_config", ABSENT, [{k: v for k, v in want.ipam_config[0].model_dump().items()
                                                      if v is not None}]))
    if want.internal is not None:
        out.append(Difference("internal", ABSENT, spec["internal"]))
    for field, key in (("labels", "labels"), ("driver_options", "options")):
        if getattr(want, field) is not None:
            out.append(Difference(field, ABSENT, spec[key]))
    return out


def _names(members: dict) -> str:
    return ", ".join(sorted(members.values()))


# -- the engine ----------------------------------------------------------------------------------
class Network(Resource):
    options = NetworkOptions
    result_key = "network"
    # data keys of berth.network's errors (InvalidNetworkConfig and friends)
    error_fields: typing.ClassVar[dict] = {
        "subnet": "ipam_config[0].subnet", "gateway": "ipam_config[0].gateway", "ip_range": "ipam_config[0].iprange",
        "bridge": "driver_options.com.docker.network.bridge.name", "mtu": f"driver_options.{MTU_OPT}",
        "driver": "driver", "name": "name", "container": "connected"}

    def observe(self) -> dict:
        from berth.errors import NotFound

        try:
            net = self.engine.networks.inspect(self.opts.name)
        except NotFound:
            net = None
        subnets = {}
        if getattr(self.opts, "ipam_config", None):
            subnets = {n.Name: n.Subnet for n in self.engine.networks.store.list() if n.Subnet}
        containers = {}
        for ref in getattr(self.opts, "connected", None) or ():
            try:
                info = self.engine.inspect_container(ref)
            except NotFound:
                containers[ref] = None
            else:
                containers[ref] = {"Id": info["Id"], "Name": info.get("Name", "")}
        return {"network": net, "containers": containers, "subnets": subnets}

    plan = staticmethod(plan_network)

    def report(self, actual) -> dict:
        return {"network": actual["network"]} if actual["network"] is not None else {}

    # -- actions
    def apply_create(self, name: str, spec: dict) -> None:
        self.engine.networks.create_network(name, driver="bridge", **spec)

    def apply_remove(self, name: str) -> None:
        self.engine.networks.remove_network(name)

    def apply_connect(self, container: str, network: str, ip: str | None = None, aliases=()) -> None:
        self.engine.connect(container, network, ip=ip, aliases=tuple(aliases or ()))

    def apply_disconnect(self, container: str, network: str) -> None:
        self.engine.disconnect(container, network)

    def apply_recreate(self, name: str, spec: dict, reconnect: list) -> None:
        """Disconnect every container, remove, create, reconnect ``reconnect`` with the aliases
        (and fixed address, if still inside the new subnet) each had."""
        net = self.engine.networks.inspect(name)
        settings = {}
        for cid in net.get("Containers") or {}:
            networks = self.engine.inspect_container(cid)["NetworkSettings"]["Networks"]
            settings[cid] = networks.get(net["Name"]) or {}
            self.engine.disconnect(cid, name)
        self.engine.networks.remove_network(name)
        created = self.engine.networks.create_network(name, driver="bridge", **spec)
        for cid in reconnect:
            ip = ((settings.get(cid) or {}).get("IPAMConfig") or {}).get("IPv4Address")
            if ip and not _usable(ip, created.Subnet, created.Gateway):
                ip = None
            aliases = tuple((settings.get(cid) or {}).get("Aliases") or ())
            self.engine.connect(cid, name, ip=ip, aliases=aliases)


def _usable(ip: str, subnet: str, gateway: str) -> bool:
    net = ipaddress.IPv4Network(subnet)
    addr = ipaddress.IPv4Address(ip)
    return addr in net and addr not in (net.network_address, net.broadcast_address) and ip != gateway


class NetworkInfo(Resource):
    options = NetworkInfoOptions
    read_only = True
    result_key = "network"

    observe = Network.observe

    def report(self, actual) -> dict:
        return {"exists": actual["network"] is not None, "network": actual["network"]}
