"""``NetworkManager``: what the engine (create, connect, network CLI) and the runtime (start,
exit, remove) call. Observe the records, plan, then touch the kernel.

Three kinds of state, three lifetimes:
- records (``networks/``, IPAM leases, the container record's ``NetworkSettings``): persistent;
  a container holds its addresses from create to rm;
- run state (``run/network/endpoints/``, ``run/netns/``): one file and one namespace per running
  container, gone after a reboot;
- kernel state (bridges, veths, the firewall table, the DNS table): derived from the above and
  re-made on every change under ``locks/network-run.lock``, so a repair is "derive again".
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from berth.config.network_config import NetworkConfig
from berth.errors import BerthError
from berth.fsutil import atomic_write_json, read_json
from berth.locks import file_lock
from berth.network import netns
from berth.network.endpoints import Attached, Endpoint, EndpointFiles
from berth.network.errors import InvalidNetworkConfig, NetworkExists, NetworkInUse, NetworkNotFound
from berth.network.firewall.model import BridgeRule, FirewallState, PortRule
from berth.network.ipam import Ipam
from berth.network.model import Interface, NetworkRecord, mac_for
from berth.network.store import NetworkStore
from berth.paths import DEFAULT_ROOT, Paths
from berth.state import ContainerStore
from berth.structs import asdict

NO_NETNS_MODES = ("host", "none")


def _sha256_hex(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


class NetworkManager:
    def __init__(self, paths: Paths, config: NetworkConfig, containers: ContainerStore | None = None) -> None:
        self.paths = paths
        self.config = config
        self.containers = containers or ContainerStore(paths)
        self.store = NetworkStore(paths, config, users=self.users_of)
        self.ipam = Ipam(self.store)
        self.endpoints = EndpointFiles(paths.run_dir)

    # -- names -----------------------------------------------------------------
    # several engines on one host (tests, simulated fleets) must not share rules or veth names;
    # computed on first use: hashlib's OpenSSL set-up (~2 ms) is not needed by a --network none start
    @cached_property
    def ident(self) -> str:
        return "berth" if self.paths.root == DEFAULT_ROOT else f"berth_{_sha256_hex(str(self.paths.root))[:8]}"

    @cached_property
    def veth_prefix(self) -> str:
        return f"bv{_sha256_hex(str(self.paths.root))[:4]}"

    def netns_path(self, cid: str) -> Path:
        return self.paths.run_dir / "netns" / cid

    def host_ifname(self, cid: str, nid: str) -> str:
        return self.veth_prefix + _sha256_hex(f"{cid}/{nid}")[:9]

    @contextlib.contextmanager
    def run_lock(self) -> Iterator[None]:
        with file_lock(self.paths.locks / "network-run.lock"):
            yield

    @cached_property
    def firewall(self):
        from berth.network.firewall.backend import detect

        return detect(self.config.firewall_backend)

    # -- who uses what ---------------------------------------------------------
    def users_of(self, nid: str) -> list[str]:
        """Containers whose record names the network (running or not)."""
        out = []
        for cid in self.containers.ids():
            with contextlib.suppress(Exception):
                nets = (self.containers.config(cid).get("NetworkSettings") or {}).get("Networks") or {}
                if any(e.get("NetworkID") == nid for e in nets.values()):
                    out.append(cid)
        return out

    # -- create time: addresses ---------------------------------------------
    def reserve(self, cid: str, mode: str, *, ip: str | None = None, aliases: tuple[str, ...] = ()) -> dict[str, Any]:
        """The record's ``NetworkSettings`` for a new container, its address leased (``--ip`` or the next free)."""
        if mode in NO_NETNS_MODES:
            return {"Networks": {mode: {"NetworkID": self.store.get(mode).Id, "IPAddress": "", "Aliases": None}}}
        net = self.store.get(mode)
        if not net.is_bridge:
            raise InvalidNetworkConfig(f"network {mode} cannot be used here", network=mode)
        if (ip or aliases) and not net.is_user_defined:
            raise InvalidNetworkConfig("user specified IP address and aliases are supported only for user defined "
                                       "networks", network=mode)
        return {"Networks": {net.Name: self._endpoint_settings(net, cid, ip, aliases)}}

    def _endpoint_settings(self, net: NetworkRecord, cid: str, ip: str | None, aliases: tuple[str, ...]) -> dict:
        addr = self.ipam.allocate(net, cid, ip)
        return {"NetworkID": net.Id, "IPAddress": str(addr), "IPPrefixLen": net.subnet.prefixlen,
                "Gateway": "" if net.Internal else net.Gateway, "MacAddress": mac_for(addr),
                "Aliases": list(aliases) or None, "IPAMConfig": {"IPv4Address": ip} if ip else None}

    def etc_files_inputs(self, record: dict[str, Any]) -> dict[str, Any]:
        """Arguments of ``berth.runtime.etcfiles.write_etc_files`` for a new record."""
        out = self._resolv_inputs(record)
        hc = record.get("HostConfig") or {}
        # --add-host NAME:host-gateway: the host as the default bridge's containers reach it (Docker)
        gateway = self.store.get("bridge").Gateway
        out["extra_hosts"] = [h.replace(":host-gateway", f":{gateway}") if h.endswith(":host-gateway") else h
                              for h in hc.get("ExtraHosts") or []]
        mode = hc.get("NetworkMode") or "bridge"
        settings = ((record.get("NetworkSettings") or {}).get("Networks") or {}).get(mode) or {}
        if settings.get("IPAddress"):
            out["address"] = settings["IPAddress"]
        return out

    def _resolv_inputs(self, record: dict[str, Any]) -> dict[str, Any]:
        """resolv.conf's inputs: the resolver of the first user network (NetworkMode's first), if any."""
        hc = record.get("HostConfig") or {}
        mode = hc.get("NetworkMode") or "bridge"
        nets = (record.get("NetworkSettings") or {}).get("Networks") or {}
        resolver = None
        for _, settings in self._primary_first(mode, nets):
            with contextlib.suppress(NetworkNotFound):
                net = self.store.by_id(settings.get("NetworkID", ""))
                if net.is_bridge and net.is_user_defined:
                    resolver = net.Gateway
                    break
        return {"dns": list(hc.get("Dns") or []), "resolver": resolver, "host_network": mode == "host"}

    def _refresh_resolv_conf(self, cid: str) -> None:
        from berth.runtime.etcfiles import update_resolv_conf

        update_resolv_conf(self.containers.dir(cid), **self._resolv_inputs(self.containers.config(cid)))

    def release(self, cid: str, record: dict[str, Any] | None = None) -> None:
        """Give back the addresses of a removed container (rm, or a create that failed)."""
        nids = set()
        if record is not None:
            nets = (record.get("NetworkSettings") or {}).get("Networks") or {}
            nids = {e.get("NetworkID") for e in nets.values()}
        for net in self.store.list():
            if net.is_bridge and (record is None or net.Id in nids):
                self.ipam.release(net, cid)

    # -- start / exit ------------------------------------------------------------
    def attach(self, cid: str, record: dict[str, Any]) -> Endpoint | None:
        """Wire a container about to start: ``begin_attach`` then ``finish_attach``."""
        ep = self.begin_attach(cid, record)
        if ep is not None:
            self.finish_attach(ep, record)
        return ep

    def begin_attach(self, cid: str, record: dict[str, Any]) -> Endpoint | None:
        """The first half of wiring a container about to start: its namespace, pinned and recorded.

        Returns the endpoint (``.netns`` is the path for the OCI spec), or None (host / none: the
        runtime does it). The second half, ``finish_attach``, may run while the runtime creates the
        container, as Docker's libnetwork wires it in a prestart hook, and must end before the
        container starts. Either half undoes everything if it fails (``detach``)."""
        mode = (record.get("HostConfig") or {}).get("NetworkMode") or "bridge"
        nets = (record.get("NetworkSettings") or {}).get("Networks") or {}
        if mode in NO_NETNS_MODES or not nets:
            return None
        self.detach(cid)  # leftovers of a crash or a reboot
        ep = Endpoint(cid, str(self.netns_path(cid)), self._plan_interfaces(cid, mode, nets))
        try:
            with self.run_lock():
                self.endpoints.write(ep)  # first: a crash from here on leaves a trail to clean up
            netns.create(Path(ep.netns))
        except BaseException:
            self.detach(cid)
            raise
        return ep

    def finish_attach(self, ep: Endpoint, record: dict[str, Any]) -> None:
        """The second half: veths, addresses, routes, published ports, DNS (see ``begin_attach``)."""
        try:
            self._wire(ep)
            primary = ep.attached[0]
            with self.run_lock():
                all_eps = self.endpoints.all()
                taken = [r for other in all_eps.values() if other.cid != ep.cid for r in other.ports]
                ep.ports = self._plan_ports(record, primary, taken)
                self.endpoints.write(ep)
                all_eps[ep.cid] = ep
                self._sync(all_eps)
            self._refresh_resolv_conf(ep.cid)  # networks may have been connected or removed while stopped
        except BaseException:
            self.detach(ep.cid)
            raise

    def _primary_first(self, mode: str, nets: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        """The record's networks, the NetworkMode one first (``--network`` may name it by ID)."""
        try:
            primary = self.store.get(mode).Id
        except NetworkNotFound:
            primary = ""
        return sorted(nets.items(), key=lambda kv: kv[1].get("NetworkID") != primary)

    def _plan_interfaces(self, cid: str, mode: str, nets: dict[str, dict[str, Any]]) -> list[Attached]:
        # the NetworkMode network first: it carries the default route and the published ports
        ordered = self._primary_first(mode, nets)
        out = []
        for n, (name, settings) in enumerate(ordered):
            try:
                net = self.store.by_id(settings["NetworkID"])
            except NetworkNotFound:
                raise NetworkNotFound(f"network {name} not found (removed while the container was stopped?)",
                                      network=name) from None
            addr = ipaddress.IPv4Interface(f"{settings['IPAddress']}/{net.subnet.prefixlen}")
            gateway = None if net.Internal or n > 0 else net.gateway
            iface = Interface(net.Bridge, self.host_ifname(cid, net.Id), f"eth{n}", addr,
                              settings.get("MacAddress") or mac_for(addr.ip), net.MTU, gateway)
            out.append(Attached(net.Id, net.Name, iface, net.Internal, net.is_user_defined))
        return out

    def _wire(self, ep: Endpoint) -> None:
        """Bridges (made if missing), the veth pairs into the pinned namespace, addresses and routes."""
        from berth.network.links import HostLinks, configure_inside, enable_forwarding

        path = Path(ep.netns)
        with HostLinks() as links:
            if self.config.ip_forward:
                enable_forwarding()
            for a in ep.attached:
                net = self.store.by_id(a.network_id)
                links.ensure_bridge(net.Bridge, ipaddress.IPv4Interface(f"{net.Gateway}/{net.subnet.prefixlen}"),
                                    net.MTU)
            for a in ep.attached:
                links.add_veth(a.interface, path)
        configure_inside(path, [a.interface for a in ep.attached])

    def _plan_ports(self, record: dict[str, Any], primary: Attached, taken: list[PortRule]) -> list[PortRule]:
        from berth.network import ports

        hc = record.get("HostConfig") or {}
        exposed = ((record.get("Config") or {}).get("ExposedPorts") or {}).keys()
        want = ports.wanted(hc, exposed)
        if not want or primary.internal:  # an internal network is not reachable from outside (Docker)
            return []
        return ports.plan(want, str(primary.interface.address.ip), primary.interface.bridge, taken, ports.probe)

    def detach(self, cid: str) -> None:
        """Undo ``attach``: firewall and DNS first (no traffic to a dying address), then the
        namespace. Idempotent and cheap when there is nothing to undo.

        The veths go with the namespace (the kernel deletes a pair whose end is in a dying
        namespace), so the exit hook needs no netlink socket; only a
        veth still there (the namespace held by something else) is deleted explicitly."""
        path = self.netns_path(cid)
        ep = self.endpoints.read(cid)
        if ep is None and not path.exists():
            return
        import socket
        if ep is not None:
            with self.run_lock():
                all_eps = self.endpoints.all()
                all_eps.pop(cid, None)
                try:
                    self._sync(all_eps)
                except (BerthError, OSError):
                    # teardown goes on (a dead container must not stay half-wired because the
                    # firewall tool or the resolver failed); the next apply is forced and
                    # `system check` reports the drift meanwhile
                    self.applied_file().unlink(missing_ok=True)
                self.endpoints.delete(cid)
        netns.remove(path)
        left = []
        for a in ep.attached if ep else ():
            with contextlib.suppress(OSError):  # OSError: no such device, the usual case
                socket.if_nametoindex(a.interface.host_if)
                left.append(a.interface.host_if)
        if left:
            from berth.network.links import HostLinks

            with HostLinks() as links:
                for name in left:
                    links.delete(name)

    # -- derived kernel state ------------------------------------------------------
    def _sync(self, eps: dict[str, Endpoint]) -> None:
        """Firewall and DNS table from the endpoint files (caller holds the run lock)."""
        self.apply_firewall(self.firewall_state(eps))
        self._apply_dns(eps)

    def firewall_state(self, eps: dict[str, Endpoint]) -> FirewallState:
        """Every bridge network's rules (kept while no container runs, as Docker keeps docker0's:
        a start or an exit then changes nothing unless it publishes ports), and the ports of the
        running containers."""
        bridges: dict[str, BridgeRule] = {
            n.Bridge: BridgeRule(n.Bridge, n.Subnet, n.Internal) for n in self.store.list() if n.is_bridge and n.Bridge}
        for ep in eps.values():
            for a in ep.attached:
                net = a.interface.address.network
                bridges[a.interface.bridge] = BridgeRule(a.interface.bridge, str(net), a.internal)
        rules = sorted(r for ep in eps.values() for r in ep.ports)
        return FirewallState(tuple(sorted(bridges.values())), tuple(rules), self.ident)

    def applied_file(self) -> Path:
        return self.paths.run_dir / "network" / "firewall.json"

    def apply_firewall(self, state: FirewallState, *, force: bool = False) -> None:
        # skip the exec when nothing changed (most starts: no ports, bridge already in the set)
        wanted = {"bridges": [asdict(b) for b in state.bridges], "ports": [asdict(p) for p in state.ports]}
        if not force and read_json(self.applied_file()) == wanted:
            return
        if not state.bridges and not state.ports and not self.applied_file().exists():
            return  # never applied anything: nothing to remove
        self.applied_file().unlink(missing_ok=True)  # a failure below must not look applied
        self.firewall.apply(state)
        atomic_write_json(self.applied_file(), wanted, durable=False)  # the run dir: gone at a reboot

    def dns_table(self, eps: dict[str, Endpoint]) -> dict[str, Any]:
        """The resolver's table (format: ``berth.network.dns``): names on user networks only."""
        gateways = {n.Id: n.Gateway for n in self.store.list() if n.Gateway}
        names: dict[str, dict[str, list[str]]] = {}
        ptr: dict[str, dict[str, str]] = {}  # reverse lookups answer the container's name (Docker's)
        clients: dict[str, dict[str, Any]] = {}
        listen: set[str] = set()
        for cid, ep in eps.items():
            try:
                record = self.containers.config(cid)
            except Exception:  # removed meanwhile: its names go
                continue
            settings = (record.get("NetworkSettings") or {}).get("Networks") or {}
            cname = str(record.get("Name", "")).lstrip("/")
            user_nets = [a for a in ep.attached if a.user_defined]
            for a in user_nets:
                ip = str(a.interface.address.ip)
                aliases = (settings.get(a.network) or {}).get("Aliases") or []
                table = names.setdefault(a.network_id, {})
                for n in dict.fromkeys(x.lower() for x in (cname, *aliases, cid[:12]) if x):
                    table.setdefault(n, []).append(ip)
                ptr.setdefault(a.network_id, {})[ip] = cname or cid[:12]
                if a.network_id in gateways:
                    listen.add(gateways[a.network_id])
                clients[ip] = {"networks": [x.network_id for x in user_nets],
                               "upstream": list((record.get("HostConfig") or {}).get("Dns") or []),
                               # internal networks only: no way out, so no forwarded names either (Docker)
                               "forward": any(not x.internal for x in ep.attached)}
        return {"listen": [{"address": a, "port": 53} for a in sorted(listen)], "upstream": [],
                "clients": clients, "names": names, "ptr": ptr}

    def _apply_dns(self, eps: dict[str, Endpoint]) -> None:
        table = self.dns_table(eps)
        current = read_json(self.paths.run_dir / "network" / "dns.json")
        if not (table["listen"] or (current or {}).get("listen")):
            return  # no user network in use now or before: no resolver to tell
        from berth.network.dns import control

        if current == table:
            control.ensure_running(self.paths)  # a killed resolver comes back (a flock probe when alive)
            return

        control.write_table(self.paths, table)
        control.reload(self.paths)  # starts it if needed; it exits by itself on an empty table

    def refresh(self) -> None:
        """Re-derive the DNS table (a rename changes names) and the firewall."""
        with self.run_lock():
            self._sync(self.endpoints.all())

    # -- networks: create / rm / prune ----------------------------------------------
    def create_network(self, name: str, **options: Any) -> NetworkRecord:
        """``network create``. The bridge device is made when the first container starts on it."""
        return self.store.create(name, host_routes=self._host_routes, **options)

    def _host_routes(self) -> list[ipaddress.IPv4Network]:
        from berth.network.links import HostLinks

        with HostLinks() as links:
            return links.routes_v4()

    def remove_network(self, ref: str) -> NetworkRecord:
        """``network rm``: refused while any container is connected; the bridge goes with it."""
        record = self.store.remove(ref)
        with self.run_lock():
            from berth.network.links import HostLinks

            with HostLinks() as links:
                links.delete(record.Bridge)
            if self.applied_file().exists():
                self.apply_firewall(self.firewall_state(self.endpoints.all()))  # its bridge's rules go
        return record

    def prune(self) -> list[str]:
        """``network prune``: user networks no container is connected to."""
        removed = []
        for net in self.store.list():
            if net.is_user_defined and not self.users_of(net.Id):
                with contextlib.suppress(NetworkNotFound, NetworkInUse):
                    removed.append(self.remove_network(net.Id).Name)
        return removed

    def inspect(self, ref: str) -> dict[str, Any]:
        net = self.store.get(ref)
        containers = {}
        for cid in self.users_of(net.Id):
            with contextlib.suppress(Exception):
                record = self.containers.config(cid)
                settings = next(e for e in record["NetworkSettings"]["Networks"].values() if e["NetworkID"] == net.Id)
                containers[cid] = {
                    "Name": str(record.get("Name", "")).lstrip("/"), "EndpointID": "",
                    "MacAddress": settings.get("MacAddress", ""),
                    "IPv4Address": f"{settings['IPAddress']}/{settings['IPPrefixLen']}" if settings.get("IPAddress")
                    else "", "IPv6Address": ""}
        return net.inspect(containers)

    # -- connect / disconnect -----------------------------------------------------------
    def connect(self, cid: str, ref: str, *, ip: str | None = None, aliases: tuple[str, ...] = (),
                live: bool = False) -> None:
        """``network connect``: lease an address, record it; ``live`` (the container runs: the caller
        holds its op lock) wires it into the running namespace now."""
        net = self.store.get(ref)
        record = self.containers.config(cid)
        mode = record["HostConfig"].get("NetworkMode") or "bridge"
        if mode in NO_NETNS_MODES:
            raise InvalidNetworkConfig(f"container cannot be disconnected from host network or connected to "
                                       f"another network while in network mode {mode}", network=net.Name)
        if not net.is_bridge:
            raise InvalidNetworkConfig(f"container cannot be connected to network {net.Name} (mode {net.Driver})",
                                       network=net.Name)
        if (ip or aliases) and not net.is_user_defined:
            raise InvalidNetworkConfig("user specified IP address and aliases are supported only for user defined "
                                       "networks", network=net.Name)
        nets = record.get("NetworkSettings", {}).get("Networks") or {}
        if net.Name in nets:
            raise NetworkExists(f"endpoint with name {record['Name'].lstrip('/')} already exists in network "
                                f"{net.Name}", network=net.Name)
        settings = self._endpoint_settings(net, cid, ip, aliases)
        try:
            with self.containers.editing_config(cid) as cfg:
                cfg.setdefault("NetworkSettings", {}).setdefault("Networks", {})[net.Name] = settings
            if live:
                self._wire_extra(cid, net, settings)
                self._refresh_resolv_conf(cid)
        except BaseException:
            self.ipam.release(net, cid)
            with contextlib.suppress(Exception), self.containers.editing_config(cid) as cfg:
                cfg.get("NetworkSettings", {}).get("Networks", {}).pop(net.Name, None)
            raise

    def _wire_extra(self, cid: str, net: NetworkRecord, settings: dict[str, Any]) -> None:
        from berth.network.links import HostLinks, configure_inside

        with self.run_lock():
            ep = self.endpoints.read(cid)
            if ep is None:  # running without a namespace of ours (it was started with no network)
                raise InvalidNetworkConfig("cannot connect a running container that was started without a "
                                           "network; stop it first", network=net.Name)
            used = {a.interface.ifname for a in ep.attached}
            ifname = next(f"eth{n}" for n in range(len(used) + 1) if f"eth{n}" not in used)
            addr = ipaddress.IPv4Interface(f"{settings['IPAddress']}/{net.subnet.prefixlen}")
            iface = Interface(net.Bridge, self.host_ifname(cid, net.Id), ifname, addr, settings["MacAddress"],
                              net.MTU, None)
            before = list(ep.attached)
            ep.attached.append(Attached(net.Id, net.Name, iface, net.Internal, net.is_user_defined))
            self.endpoints.write(ep)  # first, as in attach: a crash leaves a trail
            try:
                with HostLinks() as links:
                    links.ensure_bridge(net.Bridge,
                                        ipaddress.IPv4Interface(f"{net.Gateway}/{net.subnet.prefixlen}"), net.MTU)
                    links.add_veth(iface, Path(ep.netns))
                configure_inside(Path(ep.netns), [iface], loopback=False)
                self._sync(self.endpoints.all())
            except BaseException:
                ep.attached = before  # no address advertised that is about to be released
                self.endpoints.write(ep)
                with contextlib.suppress(Exception), HostLinks() as links:
                    links.delete(iface.host_if)
                with contextlib.suppress(Exception):
                    self._sync(self.endpoints.all())
                raise

    def _move_default_route(self, ep: Endpoint) -> None:
        """The network with the default route was disconnected: route through the next one that
        has a way out (Docker's updateGateway)."""
        from berth.network.links import set_default_route
        from berth.structs import replace

        for n, a in enumerate(ep.attached):
            if not a.internal:
                gateway = self.store.by_id(a.network_id).gateway
                set_default_route(Path(ep.netns), gateway)
                ep.attached[n] = replace(a, interface=replace(a.interface, gateway=gateway))
                self.endpoints.write(ep)
                return

    def disconnect(self, cid: str, ref: str, *, force: bool = False) -> None:
        """``network disconnect``: unwire (if running), forget the endpoint, release the address."""
        net = self.store.get(ref)
        record = self.containers.config(cid)
        nets = record.get("NetworkSettings", {}).get("Networks") or {}
        name = next((n for n, e in nets.items() if e.get("NetworkID") == net.Id), None)
        if name is None:
            if force:
                return
            raise NetworkNotFound(f"container {cid[:12]} is not connected to network {net.Name}", network=net.Name)
        if net.Name in NO_NETNS_MODES:
            raise InvalidNetworkConfig(f"container cannot be disconnected from network {net.Name}",
                                       network=net.Name)
        with self.run_lock():
            ep = self.endpoints.read(cid)
            if ep is not None:
                gone = [a for a in ep.attached if a.network_id == net.Id]
                ep.attached = [a for a in ep.attached if a.network_id != net.Id]
                if ep.ports and gone and ep.ports[0].bridge == gone[0].interface.bridge:
                    ep.ports = []  # its published ports were on this network's address
                self.endpoints.write(ep)
                from berth.network.links import HostLinks

                with HostLinks() as links:
                    for a in gone:
                        links.delete(a.interface.host_if)
                if any(a.interface.gateway for a in gone):
                    self._move_default_route(ep)
                self._sync(self.endpoints.all())
        with self.containers.editing_config(cid) as cfg:
            cfg.get("NetworkSettings", {}).get("Networks", {}).pop(name, None)
        self.ipam.release(net, cid)
        self._refresh_resolv_conf(cid)

    # -- teardown ------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Remove this engine's host-side networking: bridges, firewall table, resolver.

        No container may be wired (stop them first). For uninstalling and for tests; a
        start makes everything again."""
        from berth.network.dns import control
        from berth.network.firewall.errors import FirewallError
        from berth.network.links import HostLinks

        eps = self.endpoints.all()
        if eps:
            raise NetworkInUse(f"{len(eps)} container(s) still wired: stop them first", containers=sorted(eps))
        with self.run_lock():
            control.stop(self.paths)
            with contextlib.suppress(FirewallError):
                self.firewall.remove(self.ident)
            self.applied_file().unlink(missing_ok=True)
            with HostLinks() as links:
                for net in self.store.list():
                    if net.is_bridge and net.Bridge:
                        links.delete(net.Bridge)

    # -- views --------------------------------------------------------------------
    def settings_view(self, cid: str, record: dict[str, Any], running: bool) -> dict[str, Any]:
        """``NetworkSettings`` as inspect shows it: the record's networks, plus while running
        ``SandboxKey`` and ``Ports``; the default bridge's address also at the top level (Docker's
        legacy fields)."""
        from copy import deepcopy

        from berth.network.ports import docker_ports

        nets = deepcopy((record.get("NetworkSettings") or {}).get("Networks") or {})
        ep = self.endpoints.read(cid) if running else None
        exposed = ((record.get("Config") or {}).get("ExposedPorts") or {}).keys()
        bridge = nets.get("bridge") or {}
        return {
            "SandboxKey": ep.netns if ep else "",
            "Ports": docker_ports(ep.ports, exposed) if ep else {},
            "Gateway": bridge.get("Gateway", ""),
            "IPAddress": bridge.get("IPAddress", ""),
            "IPPrefixLen": bridge.get("IPPrefixLen", 0),
            "MacAddress": bridge.get("MacAddress", ""),
            "Networks": nets,
        }

    def port_rules(self, cid: str) -> list[PortRule]:
        """The published ports of a running container (empty when stopped)."""
        ep = self.endpoints.read(cid)
        return list(ep.ports) if ep else []
