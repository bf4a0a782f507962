# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``berth.core.container`` compares, and how.

Both sides are ``ContainerSpec`` s: the task's (built by the engine's parsers) and the one the
container was created from (kept in its record). One function, ``view()``, turns either into
option-named, normalised values, so a value written two ways (``1g`` / ``1024m``, ports in
another order, ``/data/`` / ``/data``) is one value, and the image's CMD, ENV, labels or
EXPOSE never enter the comparison.

Only the options a task gives are compared, each in its ``comparisons`` mode: ``strict``
(equal), ``allow_more_present`` (lists and dicts: the container may have more), ``ignore``.
"""

from __future__ import annotations

from ansible_collections.berth.core.plugins.module_utils.runner import Difference

#: option -> its kind: "value" (strict or ignore), "list" / "set" / "dict" (allow_more_present too)
KINDS = {
    "image": "value", "command": "list", "entrypoint": "list", "env": "dict", "working_dir": "value",
    "user": "value", "hostname": "value", "labels": "dict", "tty": "value", "interactive": "value",
    "volumes": "set", "mounts": "set", "tmpfs": "set", "volumes_from": "set", "restart_policy": "value",
    "restart_retries": "value", "auto_remove": "value", "memory": "value", "cpus": "value",
    "pids_limit": "value", "read_only": "value", "capabilities": "set", "cap_drop": "set",
    "privileged": "value", "security_opts": "set", "stop_signal": "value", "stop_timeout": "value", "init": "value",
    "published_ports": "set", "publish_all_ports": "value", "network_mode": "value", "networks": "set",
    "dns_servers": "list", "etc_hosts": "dict",
}
#: option aliases a comparisons key may use
ALIASES = {"ports": "published_ports"}
#: community.docker's defaults: networks the task does not list are left connected
DEFAULT_MODES = {"networks": "allow_more_present"}
#: options whose value comes from the options model, not from the spec (compared elsewhere)
NOT_IN_SPEC = ("image", "networks")


def check_comparisons(value: dict) -> dict:
    """``comparisons`` with aliases resolved; a ValueError names the bad key or mode."""
    out = {}
    for key, mode in value.items():
        name = ALIASES.get(key, key)
        if name != "*" and name not in KINDS:
            raise ValueError(f"comparisons: unknown option {key!r} (one of {', '.join(sorted(KINDS))}, or '*')")
        if mode not in ("strict", "ignore", "allow_more_present"):
            raise ValueError(f"comparisons.{key}: unknown mode {mode!r} (strict, allow_more_present or ignore)")
        if mode == "allow_more_present" and (name == "*" or KINDS[name] == "value"):
            raise ValueError(f"comparisons.{key}: allow_more_present applies to lists and dicts only")
        out[name] = mode
    return out


def mode_of(comparisons: dict | None, name: str) -> str:
    comparisons = comparisons or {}
    if name in comparisons:
        return comparisons[name]
    if name == "networks" or "*" not in comparisons:
        return DEFAULT_MODES.get(name, "strict")
    return comparisons["*"]


# -- normalised values ----------------------------------------------------------------------
def _mount_text(m) -> str:
    """``-v`` / ``--tmpfs`` as one canonical string (the engine has normalised paths and sizes)."""
    modes = (["ro"] if m.read_only else []) + list(m.options)
    head = m.target if m.type == "tmpfs" or not m.source else f"{m.source}:{m.target}"
    return f"{head}:{','.join(modes)}" if modes else head


def _mount_dict(m) -> dict:
    out = {"type": m.type, "target": m.target}
    if m.source:
        out["source"] = m.source
    if m.read_only:
        out["read_only"] = True
    if m.options:
        out["options"] = list(m.options)
    return out


def _port_text(b) -> str:
    """A binding as ``-p`` writes it, shortest form: ``53/udp``, ``8080:80/tcp``, ``127.0.0.1::80/tcp``."""
    ip = "" if b.host_ip == "0.0.0.0" else b.host_ip
    host = f"{b.host_port}-{b.host_port_end}" if b.host_port_end else (str(b.host_port) if b.host_port else "")
    ctr = f"{b.container_port}/{b.protocol}"
    if ip:
        return f"{ip}:{host}:{ctr}"
    return f"{host}:{ctr}" if host else ctr


def _security_texts(opts) -> list[str]:
    """``security_opts`` in one spelling each: a custom seccomp profile (kept as its JSON) by its
    digest, so the diff stays readable and a changed profile file still differs; the spellings of
    the defaults (``seccomp=builtin``, ``no-new-privileges=false``) left out."""
    import hashlib

    out = set()
    for opt in opts:
        key, _sep, value = opt.partition("=")
        if opt in ("seccomp=builtin", "no-new-privileges=false"):
            continue
        if key == "seccomp" and value.startswith("{"):
            opt = f"seccomp=profile sha256:{hashlib.sha256(value.encode()).hexdigest()[:16]}"
        out.add("no-new-privileges" if opt == "no-new-privileges=true" else opt)
    return sorted(out)


def view(spec) -> dict:
    """Every compared option but ``image`` and ``networks``, normalised, from a ``ContainerSpec``."""
    volumes = [m for m in spec.mounts if m.create_host_path and m.type != "tmpfs"]
    tmpfs = [m for m in spec.mounts if m.create_host_path and m.type == "tmpfs"]
    mounts = [m for m in spec.mounts if not m.create_host_path]
    return {
        "command": list(spec.command) if spec.command else None,
        "entrypoint": None if spec.entrypoint is None else list(spec.entrypoint),
        "env": dict(spec.env),
        "working_dir": spec.workdir,
        "user": spec.user,
        "hostname": spec.hostname,
        "labels": dict(spec.labels),
        "tty": spec.tty,
        "interactive": spec.interactive,
        "volumes": sorted(_mount_text(m) for m in volumes),
        "mounts": sorted((_mount_dict(m) for m in mounts), key=lambda d: d["target"]),
        "tmpfs": sorted(_mount_text(m) for m in tmpfs),
        "volumes_from": sorted(spec.volumes_from),
        "restart_policy": spec.restart.name,
        "restart_retries": spec.restart.max_retries,
        "auto_remove": spec.auto_remove,
        "memory": spec.memory or 0,
        "cpus": spec.nano_cpus / 1e9 if spec.nano_cpus else None,
        "pids_limit": spec.pids_limit,
        "read_only": spec.read_only,
        "capabilities": sorted(spec.cap_add),
        "cap_drop": sorted(spec.cap_drop),
        "privileged": spec.privileged,
        "security_opts": _security_texts(spec.security_opt),
        "stop_signal": spec.stop_signal,
        "stop_timeout": spec.stop_timeout,
        "init": spec.init,
        "published_ports": sorted(_port_text(b) for b in spec.ports),
        "publish_all_ports": spec.publish_all,
        "network_mode": spec.network,
        "dns_servers": list(spec.dns),
        "etc_hosts": dict(spec.extra_hosts),
    }


def given(opts) -> set[str]:
    """The compared options the task sets (``env_file`` counts as ``env``; ``networks`` with
    ``networks_cli_compatible`` sets ``network_mode``; ``restart_retries`` only with a policy)."""
    from ansible_collections.berth.core.plugins.module_utils.container_options import network_mode

    out = {name for name in KINDS if name not in NOT_IN_SPEC and getattr(opts, name, None) is not None}
    if opts.env_file is not None:
        out.add("env")
    if network_mode(opts) is not None:
        out.add("network_mode")
    return out


def matches(kind: str, mode: str, want, have) -> bool:
    if mode == "ignore" or want == have:
        return True
    if mode != "allow_more_present":
        return False
    if kind == "dict":
        return all(k in have and have[k] == v for k, v in want.items())
    return all(item in have for item in want)


def compare(opts, want, have) -> list[Difference]:
    """Differences between two ``view()`` s, for the options the task gives."""
    out = []
    for name in sorted(given(opts)):
        mode = mode_of(opts.comparisons, name)
        if not matches(KINDS[name], mode, want[name], have[name]):
            out.append(Difference(name, have[name], want[name]))
    return out


# -- networks (connections change in place) ---------------------------------------------------
def connection(settings: dict | None) -> dict:
    """A connection of inspect's ``NetworkSettings.Networks`` as the task's ``networks`` entries say it."""
    settings = settings or {}
    return {"ipv4_address": (settings.get("IPAMConfig") or {}).get("IPv4Address") or None,
            "aliases": sorted(settings.get("Aliases") or [])}


def network_changes(opts, mode: str, connected: dict) -> tuple[list, list, list[Difference]]:
    """(connect, disconnect, differences) that make the container's connections what ``networks`` says:
    entries missing, or with another fixed address or missing aliases, are (re)connected; with
    ``networks: strict``, networks not listed (but the one of ``network_mode``) are disconnected."""
    if opts.networks is None or mode_of(opts.comparisons, "networks") == "ignore" or mode in ("host", "none"):
        return [], [], []
    connect, disconnect = [], []
    for entry in opts.networks:
        have = connected.get(entry.name)
        if have is None:
            connect.append(entry)
            continue
        current = connection(have)
        if (entry.ipv4_address and entry.ipv4_address != current["ipv4_address"]) or \
                not set(entry.aliases or ()) <= set(current["aliases"]):
            disconnect.append(entry.name)
            connect.append(entry)
    if mode_of(opts.comparisons, "networks") == "strict":
        listed = {n.name for n in opts.networks}
        disconnect += sorted(n for n in connected if n not in listed and n != mode)
    differences = []
    if connect or disconnect:
        wanted = {n.name for n in opts.networks}
        before = [{"name": n, **connection(s)} for n, s in sorted(connected.items())
                  if n in wanted or n in disconnect]
        after = [{"name": n.name, "ipv4_address": n.ipv4_address, "aliases": sorted(n.aliases or [])}
                 for n in opts.networks]
        differences.append(Difference("networks", before, after))
    return connect, disconnect, differences
