"""Shell patterns of ``${VAR#pat}``, ``${VAR%pat}`` and ``${VAR/pat/repl}``, as BuildKit reads them.

``?`` is any one character, ``*`` any run of characters (shortest or longest), ``\\*``,
``\\?`` and ``\\\\`` are literal; bracket expressions are not supported (neither are they in
BuildKit). Errors are ``ValueError``: the lexer names the word they come from.
"""

from __future__ import annotations

import re


def shell_pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i = 0
    while i < len(pattern):
        tok = pattern[i]
        i += 1
        if tok == "*":
            out.append(star)
        elif tok == "?":
            out.append(".")
        elif tok == "\\":
            nxt = pattern[i] if i < len(pattern) else ""
            if nxt in ("}", "/"):
                continue  # they had to be escaped to stay inside ${...}; the pattern means them literally
            if nxt not in ("*", "?", "\\"):
                raise ValueError(f"invalid escape '\\{nxt}'")
            out.append("\\" + nxt)
            i += 1
        else:
            out.append(re.escape(tok))
    return re.compile("".join(out))


def trim_prefix(pattern: str, value: str, *, greedy: bool) -> str:
    m = shell_pattern_regex(pattern, greedy=greedy, anchored=True).search(value)
    return value[m.end():] if m else value


def trim_suffix(pattern: str, value: str, *, greedy: bool) -> str:
    # A regex finds the leftmost match, not the shortest rightmost one: reverse both the value
    # and the pattern (escapes kept in order) and trim a prefix instead, as BuildKit does.
    return trim_prefix(reverse_pattern(pattern), value[::-1], greedy=greedy)[::-1]


def reverse_pattern(pattern: str) -> str:
    """``a\\*c`` -> ``c\\*a``: reversed, but an escape stays in front of what it escapes."""
    units: list[str] = []
    i = 0
    while i < len(pattern):
        step = 2 if pattern[i] == "\\" and i != len(pattern) - 1 else 1
        units.append(pattern[i:i + step])
        i += step
    return "".join(reversed(units))
