"""Typed errors of the container runtime and records (subclasses of ``berth.errors``)."""

from __future__ import annotations

from berth.errors import BerthError, Conflict, InvalidArgument, NotFound


class ContainerNotFound(NotFound):
    pass


class NameInUse(Conflict):
    """Another container already has this name."""


class ContainerRunning(Conflict):
    """The operation needs a stopped container (rm without force, start of a running one is fine)."""


class ContainerNotRunning(Conflict):
    pass


class InvalidContainerConfig(InvalidArgument):
    """The spec cannot make a container (no command, unknown capability, unknown user...)."""


class OCIRuntimeFailure(BerthError):
    """runc/crun or conmon failed; the message carries their own words."""

    exit_code = 125


class MountFailure(BerthError):
    """The container rootfs (overlay) could not be mounted."""

    exit_code = 125
