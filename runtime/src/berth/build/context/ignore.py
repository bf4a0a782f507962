""".dockerignore: which files of the build context Docker leaves out.

A port of moby/patternmatcher (``New``, ``MatchesOrParentMatches``, the pattern-to-regexp
compiler) and of its ``ignorefile.ReadAll``, plus the rule of the CLI's context walk
(``archive.TarWithOptions``) for excluded directories:

* lines starting with ``#`` are comments, blank lines are skipped, a UTF-8 BOM is dropped;
* patterns are trimmed and cleaned (``filepath.Clean``), a leading ``/`` is dropped;
* ``*`` and ``?`` do not cross ``/``, ``**`` matches any number of directories, ``[..]`` and ``\\``;
* ``!pattern`` re-includes; later patterns win;
* a pattern matching a parent directory excludes everything below it; such a directory is
  still walked (its entry left out) when an exception pattern starts with its path, so
  ``dir`` + ``!dir/keep`` keeps ``dir/keep`` and nothing else of ``dir``.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from berth.build.context.gomatch import BadPattern, match
from berth.errors import InvalidArgument
from berth.rootpath import Pick
from berth.structs import dataclass

#: characters that are special in a regexp but not in filepath.Match (patternmatcher's escapeBytes)
_ESCAPE = frozenset(".+()|{}$")


def go_clean(path: str) -> str:
    """Go's ``filepath.Clean`` (``posixpath.normpath`` keeps a leading ``//``, Go does not)."""
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


@dataclass(frozen=True)
class Pattern:
    text: str  # cleaned, without the "!"
    exclusion: bool  # a "!" pattern: re-includes
    kind: str  # "exact", "prefix" (dir/**), "suffix" (**/name) or "regexp"
    regexp: re.Pattern[str] | None = None

    @classmethod
    def compile(cls, text: str, exclusion: bool) -> Pattern:
        """patternmatcher's ``Pattern.compile``, with Python's ``\\Z`` for Go's ``$``."""
        regex, kind = "^", "exact"
        i, n = 0, len(text)
        while i < n:
            start, ch = i, text[i]
            i += 1
            if ch == "*":
                if i < n and text[i] == "*":  # some flavour of **
                    i += 1
                    if i < n and text[i] == "/":  # **/ is ** (eat the /)
                        i += 1
                    if i >= n:  # ** at the end: like .gitignore, everything
                        if kind == "exact":
                            kind = "prefix"
                        else:
                            regex += ".*"
                            kind = "regexp"
                    else:  # any number of directories, even none
                        regex += "(.*/)?"
                        kind = "regexp"
                    if start == 0:  # ** at the start of the pattern
                        kind = "suffix"
                else:
                    regex += "[^/]*"
                    kind = "regexp"
            elif ch == "?":
                regex += "[^/]"
                kind = "regexp"
            elif ch in _ESCAPE:
                regex += "\\" + ch
            elif ch == "\\":
                if i < n:  # escape the next character
                    regex += "\\" + text[i]
                    i += 1
                    kind = "regexp"
                else:
                    regex += "\\\\"
            elif ch in "[]":
                regex += ch
                kind = "regexp"
            else:
                regex += ch  # as Go: "^" stays an anchor, class syntax passes through
        if kind != "regexp":
            return cls(text, exclusion, kind)
        try:
            return cls(text, exclusion, kind, re.compile(regex + r"\Z"))
        except re.error:
            raise BadPattern() from None

    def matches(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            if path.endswith(suffix):
                return True
            return suffix.startswith("/") and path == suffix[1:]  # **/foo matches "foo"
        assert self.regexp is not None
        return self.regexp.match(path) is not None


@dataclass(frozen=True)
class IgnoreMatcher:
    patterns: tuple[Pattern, ...] = ()

    @classmethod
    def parse(cls, text: str) -> IgnoreMatcher:
        """The patterns of a .dockerignore's text; InvalidArgument naming a malformed one."""
        return cls.from_patterns(_read_all(text))

    @classmethod
    def from_file(cls, path: Path) -> IgnoreMatcher:
        """The patterns of the file at ``path``; no patterns if it does not exist."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return cls()
        return cls.parse(data.decode("utf-8", "surrogateescape"))

    @classmethod
    def from_patterns(cls, lines: list[str]) -> IgnoreMatcher:
        """patternmatcher's ``New``."""
        out = []
        for line in lines:
            p = line.strip()
            if not p:
                continue
            p = go_clean(p)
            exclusion = p.startswith("!")
            if exclusion:
                if len(p) == 1:
                    raise InvalidArgument('illegal exclusion pattern in .dockerignore: "!"', pattern=line)
                p = p[1:]
            try:
                match(p, ".")  # Go's syntax check
                out.append(Pattern.compile(p, exclusion))
            except BadPattern:
                raise InvalidArgument(f"invalid .dockerignore pattern {line!r}: syntax error in pattern",
                                      pattern=line) from None
        return cls(tuple(out))

    @property
    def exclusions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def matches(self, path: str) -> bool:
        """patternmatcher's ``MatchesOrParentMatches`` for a clean, slash-separated relative path."""
        if path in ("", "."):
            return False  # the context itself is never excluded
        parent = posixpath.dirname(path)
        parents = parent.split("/") if parent else []
        matched = False
        for p in self.patterns:
            if p.exclusion != matched:
                continue  # an inclusion already matched, or an exclusion with nothing to exclude
            hit = p.matches(path)
            if not hit:
                hit = any(p.matches("/".join(parents[: i + 1])) for i in range(len(parents)))
            if hit:
                matched = not p.exclusion
        return matched

    def pick(self, path: str, is_dir: bool) -> Pick:
        """What Docker's context walk does with ``path`` once its parent directory was walked."""
        if not self.patterns or not self.matches(path):
            return Pick.INCLUDE
        if not is_dir:
            return Pick.EXCLUDE
        prefix = path + "/"
        if any(p.exclusion and (p.text + "/").startswith(prefix) for p in self.patterns):
            return Pick.DESCEND  # an exception may re-include something below
        return Pick.EXCLUDE

    def ignored(self, relpath: str, is_dir: bool = False) -> bool:
        """Whether ``relpath`` (relative to the context) is left out of the context Docker sends.

        A directory that is excluded but walked for an exception below it is not ignored:
        it exists to hold what is re-included."""
        path = go_clean(relpath).lstrip("/")
        if path in ("", "."):
            return False
        parts = path.split("/")
        for i in range(1, len(parts)):
            if self.pick("/".join(parts[:i]), True) is Pick.EXCLUDE:
                return True
        return self.pick(path, is_dir) is Pick.EXCLUDE


def _read_all(text: str) -> list[str]:
    """ignorefile's ``ReadAll``: the patterns of a .dockerignore."""
    out = []
    for number, raw in enumerate(text.splitlines()):
        line = raw.removeprefix("\ufeff") if number == 0 else raw
        if line.startswith("#"):  # before trimming, as Docker: " # x" is a pattern
            continue
        line = line.strip()
        if not line:
            continue
        invert = line.startswith("!")
        if invert:
            line = line[1:].strip()
        if line:
            line = go_clean(line)
            if len(line) > 1 and line.startswith("/"):
                line = line[1:]
        out.append("!" + line if invert else line)
    return out
