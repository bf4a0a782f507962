"""Container names: Docker's validation rule and its adjective_surname generator."""

from __future__ import annotations

import os
from collections.abc import Sequence

from berth.containers.values import NAME_PATTERN
from berth.errors import InvalidArgument

_ADJECTIVES = (
    "admiring", "bold", "brave", "clever", "dazzling", "eager", "festive", "gallant", "happy", "jolly",
    "keen", "loving", "modest", "nifty", "optimistic", "peaceful", "quirky", "relaxed", "serene", "trusting",
    "upbeat", "vibrant", "wizardly", "youthful", "zealous",
)
_SURNAMES = (
    "babbage", "curie", "darwin", "einstein", "fermi", "galileo", "hopper", "hypatia", "kepler", "lovelace",
    "meitner", "newton", "noether", "pasteur", "ritchie", "shannon", "thompson", "turing", "wozniak", "yalow",
)


def validate_name(name: str) -> str:
    """Return the bare name (no leading "/") or raise InvalidArgument."""
    bare = name.removeprefix("/")  # a leading "/" is accepted and dropped, as Docker does
    if not NAME_PATTERN.fullmatch(bare):
        raise InvalidArgument(
            f'Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed', value=name
        )
    return bare


def random_name(attempt: int = 0) -> str:
    """``bold_turing``; after a few collisions append digits, as Docker does."""
    name = f"{_pick(_ADJECTIVES)}_{_pick(_SURNAMES)}"
    return f"{name}{_below(10)}" if attempt else name


def _below(n: int) -> int:
    """A random int in [0, n) from os.urandom (the secrets module would import hashlib and OpenSSL
    for this; the modulo bias over 2**32 is nothing for a name)."""
    return int.from_bytes(os.urandom(4), "big") % n


def _pick(words: Sequence[str]) -> str:
    return words[_below(len(words))]
