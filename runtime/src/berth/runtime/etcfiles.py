"""/etc/hosts, /etc/hostname and /etc/resolv.conf of a container: files in its record dir,
bind-mounted over the rootfs (as Docker does), so the image is never modified."""

from __future__ import annotations

import ipaddress
from pathlib import Path

HOST_RESOLV = Path("/etc/resolv.conf")
SYSTEMD_RESOLV = Path("/run/systemd/resolve/resolv.conf")
# Docker's fallback when the host only has loopback resolvers the container cannot reach
FALLBACK_DNS = ("8.8.8.8", "8.8.4.4")
ETC_FILES = ("hosts", "hostname", "resolv.conf")


HOST_HOSTS = Path("/etc/hosts")


def hosts_file(hostname: str, extra_hosts: list[str] | None = None, *, address: str | None = None,
               host_network: bool = False) -> str:
    """Docker's container /etc/hosts: localhost entries, ``--add-host`` entries, then the
    container's own address and hostname; with ``--network host``, the host's file instead."""
    if host_network:
        try:
            lines = HOST_HOSTS.read_text().splitlines()
        except OSError:
            lines = ["127.0.0.1\tlocalhost"]
    else:
        lines = [
            "127.0.0.1\tlocalhost",
            "::1\tlocalhost ip6-localhost ip6-loopback",
            "fe00::0\tip6-localnet",
            "ff00::0\tip6-mcastprefix",
            "ff02::1\tip6-allnodes",
            "ff02::2\tip6-allrouters",
        ]
    for entry in extra_hosts or []:
        name, _, ip = entry.partition(":")
        lines.append(f"{ip}\t{name}")
    if address:
        lines.append(f"{address}\t{hostname}")
    return "\n".join(lines) + "\n"


def _is_loopback(text: str) -> bool:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def resolv_conf(dns: list[str] | None = None, *, host: Path = HOST_RESOLV, upstream: Path = SYSTEMD_RESOLV) -> str:
    """The host's resolv.conf without loopback nameservers (a stub like 127.0.0.53 is unreachable
    from the container's netns): systemd-resolved's upstream list replaces it when present."""
    try:
        text = host.read_text()
    except OSError:
        text = ""
    servers = [ln.split()[1] for ln in text.splitlines() if ln.startswith("nameserver") and len(ln.split()) > 1]
    if servers and all(_is_loopback(s) for s in servers) and upstream.is_file():
        text = upstream.read_text()
    kept = [ln for ln in text.splitlines()
            if not (ln.startswith("nameserver") and (len(ln.split()) < 2 or _is_loopback(ln.split()[1])))]
    if dns:
        kept = [ln for ln in kept if not ln.startswith("nameserver")] + [f"nameserver {s}" for s in dns]
    elif not any(ln.startswith("nameserver") for ln in kept):
        kept += [f"nameserver {s}" for s in FALLBACK_DNS]
    return "\n".join(kept) + "\n"


def resolver_conf(resolver: str, *, host: Path = HOST_RESOLV) -> str:
    """On a user network: the engine's resolver (names of containers, then upstream) is the only
    nameserver; the host's search domains and options are kept (Docker's embedded DNS does the same)."""
    try:
        text = host.read_text()
    except OSError:
        text = ""
    kept = [ln for ln in text.splitlines() if ln.split()[:1] in (["search"], ["domain"], ["options"])]
    return "\n".join([f"nameserver {resolver}", *kept]) + "\n"


def resolv_conf_for(dns: list[str] | None = None, *, resolver: str | None = None,
                    host_network: bool = False) -> str:
    """The container's resolv.conf: the engine's resolver on a user network (``--dns`` servers are
    then its upstreams), the host's own file with ``--network host`` (its loopback resolvers are
    reachable there), else the host's nameservers minus loopback ones, or ``--dns``."""
    if resolver:
        return resolver_conf(resolver)
    if host_network and not dns:
        try:
            return HOST_RESOLV.read_text()
        except OSError:
            pass
    return resolv_conf(dns)


def write_etc_files(directory: Path, hostname: str, *, dns: list[str] | None = None,
                    extra_hosts: list[str] | None = None, address: str | None = None,
                    resolver: str | None = None, host_network: bool = False) -> None:
    """``address``: the container's own (primary) address, listed with its hostname."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "hostname").write_text(hostname + "\n")
    (directory / "hosts").write_text(hosts_file(hostname, extra_hosts, address=address, host_network=host_network))
    (directory / "resolv.conf").write_text(resolv_conf_for(dns, resolver=resolver, host_network=host_network))


def update_resolv_conf(directory: Path, *, dns: list[str] | None = None, resolver: str | None = None,
                       host_network: bool = False) -> None:
    """Rewrite resolv.conf in place (the same inode: it is bind-mounted into a running container)
    when the networks changed: a container connected to its first user network starts using the
    resolver at once."""
    path = directory / "resolv.conf"
    text = resolv_conf_for(dns, resolver=resolver, host_network=host_network)
    try:
        if path.read_text() == text:
            return
    except OSError:
        return  # no record dir (removed meanwhile): nothing to update
    with open(path, "r+") as f:
        f.write(text)
        f.truncate()
