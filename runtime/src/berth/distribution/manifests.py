"""Image manifests and indexes (Docker schema2 and OCI), parsed and validated.

``parse_manifest`` never trusts its input: every field it hands on has been
checked, and a :class:`~berth.errors.ManifestInvalid` names the first one that
is wrong (``layers[2].digest: invalid digest ...``).
"""

from __future__ import annotations

import json
from typing import Any

from berth.distribution import mediatypes as mt
from berth.errors import InvalidReference, ManifestInvalid, PlatformNotFound
from berth.reference import Digest, Platform
from berth.structs import dataclass, field

#: containerd's limit; a bigger "manifest" is not one.
MAX_MANIFEST_SIZE = 4 * 1024 * 1024


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    platform: Platform | None = None
    urls: tuple[str, ...] = ()
    annotations: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def is_attestation(self) -> bool:
        if self.platform is not None and (self.platform.os, self.platform.architecture) == ("unknown", "unknown"):
            return True
        return mt.is_attestation(self.annotations)

    def to_dict(self) -> dict[str, Any]:
        """The OCI/Docker JSON form, for building manifests to push."""
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            plat = {"architecture": self.platform.architecture, "os": self.platform.os}
            if self.platform.variant:
                plat["variant"] = self.platform.variant
            out["platform"] = plat
        return out


@dataclass(frozen=True)
class ImageManifest:
    media_type: str
    config: Descriptor
    layers: list[Descriptor] = field(hash=False)
    raw: bytes = field(repr=False)
    digest: Digest
    annotations: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def is_oci(self) -> bool:
        return self.media_type == mt.OCI_MANIFEST

    @property
    def total_size(self) -> int:
        """Bytes to download: config plus layers."""
        return self.config.size + sum(layer.size for layer in self.layers)


@dataclass(frozen=True)
class ImageIndex:
    media_type: str
    manifests: list[Descriptor] = field(hash=False)
    raw: bytes = field(repr=False)
    digest: Digest
    annotations: dict[str, str] = field(default_factory=dict, hash=False)

    def platforms(self) -> list[Platform]:
        """Runnable platforms of this index (attestations and entries without a platform left out)."""
        return [d.platform for d in self.manifests if d.platform is not None and not d.is_attestation]

    def select(self, platform: Platform) -> Descriptor:
        """The entry for ``platform``: an exact variant match wins over an implied one."""
        candidates = [
            d for d in self.manifests
            if d.platform is not None and not d.is_attestation and platform.matches(d.platform)
        ]
        if not candidates:
            available = ", ".join(str(p) for p in self.platforms()) or "none"
            raise PlatformNotFound(
                f"no matching manifest for {platform} in the manifest list entries (available: {available})",
                platform=str(platform),
                available=[str(p) for p in self.platforms()],
            )
        for d in candidates:
            if d.platform is not None and d.platform.variant == platform.variant:
                return d
        return candidates[0]


def parse_manifest(raw: bytes, media_type: str | None = None) -> ImageManifest | ImageIndex:
    """Parse a manifest or index; ``media_type`` is the Content-Type it was served with, if any."""
    if len(raw) > MAX_MANIFEST_SIZE:
        raise ManifestInvalid(f"manifest is too large ({len(raw)} bytes, limit {MAX_MANIFEST_SIZE})")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestInvalid(f"manifest is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ManifestInvalid("manifest is not a JSON object")
    header = (media_type or "").split(";", 1)[0].strip().lower()
    body_type = doc.get("mediaType")
    if body_type is not None and not isinstance(body_type, str):
        raise ManifestInvalid(f"mediaType: expected a string, got {body_type!r}")
    if doc.get("schemaVersion") == 1 or header in mt.SCHEMA1_TYPES or body_type in mt.SCHEMA1_TYPES:
        raise ManifestInvalid("schema1 manifests are not supported", media_type=header or body_type)
    version = doc.get("schemaVersion")
    if version != 2 or isinstance(version, bool):
        raise ManifestInvalid(f"schemaVersion: expected 2, got {version!r}")
    kind = _detect_type(header, body_type, doc)
    digest = Digest.of_bytes(raw)
    annotations = _annotations(doc.get("annotations"), "annotations")
    if kind in mt.INDEX_TYPES:
        entries = doc.get("manifests")
        if not isinstance(entries, list):
            raise ManifestInvalid("manifests: expected a list of descriptors")
        descs = [_descriptor(e, f"manifests[{i}]") for i, e in enumerate(entries)]
        return ImageIndex(kind, descs, raw, digest, annotations)
    if "config" not in doc:
        raise ManifestInvalid("config: missing")
    config = _descriptor(doc["config"], "config")
    layers_raw = doc.get("layers")
    if not isinstance(layers_raw, list):
        raise ManifestInvalid("layers: expected a list of descriptors")
    layers = [_descriptor(e, f"layers[{i}]") for i, e in enumerate(layers_raw)]
    return ImageManifest(kind, config, layers, raw, digest, annotations)


def build_manifest(
    config: Descriptor, layers: list[Descriptor], *, oci: bool = False, annotations: dict[str, str] | None = None
) -> ImageManifest:
    """A manifest to push, serialised the way Docker does (3-space indent, spec key order)."""
    media_type = mt.OCI_MANIFEST if oci else mt.DOCKER_MANIFEST
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config.to_dict(),
        "layers": [layer.to_dict() for layer in layers],
    }
    if annotations:
        doc["annotations"] = dict(annotations)
    raw = json.dumps(doc, indent=3).encode()
    return ImageManifest(media_type, config, list(layers), raw, Digest.of_bytes(raw), dict(annotations or {}))


def _detect_type(header: str, body_type: str | None, doc: dict) -> str:
    if body_type in mt.MANIFEST_TYPES:
        return body_type
    if header in mt.MANIFEST_TYPES:
        return header
    if body_type:
        raise ManifestInvalid(f"unsupported manifest media type {body_type!r}", media_type=body_type)
    if header not in mt.GENERIC_TYPES:
        raise ManifestInvalid(f"unsupported manifest media type {header!r}", media_type=header)
    # OCI allows mediaType to be absent: tell by shape.
    if "manifests" in doc:
        return mt.OCI_INDEX
    if "config" in doc or "layers" in doc:
        return mt.OCI_MANIFEST
    raise ManifestInvalid("cannot tell the manifest type: no mediaType, config or manifests field")


def _descriptor(obj: Any, where: str) -> Descriptor:
    if not isinstance(obj, dict):
        raise ManifestInvalid(f"{where}: expected a descriptor object, got {type(obj).__name__}")
    media_type = obj.get("mediaType")
    if not isinstance(media_type, str) or not media_type:
        raise ManifestInvalid(f"{where}.mediaType: missing or not a string")
    raw_digest = obj.get("digest")
    if not isinstance(raw_digest, str):
        raise ManifestInvalid(f"{where}.digest: missing or not a string")
    try:
        digest = Digest.parse(raw_digest)
    except InvalidReference as exc:
        raise ManifestInvalid(f"{where}.digest: {exc}") from exc
    size = obj.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestInvalid(f"{where}.size: expected a non-negative integer, got {size!r}")
    urls = obj.get("urls") or []
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise ManifestInvalid(f"{where}.urls: expected a list of strings")
    platform = None
    if obj.get("platform") is not None:
        plat = obj["platform"]
        if not isinstance(plat, dict) or not isinstance(plat.get("os"), str) or not isinstance(
            plat.get("architecture"), str
        ):
            raise ManifestInvalid(f"{where}.platform: expected an object with os and architecture strings")
        platform = Platform.from_oci(plat)
    return Descriptor(
        media_type, digest, size, platform, tuple(urls), _annotations(obj.get("annotations"), f"{where}.annotations")
    )


def _annotations(obj: Any, where: str) -> dict[str, str]:
    if obj is None:
        return {}
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in obj.items()):
        raise ManifestInvalid(f"{where}: expected an object of strings")
    return dict(obj)
