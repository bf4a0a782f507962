"""Image references, normalised the way Docker does.

``busybox`` -> ``docker.io/library/busybox:latest``;
``localhost:9000/app@sha256:...`` keeps registry, repository and digest.
"""

from __future__ import annotations

import re

from berth.errors import InvalidReference
from berth.reference.digest import Digest
from berth.structs import dataclass, replace

DEFAULT_REGISTRY = "docker.io"
DEFAULT_TAG = "latest"
#: Docker Hub's API endpoint differs from its name in references.
_API_HOSTS = {"docker.io": "registry-1.docker.io"}
_REGISTRY_ALIASES = {"index.docker.io": "docker.io", "registry-1.docker.io": "docker.io"}

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DOMAIN = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?))*"
    r"(?::[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]+)?$"
)
_MAX_NAME = 255


def _looks_like_domain(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost" or component.startswith("[")


@dataclass(frozen=True)
class Reference:
    registry: str
    repository: str
    tag: str | None = None
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str, *, default_tag: bool = True) -> Reference:
        """Parse and normalise; a bare name gets the ``latest`` tag unless a digest is given."""
        if not isinstance(text, str) or not text or text != text.strip():
            raise InvalidReference(f"invalid reference format: {text!r}", value=text)
        rest, digest = text, None
        if "@" in rest:
            rest, _, dig = rest.partition("@")
            digest = Digest.parse(dig)
        tag = None
        last_slash = rest.rfind("/")
        colon = rest.rfind(":")
        if colon > last_slash:
            rest, tag = rest[:colon], rest[colon + 1 :]
            if not _TAG.match(tag):
                raise InvalidReference(f"invalid reference format: invalid tag {tag!r} in {text!r}", value=text)
        if not rest:
            raise InvalidReference(f"invalid reference format: empty name in {text!r}", value=text)
        parts = rest.split("/")
        if len(parts) > 1 and _looks_like_domain(parts[0]):
            registry, path = parts[0], parts[1:]
            if not _DOMAIN.match(registry):
                raise InvalidReference(f"invalid reference format: bad registry {registry!r} in {text!r}", value=text)
            registry = _REGISTRY_ALIASES.get(registry, registry)
        else:
            registry, path = DEFAULT_REGISTRY, parts
        if registry == DEFAULT_REGISTRY and len(path) == 1:
            path = ["library", *path]
        for comp in path:
            if not _COMPONENT.match(comp):
                hint = " (repository name must be lowercase)" if comp.lower() != comp else ""
                raise InvalidReference(
                    f"invalid reference format: bad name component {comp!r} in {text!r}{hint}", value=text
                )
        repository = "/".join(path)
        if len(registry) + 1 + len(repository) > _MAX_NAME:
            raise InvalidReference(f"invalid reference format: name longer than {_MAX_NAME} characters", value=text)
        if tag is None and digest is None and default_tag:
            tag = DEFAULT_TAG
        return cls(registry, repository, tag, digest)

    # -- views -------------------------------------------------------------
    @property
    def name(self) -> str:
        """Fully qualified repository name: ``docker.io/library/busybox``."""
        return f"{self.registry}/{self.repository}"

    @property
    def familiar_name(self) -> str:
        """What Docker shows: ``busybox``, ``user/app``, ``localhost:9000/app``."""
        if self.registry == DEFAULT_REGISTRY:
            return self.repository.removeprefix("library/")
        return self.name

    @property
    def api_host(self) -> str:
        return _API_HOSTS.get(self.registry, self.registry)

    def with_tag(self, tag: str) -> Reference:
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: Digest) -> Reference:
        return replace(self, tag=None, digest=digest)

    @property
    def lookup(self) -> str:
        """Tag or digest to ask a registry for (digest wins)."""
        return str(self.digest) if self.digest else (self.tag or DEFAULT_TAG)

    @property
    def index_key(self) -> str:
        """The store's name-index key: ``name:tag``, or ``name@digest`` when a digest is given."""
        return f"{self.name}@{self.digest}" if self.digest else f"{self.name}:{self.tag}"

    def familiar(self) -> str:
        return self._fmt(self.familiar_name)

    def __str__(self) -> str:
        return self._fmt(self.name)

    def _fmt(self, name: str) -> str:
        out = name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def familiar_key(key: str) -> str:
    """A name-index key as Docker shows it: ``docker.io/library/busybox:1`` -> ``busybox:1``."""
    if "@" in key:
        name, _, digest = key.partition("@")
        return f"{Reference.parse(name, default_tag=False).familiar_name}@{digest}"
    return Reference.parse(key).familiar()
