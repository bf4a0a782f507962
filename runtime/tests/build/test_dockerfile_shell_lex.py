"""Docker's variable substitution (BuildKit's shell lexer), checked against BuildKit's own tables.

ENV_VAR_TEST is ``envVarTest`` of moby/buildkit (``frontend/dockerfile/shell``; also in moby
``builder/dockerfile/shell``): ``platform|word|expected``, ``error`` meaning the word must be
refused; A = all platforms, U = Unix (W rows, Windows only, are left out). The process_words
table is ``wordsTest`` of the same directory; the match cases come from ``lex_test.go``.
"""

from __future__ import annotations

import pytest

from berth.build.dockerfile import DockerfileSyntaxError, ShellLex
from berth.build.dockerfile.lex_patterns import reverse_pattern, shell_pattern_regex, trim_prefix, trim_suffix
from berth.errors import InvalidArgument

ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}

ENV_VAR_TEST = r"""
A|hello                    |     hello
A|he'll'o                  |     hello
A|he'llo                   |     error
A|he\'llo                  |     he'llo
A|he\\'llo                 |     error
A|abc\tdef                 |     abctdef
A|"abc\tdef"               |     abc\tdef
A|"abc\\tdef"              |     abc\tdef
A|'abc\tdef'               |     abc\tdef
A|hello\                   |     hello
A|hello\\                  |     hello\
A|"hello                   |     error
A|"hello\"                 |     error
A|"hel'lo"                 |     hel'lo
A|'hello                   |     error
A|'hello\'                 |     hello\
A|'hello\there'            |     hello\there
A|'hello\\there'           |     hello\\there
A|"''"                     |     ''
A|$.                       |     $.
A|$1                       |
A|he$1x                    |     hex
A|he$.x                    |     he$.x
# Next one is different on Windows as $pwd==$PWD
U|he$pwd.                  |     he.
A|he$PWD                   |     he/home
A|he\$PWD                  |     he$PWD
A|he\\$PWD                 |     he\/home
A|"he\$PWD"                |     he$PWD
A|"he\\$PWD"               |     he\/home
A|\${}                     |     ${}
A|\${}aaa                  |     ${}aaa
A|he\${}                   |     he${}
A|he\${}xx                 |     he${}xx
A|${}                      |     error
A|${}aaa                   |     error
A|he${}                    |     error
A|he${}xx                  |     error
A|he${hi}                  |     he
A|he${hi}xx                |     hexx
A|he${PWD}                 |     he/home
A|he${.}                   |     error
A|he${XXX:-000}xx          |     he000xx
A|he${PWD:-000}xx          |     he/homexx
A|he${XXX:-$PWD}xx         |     he/homexx
A|he${XXX:-${PWD:-yyy}}xx  |     he/homexx
A|he${XXX:-${YYY:-yyy}}xx  |     heyyyxx
A|he${XXX:YYY}             |     error
A|he${XXX:+${PWD}}xx       |     hexx
A|he${PWD:+${XXX}}xx       |     hexx
A|he${PWD:+${SHELL}}xx     |     hebashxx
A|he${XXX:+000}xx          |     hexx
A|he${PWD:+000}xx          |     he000xx
A|'he${XX}'                |     he${XX}
A|"he${PWD}"               |     he/home
A|"he'$PWD'"               |     he'/home'
A|"$PWD"                   |     /home
A|'$PWD'                   |     $PWD
A|'\$PWD'                  |     \$PWD
A|'"hello"'                |     "hello"
A|he\$PWD                  |     he$PWD
A|"he\$PWD"                |     he$PWD
A|'he\$PWD'                |     he\$PWD
A|he${PWD                  |     error
A|he${PWD:=000}xx          |     error
A|he${PWD:+${PWD}:}xx      |     he/home:xx
A|he${XXX:-\$PWD:}xx       |     he$PWD:xx
A|he${XXX:-\${PWD}z}xx     |     he${PWDz}xx
A|안녕하세요                 |     안녕하세요
A|안'녕'하세요               |     안녕하세요
A|안'녕하세요                |     error
A|안녕\'하세요               |     안녕'하세요
A|안\\'녕하세요              |     error
A|안녕\t하세요               |     안녕t하세요
A|"안녕\t하세요"             |     안녕\t하세요
A|'안녕\t하세요              |     error
A|안녕하세요\                |     안녕하세요
A|안녕하세요\\               |     안녕하세요\
A|"안녕하세요                |     error
A|"안녕하세요\"              |     error
A|"안녕'하세요"              |     안녕'하세요
A|'안녕하세요                |     error
A|'안녕하세요\'              |     안녕하세요\
A|안녕$1x                    |     안녕x
A|안녕$.x                    |     안녕$.x
U|안녕$pwd.                  |     안녕.
A|안녕$PWD                   |     안녕/home
A|안녕\$PWD                  |     안녕$PWD
A|안녕\\$PWD                 |     안녕\/home
A|안녕\${}                   |     안녕${}
A|안녕\${}xx                 |     안녕${}xx
A|안녕${}                    |     error
A|안녕${}xx                  |     error
A|안녕${hi}                  |     안녕
A|안녕${hi}xx                |     안녕xx
A|안녕${PWD}                 |     안녕/home
A|안녕${.}                   |     error
A|안녕${XXX:-000}xx          |     안녕000xx
A|안녕${PWD:-000}xx          |     안녕/homexx
A|안녕${XXX:-$PWD}xx         |     안녕/homexx
A|안녕${XXX:-${PWD:-yyy}}xx  |     안녕/homexx
A|안녕${XXX:-${YYY:-yyy}}xx  |     안녕yyyxx
A|안녕${XXX:YYY}             |     error
A|안녕${XXX:+${PWD}}xx       |     안녕xx
A|안녕${PWD:+${XXX}}xx       |     안녕xx
A|안녕${PWD:+${SHELL}}xx     |     안녕bashxx
A|안녕${XXX:+000}xx          |     안녕xx
A|안녕${PWD:+000}xx          |     안녕000xx
A|'안녕${XX}'                |     안녕${XX}
A|"안녕${PWD}"               |     안녕/home
A|"안녕'$PWD'"               |     안녕'/home'
A|'"안녕"'                   |     "안녕"
A|안녕\$PWD                  |     안녕$PWD
A|"안녕\$PWD"                |     안녕$PWD
A|'안녕\$PWD'                |     안녕\$PWD
A|안녕${PWD                  |     error
A|안녕${PWD:=000}xx          |     error
A|안녕${PWD:+${PWD}:}xx      |     안녕/home:xx
A|안녕${XXX:-\$PWD:}xx       |     안녕$PWD:xx
A|안녕${XXX:-\${PWD}z}xx     |     안녕${PWDz}xx
A|$KOREAN                    |     한국어
A|안녕$KOREAN                |     안녕한국어
A|${{aaa}                   |     error
A|${aaa}}                   |     }
A|${aaa                     |     error
A|${{aaa:-bbb}              |     error
A|${aaa:-bbb}}              |     bbb}
A|${aaa:-bbb                |     error
A|${aaa:-bbb}               |     bbb
A|${aaa:-${bbb:-ccc}}       |     ccc
A|${aaa:-bbb ${foo}         |     error
A|${aaa:-bbb {foo}          |     bbb {foo
A|${:}                      |     error
A|${:-bbb}                  |     error
A|${:+bbb}                  |     error
"""


def _env_var_cases() -> list[tuple[str, str]]:
    cases = []
    for line in ENV_VAR_TEST.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        platform, word, expected = (part.strip() for part in line.split("|"))
        assert platform in ("A", "U")
        cases.append((word, expected))
    return cases


@pytest.mark.parametrize(("word", "expected"), _env_var_cases())
def test_buildkit_env_var_table(word: str, expected: str) -> None:
    lex = ShellLex()
    if expected == "error":
        with pytest.raises(DockerfileSyntaxError):
            lex.process_word(word, ENV)
    else:
        assert lex.process_word(word, ENV) == expected


# (env lines to add, word, expected words); "error" as in BuildKit's wordsTest
WORDS_TEST = [
    ({}, "hello", ["hello"]),
    ({}, "hello${hi}bye", ["hellobye"]),
    ({"hi": "hi"}, "hello${hi}bye", ["hellohibye"]),
    ({"space": "abc  def"}, "hello${space}bye", ["helloabc", "defbye"]),
    ({"space": "abc  def"}, 'hello"${space}"bye', ["helloabc  defbye"]),
    ({"space": "abc  def"}, 'hello "${space}"bye', ["hello", "abc  defbye"]),
    ({"leading": "  ab c"}, "hello${leading}def", ["hello", "ab", "cdef"]),
    ({"leading": "  ab c"}, 'hello"${leading}" def', ["hello  ab c", "def"]),
    ({"leading": "  ab c"}, 'hello"${leading}"', ["hello  ab c"]),
    ({"leading": "  ab c"}, "hello${leading}", ["hello", "ab", "c"]),
    ({"trailing": "ab c   "}, "hello${trailing}", ["helloab", "c"]),
    ({"trailing": "ab c   "}, "hello${trailing}d", ["helloab", "c", "d"]),
    ({"trailing": "ab c   "}, 'hello"${trailing}"d', ["helloab c   d"]),
    ({"trailing": "ab c   "}, 'hel"lo${trailing}"', ["helloab c   "]),
    ({}, 'hello" there  "', ["hello there  "]),
    ({}, "hello there     ", ["hello", "there"]),
    ({}, "hello\\ there", ["hello there"]),
    ({}, 'hello" there', "error"),
    ({}, 'hello\\" there', ['hello"', "there"]),
    ({}, '""', []),  # an empty quoted word is dropped, as in BuildKit
    ({"PORTS": "80 443/udp"}, "$PORTS 8080", ["80", "443/udp", "8080"]),
]


@pytest.mark.parametrize(("env", "word", "expected"), WORDS_TEST)
def test_buildkit_words_table(env: dict[str, str], word: str, expected: list[str] | str) -> None:
    lex = ShellLex()
    if expected == "error":
        with pytest.raises(DockerfileSyntaxError):
            lex.process_words(word, env)
    else:
        assert lex.process_words(word, env) == expected


# lex_test.go TestProcessWithMatches: (word, env, expected or None for an error)
MATCH_CASES = [
    ("x", {"DUMMY": "dummy"}, "x"),
    ("x ${UNUSED}", {"DUMMY": "dummy"}, "x "),
    ("x ${FOO}", {"FOO": "y"}, "x y"),
    ("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", {"FOO": "xxx", "BAR": ""}, "xxx  ccc"),
    ("${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", {"FOO": "xxx", "BAR": ""}, "xxx bbb ccc"),
    ("${FOO:-}", {"FOO": "xxx", "BAR": ""}, "xxx"),
    ("${FOO:-}", {}, ""),
    ("${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", {"FOO": "xxx", "BAR": ""}, "aaa bbb "),
    ("${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", {"FOO": "xxx", "BAR": ""}, "aaa  "),
    ("${FOO?aaa}", {"FOO": "xxx", "BAR": ""}, "xxx"),
    ("${BAR?bbb}", {"FOO": "xxx", "BAR": ""}, ""),
    ("${BAZ?ccc}", {"FOO": "xxx", "BAR": ""}, None),
    ("${FOO:?aaa}", {"FOO": "xxx", "BAR": ""}, "xxx"),
    ("${BAR:?bbb}", {"FOO": "xxx", "BAR": ""}, None),
    ("${BAZ:?ccc}", {"FOO": "xxx", "BAR": ""}, None),
    ("${BAZ:?}", {"FOO": "xxx", "BAR": ""}, None),
    ("${FOO=aaa}", {"FOO": "xxx", "BAR": ""}, None),
    ("${FOO=:aaa}", {"FOO": "xxx", "BAR": ""}, None),
    ("${FOO=}", {}, None),
    ("${FOO#()[]{\\}^$.\\*\\?|\\\\}", {"FOO": "()[]{}^$.*?|\\x"}, "x"),
    ("${FOO%%\\**}", {"FOO": "xx**"}, "xx"),
    ("${FOO#*x*y}", {"FOO": "xxyy"}, "y"),
    ("${FOO#*}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO#$BAR}", {"FOO": "xxyy", "BAR": "x"}, "xyy"),
    ("${FOO#$BAR}", {"FOO": "xxyy", "BAR": ""}, "xxyy"),
    ("${FOO#}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO##*x}", {"FOO": "xxyy"}, "yy"),
    ("${FOO##}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO#?\\?}", {"FOO": "???y"}, "?y"),
    ("${ABC:-.}${FOO%x}${ABC:-.}", {"FOO": "xxyy"}, ".xxyy."),
    ("${FOO%%\\**\\*}", {"FOO": "a***yy*"}, "a"),
    ("${FOO%}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO%%$BAR}", {"FOO": "xxyy", "BAR": ""}, "xxyy"),
    ("${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}", {"FOO": "/foo*/*/*.txt", "NEEDLE": "\\*/"},
     "/foo.*/*.txt - /foo..*.txt"),
    ("${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}", {"FOO": "/tmp/tmp/bar.txt", "NEEDLE": "/tmp"},
     "/tmp/bar.txt - /bar.txt"),
    ("${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
     {"FOO": "/a/foo/b/c.txt", "NEEDLE": "/?/", "REPLACEMENT": "/"}, "/foo/b/c.txt - /foo/c.txt"),
    ("${FOO/$NEEDLE/$REPLACEMENT}", {"FOO": "http://google.de", "NEEDLE": "http://", "REPLACEMENT": "https://"},
     "https://google.de"),
    ("${FOO//\\//\\/}", {"FOO": "/tmp/foo.txt"}, "\\/tmp\\/foo.txt"),
    ("${FOO/$BAR/ww}", {"FOO": "xxyy", "BAR": ""}, "wwxxyy"),
    ("${FOO//ww}", {"FOO": "xxyy"}, None),
    ("${FOO//}", {"FOO": "xxyy"}, None),
    ("${FOO///}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO///}", {}, ""),
    ("something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
     {"VERSION": "v1.2.3", "TARGETOS": "linux", "TARGETARCH": "arm", "TARGETVARIANT": "v7"},
     "something-v1.2.3.linux-arm-v7.tar.gz"),
    ("something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz",
     {"VERSION": "v1.2.3", "TARGETOS": "linux", "TARGETARCH": "amd64"},
     "something-v1.2.3.linux-amd64.tar.gz"),
]


@pytest.mark.parametrize(("word", "env", "expected"), MATCH_CASES)
def test_buildkit_substitution_cases(word: str, env: dict[str, str], expected: str | None) -> None:
    lex = ShellLex()
    if expected is None:
        with pytest.raises(DockerfileSyntaxError):
            lex.process_word(word, env)
    else:
        assert lex.process_word(word, env) == expected


@pytest.mark.parametrize(
    ("word", "env", "message"),
    [
        ("${VAR:?message here$ARG}", {"VAR": "", "ARG": "x"}, "VAR: message herex"),
        ("${VAR:?message here$ARG}", {"ARG": "x"}, "VAR: message herex"),
        ("${VAR?message here$ARG}", {"ARG": "x"}, "VAR: message herex"),
        ("${VAR?}", {}, "VAR: is not allowed to be unset"),
        ("${VAR:?}", {"VAR": ""}, "VAR: is not allowed to be empty"),
    ],
)
def test_mandatory_variables_name_the_variable_and_the_word(word: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(DockerfileSyntaxError) as caught:
        ShellLex().process_word(word, env)
    assert message in str(caught.value)
    assert word in str(caught.value)  # the word it was found in
    assert caught.value.data["word"] == word
    assert isinstance(caught.value, InvalidArgument)
    assert caught.value.line is None and caught.value.file is None  # an instruction adds its place


def test_mandatory_variables_when_set() -> None:
    lex = ShellLex()
    assert lex.process_word("${VAR:?message}", {"VAR": "plain"}) == "plain"
    assert lex.process_word("${VAR?message}", {"VAR": ""}) == ""


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("a$", "a$"),  # a final $ is kept
        ("$", "$"),
        ("100$ and $.", "100$ and $."),
        ("$$", ""),  # a special parameter, never set
        ("${PWD}/x", "/home/x"),
        ("$PWD_x", ""),  # the name runs to the first character that cannot be in one
        ("${PWD}_x", "/home_x"),
        ("'$PWD' \"$PWD\" $PWD", "$PWD /home /home"),
    ],
)
def test_dollar_edge_cases(word: str, expected: str) -> None:
    assert ShellLex().process_word(word, ENV) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("he`$PWD", "he$PWD"),
        ("c:\\windows\\", "c:\\windows\\"),  # the backslash is an ordinary character with escape=`
        ('"a`"b"', 'a"b'),
        ("a``b", "a`b"),
        ("x` y", "x y"),
        ("$PWD`", "/home"),
    ],
)
def test_backtick_escape(word: str, expected: str) -> None:
    assert ShellLex("`").process_word(word, ENV) == expected


def test_an_escape_other_than_backslash_or_backtick_is_refused() -> None:
    with pytest.raises(DockerfileSyntaxError, match="invalid escape token"):
        ShellLex("!")


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("$X ${Y} ${Z:-d} ${Z:?must} ${Z/a/b}", "$X ${Y} ${Z:-d} ${Z:?must} ${Z/a/b}"),
        ('"quoted $X" x\\ y', "quoted $X x y"),
        ("$SET-${SET}", "yes-yes"),
    ],
)
def test_skip_unset_keeps_references_to_unset_variables(word: str, expected: str) -> None:
    assert ShellLex(skip_unset=True).process_word(word, {"SET": "yes"}) == expected


def test_pattern_conversion() -> None:
    assert shell_pattern_regex("*", greedy=True, anchored=True).fullmatch("anything")
    assert shell_pattern_regex("?", greedy=True, anchored=True).fullmatch("a")
    assert not shell_pattern_regex("\\*", greedy=True, anchored=True).fullmatch("a")
    assert shell_pattern_regex("(()[]{\\}^$.\\*\\?|\\\\", greedy=True, anchored=True).fullmatch("(()[]{}^$.*?|\\")
    for bad in ("\\", "\\x", "\\\\\\"):
        with pytest.raises(ValueError):
            shell_pattern_regex(bad, greedy=True, anchored=True)


@pytest.mark.parametrize(
    ("pattern", "reversed_"),
    [("a\\*c", "c\\*a"), ("\\\\\\ab", "b\\a\\\\"), ("ab\\", "\\ba"), ("👽\\🚀🖖", "🖖\\🚀👽"), ("\\\\b", "b\\\\")],
)
def test_reverse_pattern(pattern: str, reversed_: str) -> None:
    assert reverse_pattern(pattern) == reversed_


def test_trim_prefix_and_suffix_shortest_and_longest() -> None:
    assert trim_prefix("*/", "a/b/c", greedy=False) == "b/c"
    assert trim_prefix("*/", "a/b/c", greedy=True) == "c"
    assert trim_suffix("/*", "a/b/c", greedy=False) == "a/b"
    assert trim_suffix("/*", "a/b/c", greedy=True) == "a"
    assert ShellLex().process_word("${F%.*} ${F##*.}", {"F": "archive.tar.gz"}) == "archive.tar gz"
