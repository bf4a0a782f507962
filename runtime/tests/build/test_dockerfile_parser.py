"""The Dockerfile parser: logical lines, directives, every instruction and form, stages, errors
with file:line, and expansion (which instruction substitutes what, with which environment)."""

from __future__ import annotations

import pytest

from berth.build.dockerfile import (
    Dockerfile,
    DockerfileSyntaxError,
    ShellLex,
    Stage,
    parse_dockerfile,
    parse_instructions,
    parse_line,
)
from berth.build.dockerfile import instructions as ins
from berth.errors import InvalidArgument


def one(text: str) -> ins.Instruction:
    return parse_line(text, line=1)


# -- every instruction and form -------------------------------------------------------------
I = {"line": 1}  # noqa: E741 - the common field, original is the text itself

FORMS = [
    ("FROM busybox", ins.From(image="busybox", stage_name=None, platform=None, **I, original="FROM busybox")),
    ("FROM busybox:1.36 AS Build", ins.From(image="busybox:1.36", stage_name="build", platform=None, **I,
                                            original="FROM busybox:1.36 AS Build")),
    ("from --platform=linux/arm64 alpine as b-1.x", ins.From(image="alpine", stage_name="b-1.x",
                                                             platform="linux/arm64", **I,
                                                             original="from --platform=linux/arm64 alpine as b-1.x")),
    ("FROM $BASE", ins.From(image="$BASE", stage_name=None, platform=None, **I, original="FROM $BASE")),
    ("RUN echo hello  world", ins.Run(command=("echo hello  world",), shell_form=True, **I,
                                      original="RUN echo hello  world")),
    ('RUN ["echo", "hello world"]', ins.Run(command=("echo", "hello world"), shell_form=False, **I,
                                            original='RUN ["echo", "hello world"]')),
    ("RUN [not json", ins.Run(command=("[not json",), shell_form=True, **I, original="RUN [not json")),
    ('RUN ["a"] trailing', ins.Run(command=('["a"] trailing',), shell_form=True, **I,
                                   original='RUN ["a"] trailing')),
    ("CMD echo $HOME", ins.Cmd(command=("echo $HOME",), shell_form=True, **I, original="CMD echo $HOME")),
    ('CMD ["python", "app.py"]', ins.Cmd(command=("python", "app.py"), shell_form=False, **I,
                                        original='CMD ["python", "app.py"]')),
    ("CMD []", ins.Cmd(command=(), shell_form=False, **I, original="CMD []")),
    ('ENTRYPOINT ["/bin/busybox", "sh"]', ins.Entrypoint(command=("/bin/busybox", "sh"), shell_form=False, **I,
                                                         original='ENTRYPOINT ["/bin/busybox", "sh"]')),
    ("ENTRYPOINT exec top -b", ins.Entrypoint(command=("exec top -b",), shell_form=True, **I,
                                              original="ENTRYPOINT exec top -b")),
    ("ENTRYPOINT []", ins.Entrypoint(command=(), shell_form=False, **I, original="ENTRYPOINT []")),
    ("COPY app.py /app", ins.Copy(sources=("app.py",), dest="/app", from_=None, chown=None, chmod=None, **I,
                                  original="COPY app.py /app")),
    ("COPY ./* /usr/share/gitdir/", ins.Copy(sources=("./*",), dest="/usr/share/gitdir/", from_=None, chown=None,
                                             chmod=None, **I, original="COPY ./* /usr/share/gitdir/")),
    ('COPY ["a b", "c", "/x/"]', ins.Copy(sources=("a b", "c"), dest="/x/", from_=None, chown=None, chmod=None,
                                          **I, original='COPY ["a b", "c", "/x/"]')),
    ("COPY --from=build --chown=app:app --chmod=0755 /out /bin/",
     ins.Copy(sources=("/out",), dest="/bin/", from_="build", chown="app:app", chmod="0755", **I,
              original="COPY --from=build --chown=app:app --chmod=0755 /out /bin/")),
    ('COPY --chown="app user" a b', ins.Copy(sources=("a",), dest="b", from_=None, chown="app user", chmod=None,
                                             **I, original='COPY --chown="app user" a b')),
    ("COPY -- --weird-name /x", ins.Copy(sources=("--weird-name",), dest="/x", from_=None, chown=None, chmod=None,
                                         **I, original="COPY -- --weird-name /x")),
    ("ADD . /app", ins.Add(sources=(".",), dest="/app", chown=None, chmod=None, checksum=None, **I,
                           original="ADD . /app")),
    ("ADD --checksum=sha256:abc https://example.com/a.tgz /tmp/",
     ins.Add(sources=("https://example.com/a.tgz",), dest="/tmp/", chown=None, chmod=None, checksum="sha256:abc",
             **I, original="ADD --checksum=sha256:abc https://example.com/a.tgz /tmp/")),
    ('ADD ["x y.tar", "/opt/"]', ins.Add(sources=("x y.tar",), dest="/opt/", chown=None, chmod=None, checksum=None,
                                         **I, original='ADD ["x y.tar", "/opt/"]')),
    ("WORKDIR /home/alexwoo", ins.Workdir(path="/home/alexwoo", **I, original="WORKDIR /home/alexwoo")),
    ("WORKDIR $HOME/x", ins.Workdir(path="$HOME/x", **I, original="WORKDIR $HOME/x")),
    ("ENV NAME World", ins.Env(pairs=(("NAME", "World"),), **I, original="ENV NAME World")),
    ("ENV LEGACY a value  with spaces", ins.Env(pairs=(("LEGACY", "a value  with spaces"),), **I,
                                                original="ENV LEGACY a value  with spaces")),
    ('ENV A=1 B="two words" C=x\\ y D=', ins.Env(pairs=(("A", "1"), ("B", '"two words"'), ("C", "x\\ y"), ("D", "")),
                                                 **I, original='ENV A=1 B="two words" C=x\\ y D=')),
    ("ARG VERSION", ins.Arg(pairs=(("VERSION", None),), **I, original="ARG VERSION")),
    ('ARG a=1 b c="x y" d=', ins.Arg(pairs=(("a", "1"), ("b", None), ("c", '"x y"'), ("d", "")), **I,
                                     original='ARG a=1 b c="x y" d=')),
    ("EXPOSE 5000", ins.Expose(ports=("5000",), **I, original="EXPOSE 5000")),
    ("EXPOSE 80/tcp 53/udp $PORT", ins.Expose(ports=("80/tcp", "53/udp", "$PORT"), **I,
                                               original="EXPOSE 80/tcp 53/udp $PORT")),
    ("USER alexwoo", ins.User(user="alexwoo", **I, original="USER alexwoo")),
    ("USER app:app", ins.User(user="app:app", **I, original="USER app:app")),
    ('VOLUME ["/data"]', ins.Volume(paths=("/data",), **I, original='VOLUME ["/data"]')),
    ("VOLUME /data /logs", ins.Volume(paths=("/data", "/logs"), **I, original="VOLUME /data /logs")),
    ('LABEL a=b "c d"="e f"', ins.Label(pairs=(("a", "b"), ('"c d"', '"e f"')), **I,
                                        original='LABEL a=b "c d"="e f"')),
    ("LABEL maintainer someone@example.com", ins.Label(pairs=(("maintainer", "someone@example.com"),), **I,
                                                       original="LABEL maintainer someone@example.com")),
    ("MAINTAINER alexwoo<wj19840501@gmail.com>", ins.Maintainer(name="alexwoo<wj19840501@gmail.com>", **I,
                                                                original="MAINTAINER alexwoo<wj19840501@gmail.com>")),
    ("MAINTAINER Jane Doe", ins.Maintainer(name="Jane Doe", **I, original="MAINTAINER Jane Doe")),
    ("STOPSIGNAL SIGQUIT", ins.StopSignal(signal="SIGQUIT", **I, original="STOPSIGNAL SIGQUIT")),
    ("HEALTHCHECK NONE", ins.Healthcheck(test=("NONE",), **I, original="HEALTHCHECK NONE")),
    ("HEALTHCHECK CMD curl -f http://localhost/ || exit 1",
     ins.Healthcheck(test=("CMD-SHELL", "curl -f http://localhost/ || exit 1"), **I,
                     original="HEALTHCHECK CMD curl -f http://localhost/ || exit 1")),
    ('HEALTHCHECK cmd ["true"]', ins.Healthcheck(test=("CMD", "true"), **I, original='HEALTHCHECK cmd ["true"]')),
    ("HEALTHCHECK --interval=30s --timeout=1m30s --start-period=5s --start-interval=500ms --retries=3 CMD true",
     ins.Healthcheck(test=("CMD-SHELL", "true"), interval=30_000_000_000, timeout=90_000_000_000,
                     start_period=5_000_000_000, start_interval=500_000_000, retries=3, **I,
                     original="HEALTHCHECK --interval=30s --timeout=1m30s --start-period=5s --start-interval=500ms "
                              "--retries=3 CMD true")),
    ("HEALTHCHECK --interval=0 --retries=0 CMD true",
     ins.Healthcheck(test=("CMD-SHELL", "true"), **I, original="HEALTHCHECK --interval=0 --retries=0 CMD true")),
    ('SHELL ["powershell", "-command"]', ins.Shell(command=("powershell", "-command"), **I,
                                                   original='SHELL ["powershell", "-command"]')),
    ("ONBUILD RUN echo built", ins.Onbuild(expression="RUN echo built", **I, original="ONBUILD RUN echo built")),
    ("onbuild  COPY --from=x a b", ins.Onbuild(expression="COPY --from=x a b", **I,
                                               original="onbuild  COPY --from=x a b")),
]


@pytest.mark.parametrize(("text", "expected"), FORMS, ids=[t for t, _ in FORMS])
def test_every_instruction_and_form(text: str, expected: ins.Instruction) -> None:
    assert one(text) == expected


def test_keywords_are_class_attributes_in_upper_case() -> None:
    assert {cls.keyword for cls in ins.KEYWORDS.values()} == set(ins.KEYWORDS)
    assert one("run x").keyword == "RUN"
    assert ins.Run.keyword == "RUN"


def test_instructions_are_immutable() -> None:
    instr = one("USER app")
    with pytest.raises(AttributeError):
        instr.user = "root"  # type: ignore[misc]


# -- logical lines and directives ----------------------------------------------------------
def test_continuations_comments_and_blank_lines() -> None:
    df = parse_dockerfile(
        "\n"
        "# a comment\n"
        "FROM busybox\n"
        "\n"
        "RUN echo a \\\n"
        "  # a comment inside the continuation is dropped\n"
        "    && echo b \\\n"
        "#also this one\n"
        "    && echo c\n"
        "   RUN   echo indented # not a comment\n"
    )
    run, indented = df.stages[0].instructions
    # the continuation keeps its indentation, as in Docker
    assert run == ins.Run(command=("echo a     && echo b     && echo c",), shell_form=True, line=5,
                          original="RUN echo a     && echo b     && echo c")
    assert indented.line == 10
    assert indented.command == ("echo indented # not a comment",)
    assert df.warnings == ()


def test_empty_continuation_lines_are_skipped_with_a_warning() -> None:
    df = parse_dockerfile("FROM busybox\nRUN echo a \\\n\n   \n  b\nCMD x\n")
    run, cmd = df.stages[0].instructions
    assert run.command == ("echo a   b",)
    assert (run.line, cmd.line) == (2, 6)
    assert df.warnings == ("Dockerfile:2: empty continuation line found in: RUN echo a   b",)


def test_continuation_at_the_end_of_the_file_just_ends() -> None:
    df = parse_dockerfile("FROM busybox\nRUN echo a \\")
    assert df.stages[0].instructions[0] == ins.Run(command=("echo a",), shell_form=True, line=2, original="RUN echo a")


def test_a_line_that_is_only_a_continuation_joins_the_next() -> None:
    df = parse_dockerfile("FROM busybox\n\\\nRUN x")
    assert df.stages[0].instructions[0] == ins.Run(command=("x",), shell_form=True, line=2, original="RUN x")


def test_an_escaped_escape_at_the_end_does_not_continue() -> None:
    df = parse_dockerfile("FROM busybox\nRUN echo a\\\\\nCMD x")
    run, cmd = df.stages[0].instructions
    assert run.command == ("echo a\\\\",)
    assert cmd.keyword == "CMD"


def test_blanks_after_the_continuation_character() -> None:
    df = parse_dockerfile("FROM busybox\nRUN a \\ \t\n b")
    assert df.stages[0].instructions[0].command == ("a  b",)


def test_crlf_and_byte_order_mark() -> None:
    df = parse_dockerfile("\ufeffFROM busybox\r\nRUN a \\\r\n b\r\nCMD [\"x\"]\r\n")
    run, cmd = df.stages[0].instructions
    assert run.command == ("a  b",)
    assert cmd.command == ("x",)


# From Docker's documentation: with escape=` a Windows path can end in a backslash.
WINDOWS_DOCKERFILE = """\
# escape=`

FROM mcr.microsoft.com/windows/servercore
COPY testfile.txt c:\\
RUN dir c:\\
RUN powershell -command `
    Write-Host hello
"""


def test_escape_directive_backtick() -> None:
    df = parse_dockerfile(WINDOWS_DOCKERFILE)
    assert df.escape == "`"
    copy, dir_, ps = df.stages[0].instructions
    assert copy.dest == "c:\\"
    assert dir_.command == ("dir c:\\",)
    assert ps.command == ("powershell -command     Write-Host hello",)
    assert ps.line == 6
    assert copy.expand(ShellLex(df.escape), {}).dest == "c:\\"


def test_without_the_directive_the_backslash_continues() -> None:
    # Docker's documentation shows this very surprise: the lines are joined, and the next one
    # is read as an instruction
    text = WINDOWS_DOCKERFILE.replace("# escape=`\n", "")
    with pytest.raises(DockerfileSyntaxError, match=r"^Dockerfile:6: unknown instruction: WRITE-HOST$"):
        parse_dockerfile(text)
    df = parse_dockerfile(text.replace("    Write-Host hello\n", ""))
    assert df.escape == "\\"
    (copy,) = df.stages[0].instructions
    assert copy.original == "COPY testfile.txt c:RUN dir c:RUN powershell -command `"


@pytest.mark.parametrize(
    ("text", "escape", "syntax"),
    [
        ("#escape=`\nFROM x\n", "`", None),
        ("# ESCAPE = ` \nFROM x\n", "`", None),
        ("# syntax=docker/dockerfile:1\n# escape=`\nFROM x\n", "`", "docker/dockerfile:1"),
        ("# escape=\\\nFROM x\n", "\\", None),
        # directives only count at the very top: a comment, a blank line or an unknown
        # directive before them makes them comments
        ("# hello\n# escape=`\nFROM x\n", "\\", None),
        ("\n# escape=`\nFROM x\n", "\\", None),
        ("# unknown=1\n# escape=`\nFROM x\n", "\\", None),
        ("FROM x\n# escape=`\n", "\\", None),
        ("# syntax=docker/dockerfile:1.4\nFROM x\n# syntax=other\n", "\\", "docker/dockerfile:1.4"),
    ],
)
def test_parser_directives(text: str, escape: str, syntax: str | None) -> None:
    df = parse_dockerfile(text)
    assert (df.escape, df.syntax) == (escape, syntax)


# -- stages ---------------------------------------------------------------------------------
MULTI_STAGE = """\
ARG GO_VERSION=1.22
ARG BASE
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS Build
WORKDIR /src
COPY . .
RUN go build -o /out/app
ARG EXTRA
FROM busybox AS runtime
COPY --from=build /out/app /bin/app
FROM runtime
CMD ["/bin/app"]
"""


def test_multi_stage_with_as_and_platform_and_meta_args() -> None:
    df = parse_dockerfile(MULTI_STAGE, filename="build/Dockerfile.multi")
    assert isinstance(df, Dockerfile)
    assert df.filename == "build/Dockerfile.multi"
    assert [a.pairs for a in df.meta_args] == [(("GO_VERSION", "1.22"),), (("BASE", None),)]
    assert [(s.index, s.name, s.from_.image, s.from_.platform) for s in df.stages] == [
        (0, "build", "golang:${GO_VERSION}", "$BUILDPLATFORM"),
        (1, "runtime", "busybox", None),
        (2, None, "runtime", None),
    ]
    build = df.stages[0]
    assert isinstance(build, Stage)
    assert [i.keyword for i in build.instructions] == ["WORKDIR", "COPY", "RUN", "ARG"]  # a later ARG is the stage's
    assert df.stages[1].instructions[0].from_ == "build"
    assert df.stage("BUILD") is build
    assert df.stage("runtime") is df.stages[1]
    assert df.stage("2") is df.stages[2]
    assert df.stages[0].from_.expand(ShellLex(), {"GO_VERSION": "1.22", "BUILDPLATFORM": "linux/amd64"}) == ins.From(
        image="golang:1.22", stage_name="build", platform="linux/amd64", line=3,
        original="FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS Build")


@pytest.mark.parametrize("target", ["nope", "3", "-1", "01x"])
def test_unknown_target_stage(target: str) -> None:
    df = parse_dockerfile(MULTI_STAGE)
    with pytest.raises(InvalidArgument, match=f'target stage "{target}" could not be found'):
        df.stage(target)


# -- errors, with file:line ------------------------------------------------------------------
ERRORS = [
    ("FROM x\nRUN a\nFOO bar\n", 3, "unknown instruction: FOO"),
    ("FROM x\nRUNN a\n", 2, "unknown instruction: RUNN (did you mean RUN?)"),
    ("FROM x\nCMD [\"a\", 1]\n", 2, "when using JSON array syntax, arrays must be comprised of strings only"),
    ("FROM x\nCOPY [\"a\", {}]\n", 2, "arrays must be comprised of strings only"),
    ("FROM x\nSHELL /bin/bash -c\n", 2, "SHELL requires the arguments to be in JSON form"),
    ("FROM x\nSHELL [\"/bin/bash\", \"-c\"\n", 2, "SHELL requires the arguments to be in JSON form"),
    ("FROM x\nSHELL []\n", 2, "SHELL requires at least one argument"),
    ("FROM\n", 1, "FROM requires either one or three arguments"),
    ("FROM a b\n", 1, "FROM requires either one or three arguments"),
    ("FROM a AS 1st\n", 1, 'invalid name for build stage: "1st"'),
    ("FROM a AS b\nFROM c AS B\n", 2, 'duplicate stage name "b"'),
    ("FROM x\nRUN\n", 2, "RUN requires at least one argument"),
    ("FROM x\nRUN []\n", 2, "RUN requires at least one argument"),
    ("FROM x\nCMD\n", 2, "CMD requires at least one argument"),
    ("FROM x\nCOPY onlyone\n", 2, "COPY requires at least two arguments"),
    ("FROM x\nADD\n", 2, "ADD requires at least two arguments"),
    ("FROM x\nCOPY [\"a\"]\n", 2, "COPY requires at least two arguments"),
    ("FROM x\nWORKDIR\n", 2, "WORKDIR requires exactly one argument"),
    ("FROM x\nUSER\n", 2, "USER requires exactly one argument"),
    ("FROM x\nEXPOSE\n", 2, "EXPOSE requires at least one argument"),
    ("FROM x\nVOLUME\n", 2, "VOLUME requires at least one argument"),
    ("FROM x\nVOLUME [\"\"]\n", 2, "VOLUME specified can not be an empty string"),
    ("FROM x\nENV\n", 2, "ENV requires at least one argument"),
    ("FROM x\nENV =x\n", 2, "ENV names can not be blank"),
    ("FROM x\nENV a\n", 2, "ENV must have two arguments"),
    ("FROM x\nENV a=1 b\n", 2, 'ENV: "b" is not of the form key=value'),
    ("FROM x\nLABEL =x\n", 2, "LABEL names can not be blank"),
    ("FROM x\nLABEL a\n", 2, "LABEL must have two arguments"),
    ("FROM x\nARG\n", 2, "ARG requires at least one argument"),
    ("ARG =1\nFROM x\n", 1, "ARG names can not be blank"),
    ("FROM x\nARG 1abc=2\n", 2, 'ARG: invalid name "1abc"'),
    ("FROM x\nARG a$b\n", 2, 'ARG: invalid name "a$b"'),
    ("FROM x\nCOPY --bogus=1 a b\n", 2, "COPY: unknown flag --bogus"),
    ("FROM x\nCOPY --chown a b\n", 2, "COPY: missing a value on flag --chown"),
    ("FROM x\nCOPY --from=a --from=b a b\n", 2, "COPY: duplicate flag --from"),
    ("FROM x\nCOPY --link a b\n", 2, "COPY --link is not supported"),
    ("FROM x\nADD --keep-git-dir=true a b\n", 2, "ADD --keep-git-dir is not supported"),
    ("FROM x\nADD --from=a a b\n", 2, "ADD: unknown flag --from"),
    ("FROM --platform x\n", 1, "FROM: missing a value on flag --platform"),
    ("FROM --plat=x y\n", 1, "FROM: unknown flag --plat"),
    ("FROM x\nRUN --mount=type=cache,target=/root/.cache pip install x\n", 2, "RUN --mount is not supported"),
    ("FROM x\nRUN --network=none true\n", 2, "RUN --network is not supported"),
    ("FROM x\nRUN --security=insecure true\n", 2, "RUN --security is not supported"),
    ("FROM x\nRUN --help\n", 2, "RUN: unknown flag --help"),
    ("FROM x\nENV --x=1 a=b\n", 2, "ENV: unknown flag --x"),
    ("FROM x\nRUN <<EOF\necho hi\nEOF\n", 2, "RUN: heredocs (<<EOF) are not supported"),
    ("FROM x\nRUN cat <<-'EOT' > /x\n", 2, "RUN: heredocs (<<EOF) are not supported"),
    ("FROM x\nRUN python3 << EOF\n", 2, "RUN: heredocs (<<EOF) are not supported"),
    ("FROM x\nCOPY <<EOF /x\n", 2, "COPY: heredocs (<<EOF) are not supported"),
    ("FROM x\nHEALTHCHECK\n", 2, "HEALTHCHECK requires at least one argument"),
    ("FROM x\nHEALTHCHECK wget x\n", 2, 'HEALTHCHECK: unknown type "WGET" (expected NONE or [OPTIONS] CMD command)'),
    ("FROM x\nHEALTHCHECK CMD\n", 2, "Missing command after HEALTHCHECK CMD"),
    ("FROM x\nHEALTHCHECK CMD []\n", 2, "Missing command after HEALTHCHECK CMD"),
    ("FROM x\nHEALTHCHECK NONE x\n", 2, "HEALTHCHECK NONE takes no arguments"),
    ("FROM x\nHEALTHCHECK --interval=soon CMD x\n", 2, 'HEALTHCHECK --interval: invalid duration "soon"'),
    ("FROM x\nHEALTHCHECK --timeout=10 CMD x\n", 2, 'HEALTHCHECK --timeout: invalid duration "10"'),
    ("FROM x\nHEALTHCHECK --interval=1us CMD x\n", 2, "HEALTHCHECK --interval cannot be less than 1ms"),
    ("FROM x\nHEALTHCHECK --retries=-1 CMD x\n", 2, "HEALTHCHECK --retries cannot be negative (-1)"),
    ("FROM x\nHEALTHCHECK --retries=many CMD x\n", 2, 'HEALTHCHECK --retries: invalid number "many"'),
    ("FROM x\nHEALTHCHECK --bogus=1 CMD x\n", 2, "HEALTHCHECK: unknown flag --bogus"),
    ("FROM x\nONBUILD\n", 2, "ONBUILD requires at least one argument"),
    ("FROM x\nONBUILD ONBUILD RUN x\n", 2, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("FROM x\nONBUILD FROM y\n", 2, "FROM isn't allowed as an ONBUILD trigger"),
    ("FROM x\nONBUILD maintainer me\n", 2, "MAINTAINER isn't allowed as an ONBUILD trigger"),
    ("FROM x\nONBUILD FOO bar\n", 2, "unknown instruction: FOO"),
    ("FROM x\nONBUILD COPY a\n", 2, "COPY requires at least two arguments"),
    ("FROM x\nMAINTAINER\n", 2, "MAINTAINER requires exactly one argument"),
    ("FROM x\nSTOPSIGNAL\n", 2, "STOPSIGNAL requires exactly one argument"),
    ("# escape=x\nFROM x\n", 1, "invalid escape token 'x' does not match ` or \\"),
    ("# escape=`\n# escape=\\\nFROM x\n", 2, "only one escape parser directive can be used"),
    ("RUN x\nFROM y\n", 1, "no FROM before RUN"),
    ("# only a comment\nARG A=1\nENV B=2\nFROM y\n", 3, "no FROM before ENV"),
]


@pytest.mark.parametrize(("text", "line", "reason"), ERRORS, ids=[r for _, _, r in ERRORS])
def test_errors_carry_file_and_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(DockerfileSyntaxError) as caught:
        parse_dockerfile(text, filename="app/Dockerfile")
    err = caught.value
    assert reason in err.reason
    assert (err.file, err.line) == ("app/Dockerfile", line)
    assert str(err).startswith(f"app/Dockerfile:{line}: ")
    assert err.data["file"] == "app/Dockerfile" and err.data["line"] == line
    assert isinstance(err, InvalidArgument)


def test_error_string_reads_like_docker() -> None:
    with pytest.raises(DockerfileSyntaxError) as caught:
        parse_dockerfile("FROM x\n" + "RUN a\n" * 5 + "FOO bar\n")
    assert str(caught.value) == "Dockerfile:7: unknown instruction: FOO"


@pytest.mark.parametrize("text", ["", "\n\n# only comments\n", "ARG A=1\nARG B\n"])
def test_no_from_at_all(text: str) -> None:
    with pytest.raises(DockerfileSyntaxError, match="no FROM instruction") as caught:
        parse_dockerfile(text)
    assert caught.value.file == "Dockerfile"


# -- expansion ------------------------------------------------------------------------------
def test_env_pairs_of_one_instruction_see_the_env_from_before_it() -> None:
    # Docker's documentation: def is "hello", not "bye"; ghi (a later ENV) is "bye"
    lex = ShellLex()
    first, second = parse_instructions("ENV abc=bye def=$abc\nENV ghi=$abc")
    assert first.expand(lex, {"abc": "hello"}).pairs == (("abc", "bye"), ("def", "hello"))
    assert second.expand(lex, {"abc": "bye"}).pairs == (("ghi", "bye"),)


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ('ENV A=1 B="two words" C=x\\ y D=$HOME/bin', {"HOME": "/root"},
         ins.Env(pairs=(("A", "1"), ("B", "two words"), ("C", "x y"), ("D", "/root/bin")), line=1,
                 original='ENV A=1 B="two words" C=x\\ y D=$HOME/bin')),
        ('ENV LEGACY a "quoted" $V', {"V": "v"},
         ins.Env(pairs=(("LEGACY", "a quoted v"),), line=1, original='ENV LEGACY a "quoted" $V')),
        ('LABEL "c d"="e f" v=${V:-none}', {},
         ins.Label(pairs=(("c d", "e f"), ("v", "none")), line=1, original='LABEL "c d"="e f" v=${V:-none}')),
        ("ARG a=$X b c='$X'", {"X": "x"},
         ins.Arg(pairs=(("a", "x"), ("b", None), ("c", "$X")), line=1, original="ARG a=$X b c='$X'")),
        ("COPY --from=$S --chown=$U:$U --chmod=$M $SRC/* ${DEST:-/app}/", {"S": "build", "U": "app", "M": "0644",
                                                                           "SRC": "dist"},
         ins.Copy(sources=("dist/*",), dest="/app/", from_="build", chown="app:app", chmod="0644", line=1,
                  original="COPY --from=$S --chown=$U:$U --chmod=$M $SRC/* ${DEST:-/app}/")),
        ('COPY ["$A b", "/x/"]', {"A": "a"},
         ins.Copy(sources=("a b",), dest="/x/", from_=None, chown=None, chmod=None, line=1,
                  original='COPY ["$A b", "/x/"]')),
        ("ADD --checksum=$SUM $URL /tmp/", {"SUM": "sha256:1", "URL": "https://x/y"},
         ins.Add(sources=("https://x/y",), dest="/tmp/", chown=None, chmod=None, checksum="sha256:1", line=1,
                 original="ADD --checksum=$SUM $URL /tmp/")),
        ("EXPOSE $PORTS 53/udp", {"PORTS": "80 443"},
         ins.Expose(ports=("80", "443", "53/udp"), line=1, original="EXPOSE $PORTS 53/udp")),
        ("VOLUME $DATA /logs", {"DATA": "/var/a b"},
         ins.Volume(paths=("/var/a b", "/logs"), line=1, original="VOLUME $DATA /logs")),
        ("WORKDIR ${HOME}/src", {"HOME": "/home/app"},
         ins.Workdir(path="/home/app/src", line=1, original="WORKDIR ${HOME}/src")),
        ("USER ${U}:${G:-$U}", {"U": "app"}, ins.User(user="app:app", line=1, original="USER ${U}:${G:-$U}")),
        ("STOPSIGNAL $SIG", {"SIG": "SIGTERM"}, ins.StopSignal(signal="SIGTERM", line=1, original="STOPSIGNAL $SIG")),
        ("FROM ${BASE:-busybox}:$TAG AS x", {"TAG": "1"},
         ins.From(image="busybox:1", stage_name="x", platform=None, line=1,
                  original="FROM ${BASE:-busybox}:$TAG AS x")),
    ],
)
def test_expand(text: str, env: dict[str, str], expected: ins.Instruction) -> None:
    original = one(text)
    assert original.expand(ShellLex(), env) == expected
    assert original == one(text)  # a new instance; the parsed one is unchanged


@pytest.mark.parametrize(
    "text",
    ["RUN echo $HOME", 'CMD ["echo", "$HOME"]', "ENTRYPOINT echo $X", 'SHELL ["/bin/$X", "-c"]',
     "HEALTHCHECK CMD echo $X", "ONBUILD RUN echo $X", "MAINTAINER $ME"],
)
def test_instructions_docker_does_not_expand_return_themselves(text: str) -> None:
    instr = one(text)
    assert instr.expand(ShellLex(), {"HOME": "/root", "X": "x", "ME": "me"}) is instr


def test_substitution_errors_carry_the_line_and_can_be_located() -> None:
    # quoted: unquoted, the blank would split the word (in Docker too)
    df = parse_dockerfile('FROM busybox\nRUN true\nENV A="${REQUIRED:?set REQUIRED}"\n', filename="Dockerfile.dev")
    env_instr = df.stages[0].instructions[1]
    with pytest.raises(DockerfileSyntaxError) as caught:
        env_instr.expand(ShellLex(df.escape), {})
    err = caught.value
    assert err.line == 3
    assert "REQUIRED: set REQUIRED" in err.reason
    assert str(err.located(file=df.filename)).startswith("Dockerfile.dev:3: failed to process")


def test_unterminated_quotes_are_found_at_expansion() -> None:
    instr = one('ENV A="unterminated')  # BuildKit's parser keeps it; its lexer refuses it
    with pytest.raises(DockerfileSyntaxError, match="unterminated quote"):
        instr.expand(ShellLex(), {})


# -- fragments ------------------------------------------------------------------------------
def test_parse_instructions_reads_a_fragment_without_from() -> None:
    assert parse_instructions('ENV A=1\n# comment\nCMD ["sh"]\n', filename="--change") == (
        ins.Env(pairs=(("A", "1"),), line=1, original="ENV A=1"),
        ins.Cmd(command=("sh",), shell_form=False, line=3, original='CMD ["sh"]'),
    )
    assert parse_instructions("") == ()
    with pytest.raises(DockerfileSyntaxError, match=r"^--change:2: unknown instruction: BOGUS$"):
        parse_instructions("USER a\nBOGUS", filename="--change")


# -- the seeds' Dockerfiles (shared/seeds/, copied here) ----------------------------------
SEED_FLASK = """\
# 每个Dockerfile必须以一个FROM开头，后面跟着一个镜像名
FROM python:3.6.6-stretch

# 以下命令在镜像中创建了一个/app目录，并把我们项目文件放入其中
RUN mkdir /app
COPY app.py /app
COPY requirements.txt /app

# 装入依赖
RUN pip install -r /app/requirements.txt
# 通过设置WORKDIR，镜像启动时会自动进入该目录
WORKDIR /app
# flask默认监听5000端口，所以我们暴露出5000端口让外部可以访问
EXPOSE 5000

# 镜像启动时会自动执行CMD内容，这里我们让flask启动起来
CMD ["python", "app.py"]
"""

SEED_GITDIR = """\
# 说明该镜像以哪个镜像为基础
FROM centos:latest

# 构建者的基本信息
MAINTAINER xianhu

# 在build这个镜像时执行的操作
RUN yum update
RUN yum install -y git

# 拷贝本地文件到镜像中
COPY ./* /usr/share/gitdir/
"""

SEED_NGINX = """\
FROM centos
MAINTAINER alexwoo
RUN  rpm -Uvh http://nginx.org/packages/centos/7/noarch/RPMS/nginx-release-centos-7-0.el7.ngx.noarch.rpm
RUN  yum install -y nginx
EXPOSE 80/tcp
CMD ["nginx", "-g", "daemon off;"]
"""

SEED_USER = """\
FROM centos
MAINTAINER alexwoo<wj19840501@gmail.com>
RUN useradd alexwoo
WORKDIR /home/alexwoo
USER alexwoo
"""

SEED_PYTHON_SLIM = """\
# 将官方 Python 安装包用作父镜像

FROM python:2.7-slim

# 将工作目录设置为 /app

WORKDIR /app

# 将当前目录内容复制到位于 /app 中的容器中

ADD . /app

# 安装 requirements.txt 中指定的任何所需软件包

RUN pip install -r requirements.txt

# 使端口 80 可供此容器外的环境使用

EXPOSE 80

# 定义环境变量

ENV NAME World

# 在容器启动时运行 app.py

CMD ["python", "app.py"]
"""


@pytest.mark.parametrize(
    ("text", "image", "steps"),
    [
        (SEED_FLASK, "python:3.6.6-stretch",
         [("RUN", 5, "RUN mkdir /app"), ("COPY", 6, "COPY app.py /app"), ("COPY", 7, "COPY requirements.txt /app"),
          ("RUN", 10, "RUN pip install -r /app/requirements.txt"), ("WORKDIR", 12, "WORKDIR /app"),
          ("EXPOSE", 14, "EXPOSE 5000"), ("CMD", 17, 'CMD ["python", "app.py"]')]),
        (SEED_GITDIR, "centos:latest",
         [("MAINTAINER", 5, "MAINTAINER xianhu"), ("RUN", 8, "RUN yum update"), ("RUN", 9, "RUN yum install -y git"),
          ("COPY", 12, "COPY ./* /usr/share/gitdir/")]),
        (SEED_NGINX, "centos",
         [("MAINTAINER", 2, "MAINTAINER alexwoo"),
          ("RUN", 3, "RUN  rpm -Uvh http://nginx.org/packages/centos/7/noarch/RPMS/"
                     "nginx-release-centos-7-0.el7.ngx.noarch.rpm"),
          ("RUN", 4, "RUN  yum install -y nginx"), ("EXPOSE", 5, "EXPOSE 80/tcp"),
          ("CMD", 6, 'CMD ["nginx", "-g", "daemon off;"]')]),
        (SEED_USER, "centos",
         [("MAINTAINER", 2, "MAINTAINER alexwoo<wj19840501@gmail.com>"), ("RUN", 3, "RUN useradd alexwoo"),
          ("WORKDIR", 4, "WORKDIR /home/alexwoo"), ("USER", 5, "USER alexwoo")]),
        (SEED_PYTHON_SLIM, "python:2.7-slim",
         [("WORKDIR", 7, "WORKDIR /app"), ("ADD", 11, "ADD . /app"), ("RUN", 15, "RUN pip install -r requirements.txt"),
          ("EXPOSE", 19, "EXPOSE 80"), ("ENV", 23, "ENV NAME World"), ("CMD", 27, 'CMD ["python", "app.py"]')]),
    ],
)
def test_seed_dockerfiles(text: str, image: str, steps: list[tuple[str, int, str]]) -> None:
    df = parse_dockerfile(text)
    (stage,) = df.stages
    assert (stage.index, stage.name, stage.from_.image) == (0, None, image)
    assert [(i.keyword, i.line, i.original) for i in stage.instructions] == steps


def test_seed_details() -> None:
    nginx = parse_dockerfile(SEED_NGINX).stages[0].instructions
    assert nginx[1].command == ("rpm -Uvh http://nginx.org/packages/centos/7/noarch/RPMS/"
                                "nginx-release-centos-7-0.el7.ngx.noarch.rpm",)
    assert nginx[-1].command == ("nginx", "-g", "daemon off;")
    slim = parse_dockerfile(SEED_PYTHON_SLIM).stages[0].instructions
    assert slim[4].expand(ShellLex(), {}).pairs == (("NAME", "World"),)
