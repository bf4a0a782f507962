"""Typed exceptions of the engine.

Every error carries data (not just a message) so the CLI and the Ansible
adapter can decide how to present it. ``str(err)`` is always a one-line,
human-readable cause that names the offending field or value.
"""

from __future__ import annotations


class BerthError(Exception):
    """Base class of every engine error."""

    #: process exit code the CLI uses for this kind of error
    exit_code = 1

    def __init__(self, message: str, **data: object) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def __str__(self) -> str:
        return self.message


class InvalidArgument(BerthError, ValueError):
    """User input that cannot be valid (bad reference, bad option value...)."""

    exit_code = 125


class InvalidReference(InvalidArgument):
    """A malformed image reference, digest or platform string."""


class ConfigError(BerthError):
    """The engine configuration file is malformed."""


class NotFound(BerthError):
    """A named object does not exist."""


class ImageNotFound(NotFound):
    pass


class Conflict(BerthError):
    """The operation conflicts with current state (image in use, name taken)."""

    exit_code = 1


class ImageInUse(Conflict):
    pass


class StoreError(BerthError):
    """The on-disk store is inconsistent or an operation on it failed."""


class DigestMismatch(StoreError):
    """Content did not hash to the digest it was announced with."""

    def __init__(self, expected: str, actual: str, what: str = "blob") -> None:
        super().__init__(
            f"{what} digest mismatch: expected {expected}, got {actual}",
            expected=expected,
            actual=actual,
        )
        self.expected = expected
        self.actual = actual


class SizeMismatch(StoreError):
    def __init__(self, digest: str, expected: int, actual: int) -> None:
        super().__init__(
            f"blob {digest} is truncated or oversized: expected {expected} bytes, got {actual}",
            digest=digest,
            expected=expected,
            actual=actual,
        )


class UnsafeLayer(BerthError):
    """A layer tarball tried to write outside its directory or is malformed."""


class ArchiveError(BerthError):
    """A tar given to load/import is not what it should be."""


class RegistryError(BerthError):
    """Talking to a registry failed."""

    def __init__(self, message: str, *, registry: str = "", status: int | None = None, **data: object) -> None:
        super().__init__(message, registry=registry, status=status, **data)
        self.registry = registry
        self.status = status


class RegistryUnreachable(RegistryError):
    """Connection refused, DNS failure, TLS failure, or not a registry at all."""


class AuthenticationRequired(RegistryError):
    """401: no or wrong credentials."""


class AccessDenied(RegistryError):
    """403: credentials valid but not allowed."""


class ManifestNotFound(RegistryError, ImageNotFound):
    """The registry answered 404 for the manifest (unknown repository or tag)."""


class PlatformNotFound(RegistryError):
    """A manifest list has no entry for the requested platform."""


class ManifestInvalid(RegistryError):
    """A manifest or config blob could not be parsed or has an unsupported type."""
