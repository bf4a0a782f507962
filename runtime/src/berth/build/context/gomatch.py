"""Go's ``path/filepath.Match``, which Docker uses for COPY/ADD wildcards and .dockerignore syntax.

A straight port (on ``str`` code points, as Go on runes): ``*`` is any run of non-``/``
characters, ``?`` one non-``/`` character, ``[...]`` a class (``^`` negates, ``a-z`` ranges,
``\\`` escapes), ``\\`` escapes the next character. Malformed patterns raise ``BadPattern``
even when the name would not match, as Go's ``ErrBadPattern``.
"""

from __future__ import annotations


class BadPattern(ValueError):
    """syntax error in pattern (Go's ``filepath.ErrBadPattern``)."""

    def __init__(self) -> None:
        super().__init__("syntax error in pattern")


def contains_wildcards(name: str) -> bool:
    """moby's ``containsWildcards``: an unescaped ``*``, ``?`` or ``[``."""
    i = 0
    while i < len(name):
        ch = name[i]
        if ch == "\\":
            i += 1
        elif ch in "*?[":
            return True
        i += 1
    return False


def match(pattern: str, name: str) -> bool:
    """Whether ``name`` matches the shell ``pattern`` entirely; ``BadPattern`` if malformed."""
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and not chunk:
            return "/" not in name  # a trailing * matches the rest unless it has a /
        rest = _match_chunk(chunk, name)
        # the last chunk must exhaust the name, or the star may still find a later match
        if rest is not None and (not rest or pattern):
            name = rest
            continue
        if star:
            found = False
            i = 0
            while i < len(name) and name[i] != "/":  # a star cannot skip a /
                rest = _match_chunk(chunk, name[i + 1:])
                if rest is not None and not (not pattern and rest):
                    name, found = rest, True
                    break
                i += 1
            if found:
                continue
        while pattern:  # no match: the rest of the pattern must still be well formed
            _, chunk, pattern = _scan_chunk(pattern)
            _match_chunk(chunk, "")
        return False
    return not name


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    star = False
    while pattern.startswith("*"):
        pattern, star = pattern[1:], True
    in_range = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 < len(pattern):  # a trailing \ is reported by _match_chunk
                i += 1
        elif ch == "[":
            in_range = True
        elif ch == "]":
            in_range = False
        elif ch == "*" and not in_range:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _match_chunk(chunk: str, s: str) -> str | None:
    """The rest of ``s`` after ``chunk`` matched its start, or None; checks the whole chunk's syntax."""
    failed = False
    while chunk:
        if not failed and not s:
            failed = True
        ch = chunk[0]
        if ch == "[":
            r = ""
            if not failed:
                r, s = s[0], s[1:]
            chunk = chunk[1:]
            negated = chunk.startswith("^")
            if negated:
                chunk = chunk[1:]
            matched = False
            nrange = 0
            while True:
                if chunk.startswith("]") and nrange > 0:
                    chunk = chunk[1:]
                    break
                lo, chunk = _get_esc(chunk)
                hi = lo
                if chunk[0] == "-":
                    hi, chunk = _get_esc(chunk[1:])
                if lo <= r <= hi:
                    matched = True
                nrange += 1
            if matched == negated:
                failed = True
        elif ch == "?":
            if not failed:
                if s[0] == "/":
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
        else:
            if ch == "\\":
                chunk = chunk[1:]
                if not chunk:
                    raise BadPattern()
            if not failed:
                if chunk[0] != s[0]:
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
    return None if failed else s


def _get_esc(chunk: str) -> tuple[str, str]:
    if not chunk or chunk[0] in "-]":
        raise BadPattern()
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise BadPattern()
    r, rest = chunk[0], chunk[1:]
    if not rest:
        raise BadPattern()
    return r, rest
