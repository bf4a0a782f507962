"""Docker-shaped views of container records: ``docker ps`` rows and ``docker inspect``."""

from __future__ import annotations

import shlex
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from berth.runtime.context import RuntimeContext
from berth.runtime.lifecycle import view
from berth.state import ContainerState
from berth.state.records import ZERO_TIME


def _unix(rfc3339: str) -> float:
    try:
        return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def human_duration(seconds: float) -> str:
    """Docker's units.HumanDuration (the "Up 5 minutes" / "Exited (0) 2 hours ago" text)."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    m = s // 60
    if m == 1:
        return "About a minute"
    if m < 60:
        return f"{m} minutes"
    h = round(s / 3600)
    if h == 1:
        return "About an hour"
    if h < 48:
        return f"{h} hours"
    if h < 24 * 7 * 2:
        return f"{h // 24} days"
    if h < 24 * 30 * 2:
        return f"{h // 24 // 7} weeks"
    if h < 24 * 365 * 2:
        return f"{h // 24 // 30} months"
    return f"{h // 24 // 365} years"


def status_text(st: ContainerState) -> str:
    now = time.time()
    if st.Status == "running":
        return f"Up {human_duration(now - _unix(st.StartedAt))}"
    if st.Status == "exited":
        if st.FinishedAt == ZERO_TIME:  # never recorded (a container found dead): no "2025 years ago"
            return f"Exited ({st.ExitCode})"
        return f"Exited ({st.ExitCode}) {human_duration(now - _unix(st.FinishedAt))} ago"
    return st.Status.capitalize()


def mounts_view(ctx: RuntimeContext, record: dict[str, Any]) -> list[dict[str, Any]]:
    """inspect .Mounts: binds and volumes. Records written at create carry them (``Mounts``, with each
    volume's name); older ones are read back from the OCI mounts (a bind of <root>/volumes/<name>/_data
    is a volume)."""
    if isinstance(record.get("Mounts"), list):
        return [dict(m) for m in record["Mounts"]]
    volumes = ctx.paths.root / "volumes"
    out = []
    for m in record.get("MountPoints") or []:
        if m.get("type") != "bind":
            continue
        opts = m.get("options") or []
        rw = "ro" not in opts
        entry: dict[str, Any] = {"Type": "bind", "Source": m["source"], "Destination": m["destination"],
                                 "Mode": "" if rw else "ro", "RW": rw, "Propagation": "rprivate"}
        src = Path(m["source"])
        if src.parent.parent == volumes and src.name == "_data":
            entry = {"Type": "volume", "Name": src.parent.name, **{k: v for k, v in entry.items() if k != "Type"},
                     "Driver": "local", "Propagation": ""}
            entry["Mode"] = "z" if rw else "ro"
        out.append(entry)
    return out


def inspect_view(ctx: RuntimeContext, cid: str) -> dict[str, Any]:
    record = ctx.containers.config(cid)
    st = view(ctx, cid)
    return {
        "Id": cid,
        "Created": record.get("Created", ""),
        "Path": record.get("Path", ""),
        "Args": record.get("Args", []),
        "State": st.docker_view(),
        "Image": record.get("Image", ""),
        "ResolvConfPath": str(ctx.containers.dir(cid) / "resolv.conf"),
        "HostnamePath": str(ctx.containers.dir(cid) / "hostname"),
        "HostsPath": str(ctx.containers.dir(cid) / "hosts"),
        "LogPath": str(ctx.log_path(cid)),
        "Name": record.get("Name", ""),
        "RestartCount": st.RestartCount,
        "Driver": "overlay",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "HostConfig": record.get("HostConfig", {}),
        "Mounts": mounts_view(ctx, record),
        "Config": record.get("Config", {}),
        "NetworkSettings": ctx.network.settings_view(cid, record, st.Running),
    }


def ps_row(ctx: RuntimeContext, cid: str) -> dict[str, Any]:
    record = ctx.containers.config(cid)
    st = view(ctx, cid)
    cfg = record.get("Config", {})
    command = [*(cfg.get("Entrypoint") or []), *(cfg.get("Cmd") or [])]
    return {
        "Id": cid,
        "Names": [record.get("Name", "")],
        "Image": record.get("ImageRef", ""),
        "ImageID": record.get("Image", ""),
        "Command": shlex.join(command),
        "Created": int(_unix(record.get("Created", ""))),
        "State": st.Status,
        "Status": status_text(st),
        "Ports": [{"IP": r.host_ip or "0.0.0.0", "PrivatePort": r.container_port, "PublicPort": r.host_port,
                   "Type": r.proto} for r in ctx.network.port_rules(cid)] if st.Running else [],
        "Labels": cfg.get("Labels") or {},
        "Mounts": mounts_view(ctx, record),
    }
