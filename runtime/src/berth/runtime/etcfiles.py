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


def write_etc_files(directory: Path, hostname: str, *, dns: list[str] | None = None,
                    extra_hosts: list[str] | None = None, address: str | None = None,
                    resolver: str | None = None, host_network: bool = False) -> None:
    """``address``: the container's own (primary) address; ``resolver``: the engine's resolver on
    its user network (``--dns`` servers are then its upstreams); ``host_network``: the host's
    files, as ``--network host`` sees the host's loopback resolvers."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "hostname").write_text(hostname + "\n")
    (directory / "hosts").write_text(hosts_file(hostname, extra_hosts, address=address, host_network=host_network))
    if resolver:
        conf = resolver_conf(resolver)
    elif host_network and not dns:
        try:
            conf = HOST_RESOLV.read_text()
        except OSError:
            conf = resolv_conf(dns)
    else:
        conf = resolv_conf(dns)
    (directory / "resolv.conf").write_text(conf)
