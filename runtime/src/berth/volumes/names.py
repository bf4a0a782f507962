"""Volume names: Docker's rule for local volumes, and random names for anonymous ones."""

from __future__ import annotations

import os
import re

from berth.errors import InvalidArgument

# Docker's local driver: volume/local/local.go `validName`.
_VALID = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
# Not a Docker limit: the name becomes a directory, a lock file and a staging-dir component,
# all of which must fit in NAME_MAX (255); refusing here beats an ENAMETOOLONG later.
MAX_LEN = 240


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not _VALID.fullmatch(name):
        raise InvalidArgument(
            f'invalid volume name "{name}": "{name}" includes invalid characters for a local volume name, '
            'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, '
            "use absolute path", name=name)
    if len(name) > MAX_LEN:
        raise InvalidArgument(f'invalid volume name "{name[:32]}…": longer than {MAX_LEN} characters', name=name)
    return name


def random_name() -> str:
    """64 hex digits, like Docker's anonymous volumes."""
    return os.urandom(32).hex()  # secrets.token_hex, without importing secrets (hashlib, OpenSSL)
