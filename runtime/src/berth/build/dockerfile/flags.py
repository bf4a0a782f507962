"""Builder flags (``COPY --from=build``, ``FROM --platform=...``): split from the arguments, then
checked against what each instruction accepts.

Flags are the leading words that start with ``--`` (quotes and backslashes processed, as
BuildKit's ``extractBuilderFlags``); a lone ``--`` ends them. A value is given with ``=``:
``--chown=app`` (newer BuildKit also reads ``--chown app``; this parser asks for the ``=``).
"""

from __future__ import annotations

from collections.abc import Collection

from berth.build.dockerfile.errors import DockerfileSyntaxError


def extract_flags(text: str) -> tuple[list[str], str]:
    """(flag words, the rest of the text)."""
    words: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if not text.startswith("--", i):
            return words, text[i:].strip()
        buf: list[str] = []
        quote = ""
        while i < n:
            ch = text[i]
            if not quote and ch.isspace():
                break
            i += 1
            if quote and ch == quote:
                quote = ""
                continue
            if not quote and ch in ("'", '"'):
                quote = ch
                continue
            if ch == "\\":
                if i == n:
                    break
                ch = text[i]
                i += 1
            buf.append(ch)
        word = "".join(buf)
        if word == "--":
            return words, text[i:].strip()
        words.append(word)


def parse_flags(keyword: str, words: list[str], *, accepted: Collection[str] = (),
                unsupported: Collection[str] = ()) -> dict[str, str]:
    """{name: value} of ``--name=value`` flags; every accepted flag takes a value."""
    values: dict[str, str] = {}
    for word in words:
        name, eq, value = word.removeprefix("--").partition("=")
        if name in unsupported:
            raise DockerfileSyntaxError(f"{keyword} --{name} is not supported", flag=name)
        if name not in accepted:
            raise DockerfileSyntaxError(f"{keyword}: unknown flag --{name}", flag=name)
        if name in values:
            raise DockerfileSyntaxError(f"{keyword}: duplicate flag --{name}", flag=name)
        if not eq:
            raise DockerfileSyntaxError(f"{keyword}: missing a value on flag --{name} (use --{name}=VALUE)",
                                        flag=name)
        values[name] = value
    return values
