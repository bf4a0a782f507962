"""What a container should be: the typed spec that ``berth run`` flags and the
Ansible ``container`` module both produce, and its parsers."""

from __future__ import annotations

from berth.containers.spec import ContainerSpec, Mount, PortBinding, RestartPolicy

__all__ = ["ContainerSpec", "Mount", "PortBinding", "RestartPolicy"]
