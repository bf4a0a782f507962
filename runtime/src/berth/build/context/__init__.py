"""The build context half of ``berth build``: Docker's classic builder semantics.

* ``BuildContext``: a context directory, its ``.dockerignore`` (``IgnoreMatcher``) and
  Dockerfile; COPY/ADD sources resolved in it (``Source``) and their cache checksum;
* ``copy_into``: sources into a mounted rootfs by COPY/ADD rules, never writing outside it
  (ADD's local tars unpacked);
* ``fetch_url``: ADD's URLs; ``parse_chown``: ``--chown`` by the image's passwd and group.
"""

from __future__ import annotations

from berth.build.context.chown import parse_chown
from berth.build.context.context import BuildContext, Source
from berth.build.context.copy import copy_into
from berth.build.context.errors import CopyFailed, FetchFailed, SourceNotFound, UnsafeArchive
from berth.build.context.fetch import fetch_url
from berth.build.context.ignore import IgnoreMatcher

__all__ = [
    "BuildContext",
    "CopyFailed",
    "FetchFailed",
    "IgnoreMatcher",
    "Source",
    "SourceNotFound",
    "UnsafeArchive",
    "copy_into",
    "fetch_url",
    "parse_chown",
]
