"""How BuildKit's parser cuts an instruction's text into arguments (before any substitution).

Quotes and escapes are *kept* here: removing them is the shell lexer's work, done when an
instruction is expanded (``instructions`` explains which are).
"""

from __future__ import annotations

import json
import re

from berth.build.dockerfile.errors import DockerfileSyntaxError

_BLANKS = re.compile(r"[\t\v\f\r ]+")
_HEREDOC = re.compile(r"^\d*<<-?(['\"]?)[A-Za-z_][A-Za-z0-9_]*\1$")
_HEREDOC_OPERATOR = re.compile(r"^\d*<<-?$")
_NAME = re.compile(r"^['\"]?[A-Za-z_][A-Za-z0-9_]*['\"]?$")


def split_blanks(text: str) -> list[str]:
    """Whitespace-separated words, quotes not considered (FROM, EXPOSE, VOLUME without JSON)."""
    return [w for w in _BLANKS.split(text.strip()) if w] if text.strip() else []


def split_keyword(text: str) -> tuple[str, str]:
    """(keyword as written, the rest)."""
    parts = _BLANKS.split(text.strip(), maxsplit=1)
    return parts[0], parts[1] if len(parts) > 1 else ""


def parse_words(text: str, escape: str) -> list[str]:
    """Words split on blanks outside quotes; quotes and escapes kept in the words (BuildKit's
    ``parseWords``). An escape at the very end is dropped."""
    words: list[str] = []
    buf: list[str] = []
    quote = ""
    blank_ok = in_word = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        i += 1
        if quote:
            if ch == quote:
                quote = ""
            elif ch == escape and quote != "'":  # nothing can be escaped in single quotes
                if i == n:
                    break
                buf.append(ch)
                ch = text[i]
                i += 1
            buf.append(ch)
            continue
        if ch.isspace():
            if in_word and (blank_ok or buf):
                words.append("".join(buf))
            buf, blank_ok, in_word = [], False, False
            continue
        in_word = True
        if ch in ("'", '"'):
            quote, blank_ok = ch, True
        elif ch == escape:
            if i == n:
                break
            buf.append(ch)
            ch = text[i]
            i += 1
        buf.append(ch)
    if in_word and (blank_ok or buf):
        words.append("".join(buf))
    return words


def name_values(keyword: str, text: str, escape: str) -> list[tuple[str, str]]:
    """ENV and LABEL: ``k=v k2="v 2"``, or the legacy ``key the value`` (one pair, the value
    being the rest of the line). Which form is told by the first word: an ``=`` in it means
    the new one."""
    words = parse_words(text, escape)
    if not words:
        raise DockerfileSyntaxError(f"{keyword} requires at least one argument")
    if "=" not in words[0]:
        parts = _BLANKS.split(text.strip(), maxsplit=1)
        if len(parts) < 2:
            raise DockerfileSyntaxError(f"{keyword} must have two arguments")
        pairs = [(parts[0], parts[1])]
    else:
        pairs = []
        for word in words:
            if "=" not in word:
                raise DockerfileSyntaxError(f'{keyword}: "{word}" is not of the form key=value (no = found)')
            key, _, value = word.partition("=")
            pairs.append((key, value))
    if any(not key for key, _ in pairs):
        raise DockerfileSyntaxError(f"{keyword} names can not be blank")
    return pairs


def maybe_json(text: str) -> list[str] | None:
    """The JSON array of strings ``text`` is, or None when it is not JSON (then it is the
    shell form). An array of something else is an error, as in Docker."""
    text = text.lstrip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(item, str) for item in value):
        raise DockerfileSyntaxError("when using JSON array syntax, arrays must be comprised of strings only")
    return value


def json_or_blanks(text: str) -> tuple[list[str], bool]:
    """COPY, ADD, VOLUME: (arguments, whether they came from a JSON array)."""
    argv = maybe_json(text)
    return (argv, True) if argv is not None else (split_blanks(text), False)


def has_heredoc(words: list[str]) -> bool:
    """Whether shell words contain a heredoc (``<<EOF``, ``<<-'EOF'``, ``<< EOF``), which BuildKit
    reads from the following lines of the Dockerfile and this parser does not support."""
    for i, word in enumerate(words):
        if _HEREDOC.match(word):
            return True
        if _HEREDOC_OPERATOR.match(word) and i + 1 < len(words) and _NAME.match(words[i + 1]):
            return True
    return False
