"""Member names of layer tars, and Docker's whiteout naming."""

from __future__ import annotations

WHITEOUT_PREFIX = ".wh."
#: marker whose presence makes its directory opaque (hides lower layers' content)
OPAQUE_MARKER = ".wh..wh..opq"
#: prefix of AUFS metadata entries (``.wh..wh.plnk`` ...), meaningless for overlay
WHITEOUT_META_PREFIX = ".wh..wh."
OPAQUE_XATTR = "trusted.overlay.opaque"


def clean_name(name: str) -> tuple[str, ...] | None:
    """Split a member name into components inside the layer, or None if it escapes.

    Like Docker, a leading ``/`` is dropped (``/etc/x`` is ``etc/x``) and
    ``..`` is resolved lexically; ``..`` above a rooted name stays at the root
    (``filepath.Clean("/../x")`` is ``/x``) while a relative name climbing
    above the layer (``../x``) is refused. The empty tuple is the layer root.
    """
    rooted = name.startswith("/")
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            elif not rooted:
                return None
            continue
        parts.append(part)
    return tuple(parts)
