"""The one error of the Dockerfile parser: a syntax (or substitution) error at a place in a file."""

from __future__ import annotations

from berth.errors import InvalidArgument


class DockerfileSyntaxError(InvalidArgument):
    """``Dockerfile:7: unknown instruction: FOO``.

    ``reason`` is the bare cause; ``file`` and ``line`` say where, when known. Errors of the
    shell lexer know neither (a word has no place), an instruction's ``expand`` knows its line,
    and the builder, which knows the file name, can complete them with :meth:`located`.
    """

    def __init__(self, reason: str, *, file: str | None = None, line: int | None = None, **data: object) -> None:
        super().__init__(_where(file, line) + reason, file=file, line=line, **data)
        self.reason = reason
        self.file = file
        self.line = line

    def located(self, *, file: str | None = None, line: int | None = None) -> DockerfileSyntaxError:
        """The same error with the place filled in where it was unknown."""
        data = {k: v for k, v in self.data.items() if k not in ("file", "line")}
        return DockerfileSyntaxError(self.reason, file=self.file or file, line=self.line or line, **data)


def _where(file: str | None, line: int | None) -> str:
    if file and line:
        return f"{file}:{line}: "
    if file:
        return f"{file}: "
    if line:
        return f"line {line}: "
    return ""
