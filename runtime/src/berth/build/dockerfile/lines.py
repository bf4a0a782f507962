"""From the text of a Dockerfile to its logical lines, as BuildKit's parser joins them.

* Parser directives (``# escape=```, ``# syntax=...``, ``# check=...``) count only at the very
  top: the first line that is not one (an instruction, any other comment, a blank line) ends
  them. A directive may be given once; ``escape`` must be ``\\`` or a backtick.
* A line whose last non-blank character is the escape character continues on the next one;
  the escape (and the blanks after it) are removed and the lines are joined as they are (the
  continuation keeps its indentation, as in Docker). An escaped escape at the end
  (``foo\\\\``) does not continue. A continuation at the end of the file just ends there.
* Comment lines (``#`` after optional blanks) are dropped, also in the middle of a
  continuation; so are blank lines inside a continuation (Docker warns about them: the
  warning is kept in :attr:`Source.warnings`). ``#`` anywhere else is not a comment.
* A UTF-8 byte order mark at the start and ``\\r`` at line ends are ignored.
"""

from __future__ import annotations

import re

from berth.build.dockerfile.errors import DockerfileSyntaxError
from berth.structs import dataclass

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_KNOWN_DIRECTIVES = ("escape", "syntax", "check")


@dataclass(frozen=True)
class LogicalLine:
    text: str  # continuation characters removed, comment lines dropped, left blanks stripped
    line: int  # 1-based line where it starts
    end_line: int


@dataclass(frozen=True)
class Source:
    escape: str
    directives: tuple[tuple[str, str], ...]  # (lower-cased name, value), in file order
    lines: tuple[LogicalLine, ...]
    warnings: tuple[str, ...] = ()

    def directive(self, name: str) -> str | None:
        return dict(self.directives).get(name)


def split_lines(text: str, filename: str = "Dockerfile") -> Source:
    physical = text.removeprefix("\ufeff").split("\n")
    reader = _Directives(filename)
    lines: list[LogicalLine] = []
    warnings: list[str] = []
    i = 0
    while i < len(physical):
        raw = physical[i].removesuffix("\r")
        i += 1
        start = i
        stripped = raw.lstrip()
        reader.feed(stripped, start)
        line, ended = _trim_continuation(_strip_comment(stripped), reader.escape)
        if ended and not line:
            continue
        empty_continuation = False
        while not ended and i < len(physical):
            raw = physical[i].removesuffix("\r")
            i += 1
            if _is_comment(raw):
                continue
            if not raw.strip():
                empty_continuation = True
                continue
            more, ended = _trim_continuation(raw, reader.escape)
            line += more
        if empty_continuation:
            warnings.append(f"{filename}:{start}: empty continuation line found in: {line.strip()}")
        lines.append(LogicalLine(text=line, line=start, end_line=i))
    return Source(escape=reader.escape, directives=tuple(reader.seen.items()), lines=tuple(lines),
                  warnings=tuple(warnings))


class _Directives:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.escape = "\\"
        self.seen: dict[str, str] = {}
        self.done = False

    def feed(self, line: str, number: int) -> None:
        if self.done:
            return
        m = _DIRECTIVE.match(line)
        name = m.group(1).lower() if m else ""
        if name not in _KNOWN_DIRECTIVES:
            self.done = True  # anything else (instruction, comment, blank line) ends the directives
            return
        assert m is not None
        if name in self.seen:
            raise DockerfileSyntaxError(f"only one {name} parser directive can be used", file=self.filename,
                                        line=number)
        value = m.group(2)
        if name == "escape" and value not in ("\\", "`"):
            raise DockerfileSyntaxError(f"invalid escape token '{value}' does not match ` or \\",
                                        file=self.filename, line=number)
        self.seen[name] = value
        if name == "escape":
            self.escape = value


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _strip_comment(line: str) -> str:
    return "" if line.startswith("#") else line


def _trim_continuation(line: str, escape: str) -> tuple[str, bool]:
    """(line without its continuation, whether the logical line ends here)."""
    body = line.rstrip(" \t")
    if not body.endswith(escape):
        return line, True
    before = body[:-1]
    if before.endswith(escape):
        return line, True  # an escaped escape, not a continuation (BuildKit's regex agrees)
    return before, False
