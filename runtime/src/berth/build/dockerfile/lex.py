"""Docker's variable substitution in Dockerfile words: a port of BuildKit's shell lexer.

(moby/buildkit ``frontend/dockerfile/shell/lex.go``.) A word is read as a shell would read
it, minus everything that runs a command: ``$VAR`` and ``${VAR}``; ``${VAR:-default}``,
``${VAR-default}``, ``${VAR:+alt}``, ``${VAR+alt}``, ``${VAR:?msg}``, ``${VAR?msg}``;
``${VAR#pat}``, ``${VAR##pat}``, ``${VAR%pat}``, ``${VAR%%pat}``, ``${VAR/pat/repl}``,
``${VAR//pat/repl}``; single quotes (literal), double quotes (``$`` still expands), the escape
character (``\\`` or the backtick of ``# escape=```). Quotes and escapes are removed from the
result, as Docker does. A ``$`` not followed by a name is kept (``$.`` stays ``$.``), an
escape at the very end is dropped.

Errors are :class:`DockerfileSyntaxError` without a place, naming the word: the instruction
that expands the word adds its line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from berth.build.dockerfile.errors import DockerfileSyntaxError
from berth.build.dockerfile.lex_patterns import shell_pattern_regex, trim_prefix, trim_suffix
from berth.structs import dataclass

_EOF = ""
# POSIX special parameters ($@, $*, $#, ...): a name of one character (never set by Docker)
_SPECIAL = frozenset("@*#?-$!0")


@dataclass(frozen=True)
class ShellLex:
    """``escape`` is the Dockerfile's escape character. With ``skip_unset``, a reference to an
    unset variable is kept as written (``$X``, ``${X:-d}``), as BuildKit's ``SkipUnsetEnv``:
    the word is only unquoted, which is what ``commit --change`` wants."""

    escape: str = "\\"
    skip_unset: bool = False

    def __post_init__(self) -> None:
        if self.escape not in ("\\", "`"):
            raise DockerfileSyntaxError(f"invalid escape token '{self.escape}' does not match ` or \\")

    def process_word(self, word: str, env: Mapping[str, str]) -> str:
        """``word`` with its variables substituted and its quotes removed (spaces kept)."""
        return _ShellWord(self, word, env).process()[0]

    def process_words(self, word: str, env: Mapping[str, str]) -> list[str]:
        """The same, split on whitespace that is neither quoted nor escaped, *after* substitution
        (so ``$PORTS`` = ``"80 443"`` gives two words, as in ``EXPOSE $PORTS``)."""
        return _ShellWord(self, word, env).process()[1]


class _Error(Exception):
    """A reason, before it is tied to the word it was found in."""


class _Scanner:
    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else _EOF

    def next(self) -> str:
        ch = self.peek()
        if ch:
            self.pos += 1
        return ch


class _Words:
    """The word being built and the finished ones, for :meth:`ShellLex.process_words`."""

    def __init__(self) -> None:
        self.word = ""
        self.words: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if ch.isspace():
            if self.in_word and self.word:
                self.words.append(self.word)
                self.word, self.in_word = "", False
        else:
            self.add_raw(ch)

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def add_raw(self, text: str) -> None:
        self.word += text
        self.in_word = True

    def finish(self) -> list[str]:
        if self.word:
            self.words.append(self.word)
            self.word, self.in_word = "", False
        return self.words


class _ShellWord:
    def __init__(self, lex: ShellLex, word: str, env: Mapping[str, str]) -> None:
        self.word = word
        self.escape = lex.escape
        self.skip_unset = lex.skip_unset
        self.env = env
        self.scan = _Scanner(word)
        self.raw_escapes = False

    def process(self) -> tuple[str, list[str]]:
        try:
            return self.until(_EOF, raw_escapes=False)
        except _Error as err:
            raise DockerfileSyntaxError(f"failed to process {json.dumps(self.word, ensure_ascii=False)}: {err}",
                                        word=self.word) from None

    def until(self, stop: str, *, raw_escapes: bool) -> tuple[str, list[str]]:
        """Read up to ``stop`` (consumed) or the end; ``raw_escapes`` keeps escape characters
        (patterns need them to tell ``\\*`` from ``*``)."""
        saved, self.raw_escapes = self.raw_escapes, raw_escapes
        try:
            return self._until(stop)
        finally:
            self.raw_escapes = saved

    def _until(self, stop: str) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        scan = self.scan
        while (ch := scan.peek()) != _EOF:
            if stop and ch == stop:
                scan.next()
                return "".join(result), words.finish()
            if ch == "$":
                text = self.dollar()
                words.add_string(text)  # substituted text is split on its blanks
            elif ch in ("'", '"'):
                text = self.single_quoted() if ch == "'" else self.double_quoted()
                words.add_raw(text)  # quoted text is not
            else:
                scan.next()
                if ch == self.escape:
                    if self.raw_escapes:
                        words.add_raw(ch)
                        result.append(ch)
                    ch = scan.next()
                    if ch == _EOF:
                        break  # an escape at the end is dropped
                    words.add_raw(ch)
                else:
                    words.add_char(ch)
                text = ch
            result.append(text)
        if stop:
            raise _Error(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.finish()

    def single_quoted(self) -> str:
        # everything up to the next ' is literal: nothing can be escaped in single quotes
        self.scan.next()
        out: list[str] = []
        while (ch := self.scan.next()) != "'":
            if ch == _EOF:
                raise _Error("unterminated quote: no matching single-quote")
            out.append(ch)
        return "".join(out)

    def double_quoted(self) -> str:
        # sh(1): in double quotes, the escape character only escapes $, " and itself
        scan = self.scan
        scan.next()
        out: list[str] = []
        while True:
            ch = scan.peek()
            if ch == _EOF:
                raise _Error("unterminated quote: no matching double-quote")
            if ch == '"':
                scan.next()
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            scan.next()
            if ch == self.escape:
                if self.raw_escapes:
                    out.append(ch)
                if scan.peek() in ('"', "$", self.escape):
                    ch = scan.next()
            out.append(ch)

    def dollar(self) -> str:
        scan = self.scan
        scan.next()
        if scan.peek() != "{":
            name = self.name()
            if not name:
                return "$"  # "$." and a final "$" stay as they are
            value, found = self.lookup(name)
            return "$" + name if not found and self.skip_unset else value
        scan.next()
        first = scan.peek()
        if first == _EOF:
            raise _Error("syntax error: missing '}'")
        if first in ("{", "}", ":"):
            raise _Error("syntax error: bad substitution")
        name = self.name()
        op = scan.next()
        if op == _EOF:
            raise _Error("syntax error: missing '}'")
        if op == "}":
            value, found = self.lookup(name)
            return "${" + name + "}" if not found and self.skip_unset else value
        if op == ":" or op in ("+", "-", "?", "#", "%"):
            return self.modifier(name, op)
        if op == "/":
            return self.replace(name)
        raise _Error(f"unsupported modifier ({op}) in substitution")

    def modifier(self, name: str, op: str) -> str:
        null_is_unset = op == ":"
        if null_is_unset:
            op += self.scan.next()
        kind = op[-1:]
        try:
            word, _ = self.until("}", raw_escapes=kind in ("#", "%"))
        except _Error:
            if self.scan.peek() == _EOF:
                raise _Error("syntax error: missing '}'") from None
            raise
        value, found = self.lookup(name)
        if not found and self.skip_unset:
            return "${" + name + op + word + "}"
        empty = not found or (null_is_unset and value == "")
        if kind == "-":
            return word if empty else value
        if kind == "+":
            return "" if empty else word
        if kind == "?":
            if not found:
                raise _Error(f"{name}: {word or 'is not allowed to be unset'}")
            if null_is_unset and value == "":
                raise _Error(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        if kind in ("#", "%"):
            greedy = word.startswith(kind)  # ## and %% remove the longest match
            pattern = word[1:] if greedy else word
            try:
                if kind == "%":
                    return trim_suffix(pattern, value, greedy=greedy)
                return trim_prefix(pattern, value, greedy=greedy)
            except ValueError as err:
                raise _Error(f"invalid pattern ({pattern}) in substitution: {err}") from None
        raise _Error(f"unsupported modifier ({op}) in substitution")

    def replace(self, name: str) -> str:
        replace_all = self.scan.peek() == "/"
        if replace_all:
            self.scan.next()
        try:
            pattern, _ = self.until("/", raw_escapes=True)
        except _Error:
            if self.scan.peek() == _EOF:
                raise _Error("syntax error: missing '/' in ${}") from None
            raise
        try:
            replacement, _ = self.until("}", raw_escapes=True)
        except _Error:
            if self.scan.peek() == _EOF:
                raise _Error("syntax error: missing '}'") from None
            raise
        value, found = self.lookup(name)
        if not found and self.skip_unset:
            return "${" + name + "/" + pattern + "/" + replacement + "}"
        try:
            regex = shell_pattern_regex(pattern, greedy=True, anchored=False)
        except ValueError as err:
            raise _Error(f"invalid pattern ({pattern}) in substitution: {err}") from None
        if replace_all:
            return regex.sub(lambda _m: replacement, value)
        m = regex.search(value)
        return value[:m.start()] + replacement + value[m.end():] if m else value

    def name(self) -> str:
        """A variable name: letters, digits and _; or all the digits of a positional parameter;
        or one special parameter character."""
        scan = self.scan
        out: list[str] = []
        while (ch := scan.peek()) != _EOF:
            if not out and ch.isdecimal():
                while scan.peek().isdecimal():
                    out.append(scan.next())
                break
            if not out and ch in _SPECIAL:
                return scan.next()
            if not (ch.isalpha() or ch.isdecimal() or ch == "_"):
                break
            out.append(scan.next())
        return "".join(out)

    def lookup(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            return self.env[name], True
        return "", False
