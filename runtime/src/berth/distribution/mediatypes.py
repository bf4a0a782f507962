"""Media types of Docker schema2 and OCI image manifests, configs and layers."""

from __future__ import annotations

# -- manifests ---------------------------------------------------------------
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

#: Docker's legacy signed manifests; recognised only to be rejected.
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
SCHEMA1_TYPES = frozenset({DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED})

IMAGE_MANIFEST_TYPES = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
INDEX_TYPES = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
MANIFEST_TYPES = IMAGE_MANIFEST_TYPES | INDEX_TYPES

#: What we ask registries for, most preferred first (schema1 never).
MANIFEST_ACCEPT: list[str] = [OCI_INDEX, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST, OCI_MANIFEST]

# -- configs -----------------------------------------------------------------
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
CONFIG_TYPES = frozenset({DOCKER_CONFIG, OCI_CONFIG})

# -- layers ------------------------------------------------------------------
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_FOREIGN_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER_LAYER_ZSTD = "application/vnd.docker.image.rootfs.diff.tar.zstd"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDISTRIBUTABLE_TAR = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDISTRIBUTABLE_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

GZIP_LAYER_TYPES = frozenset(
    {DOCKER_LAYER_GZIP, DOCKER_LAYER_FOREIGN_GZIP, OCI_LAYER_GZIP, OCI_LAYER_NONDISTRIBUTABLE_GZIP}
)
ZSTD_LAYER_TYPES = frozenset({DOCKER_LAYER_ZSTD, OCI_LAYER_ZSTD, OCI_LAYER_NONDISTRIBUTABLE_ZSTD})
UNCOMPRESSED_LAYER_TYPES = frozenset({OCI_LAYER_TAR, OCI_LAYER_NONDISTRIBUTABLE_TAR})
#: Layers a registry may not serve (fetched from the descriptor's ``urls``).
FOREIGN_LAYER_TYPES = frozenset(
    {
        DOCKER_LAYER_FOREIGN_GZIP,
        OCI_LAYER_NONDISTRIBUTABLE_TAR,
        OCI_LAYER_NONDISTRIBUTABLE_GZIP,
        OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
    }
)
LAYER_TYPES = GZIP_LAYER_TYPES | ZSTD_LAYER_TYPES | UNCOMPRESSED_LAYER_TYPES

#: Content types that say nothing about which manifest this is.
GENERIC_TYPES = frozenset({"", "application/json", "text/plain", "application/octet-stream"})


def layer_compression(media_type: str) -> str:
    """``"gzip"``, ``"zstd"`` or ``"none"``; ``ValueError`` for a non-layer type."""
    if media_type in GZIP_LAYER_TYPES:
        return "gzip"
    if media_type in ZSTD_LAYER_TYPES:
        return "zstd"
    if media_type in UNCOMPRESSED_LAYER_TYPES:
        return "none"
    raise ValueError(f"unsupported layer media type {media_type!r}")


def is_attestation(annotations: dict[str, str] | None) -> bool:
    """BuildKit stores provenance/SBOM manifests in indexes with this annotation."""
    return bool(annotations) and annotations.get("vnd.docker.reference.type") == "attestation-manifest"
