"""Errors of the build context: what COPY/ADD could not find, copy, unpack or download."""

from __future__ import annotations

from berth.errors import BerthError, NotFound


class SourceNotFound(NotFound):
    """A COPY/ADD source matches nothing in the build context (or only ignored files)."""


class CopyFailed(BerthError):
    """COPY/ADD could not write its sources into the image (Docker's path rules, or the filesystem)."""


class UnsafeArchive(CopyFailed):
    """An ADD tar tried to write outside its destination, or is malformed."""


class FetchFailed(BerthError):
    """ADD could not download a URL (bad scheme, unreachable, HTTP error status)."""
