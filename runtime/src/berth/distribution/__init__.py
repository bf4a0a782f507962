"""OCI distribution client: manifests, blobs, auth, endpoints, retries.

Importing this package is cheap: ``requests`` is only imported when
:class:`RegistryClient` is first used (``from berth.distribution import
RegistryClient`` triggers it, ``import berth.distribution`` does not).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from berth.distribution import mediatypes
from berth.distribution.auth import (
    CATALOG_SCOPE,
    Challenge,
    parse_www_authenticate,
    repository_scope,
)
from berth.distribution.endpoints import Endpoint, endpoints_for
from berth.distribution.failures import BlobUnknown
from berth.distribution.manifests import (
    Descriptor,
    ImageIndex,
    ImageManifest,
    build_manifest,
    parse_manifest,
)

if TYPE_CHECKING:
    from berth.distribution.client import RegistryClient

__all__ = [
    "CATALOG_SCOPE",
    "BlobUnknown",
    "Challenge",
    "Descriptor",
    "Endpoint",
    "ImageIndex",
    "ImageManifest",
    "RegistryClient",
    "build_manifest",
    "endpoints_for",
    "mediatypes",
    "parse_manifest",
    "parse_www_authenticate",
    "repository_scope",
]


def __getattr__(name: str) -> Any:
    if name == "RegistryClient":
        from berth.distribution.client import RegistryClient

        return RegistryClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
