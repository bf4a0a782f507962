"""A ``ContainerSpec`` as JSON, for the container record (``"Spec"``) and back.

The record's ``Config`` is the spec merged with the image (its CMD, ENV, labels...), so it
cannot say what the user asked for; the spec can. The Ansible ``container`` module compares
a task with the spec a container was created from, so the image's own settings never look
like a difference (no recreate loops).
"""

from __future__ import annotations

from typing import Any

from berth import structs
from berth.containers.spec import ContainerSpec, Mount, PortBinding, RestartPolicy

#: record key of the creation spec
SPEC_KEY = "Spec"


def spec_to_json(spec: ContainerSpec) -> dict[str, Any]:
    """Plain JSON types (tuples become lists)."""
    return structs.asdict(spec)


def _pairs(value) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in value or ())


def spec_from_json(data: dict[str, Any]) -> ContainerSpec:
    """The inverse of ``spec_to_json`` (unknown keys, from a newer engine, are dropped)."""
    known = {f.name for f in structs.fields(ContainerSpec)}
    fields = {k: v for k, v in data.items() if k in known}
    for key in ("command", "entrypoint"):
        if fields.get(key) is not None:
            fields[key] = tuple(fields[key])
    for key in ("env", "labels", "extra_hosts"):
        fields[key] = _pairs(fields.get(key))
    for key in ("volumes_from", "cap_add", "cap_drop", "dns", "network_aliases", "security_opt"):
        fields[key] = tuple(fields.get(key) or ())
    fields["mounts"] = tuple(Mount(**{**m, "options": tuple(m.get("options") or ())})
                             for m in fields.get("mounts") or ())
    fields["ports"] = tuple(PortBinding(**p) for p in fields.get("ports") or ())
    fields["restart"] = RestartPolicy(**(fields.get("restart") or {}))
    return ContainerSpec(**fields)


def recorded_spec(record: dict[str, Any]) -> ContainerSpec | None:
    """The creation spec of a container record; None for records written before it was kept."""
    data = record.get(SPEC_KEY)
    return spec_from_json(data) if isinstance(data, dict) else None
