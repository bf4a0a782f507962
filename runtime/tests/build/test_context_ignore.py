""".dockerignore and wildcards: the test tables of moby/patternmatcher (patternmatcher_test.go,
ignorefile_test.go) and of Go's filepath.Match, ported."""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.build.context import IgnoreMatcher
from berth.build.context.gomatch import BadPattern, contains_wildcards, match
from berth.build.context.ignore import Pattern
from berth.errors import InvalidArgument

EXACT, INEXACT, FAIL = "exact", "inexact", "fail"

# patternmatcher_test.go TestMatches: (pattern, text, result); "inexact" passes only with parent matching
MATCHES = [
    ("**", "file", EXACT),
    ("**", "file/", EXACT),
    ("**/", "file", EXACT),
    ("**/", "file/", EXACT),
    ("**", "/", EXACT),
    ("**/", "/", EXACT),
    ("**", "dir/file", EXACT),
    ("**/", "dir/file", EXACT),
    ("**", "dir/file/", EXACT),
    ("**/", "dir/file/", EXACT),
    ("**/**", "dir/file", EXACT),
    ("**/**", "dir/file/", EXACT),
    ("dir/**", "dir/file", EXACT),
    ("dir/**", "dir/file/", EXACT),
    ("dir/**", "dir/dir2/file", EXACT),
    ("dir/**", "dir/dir2/file/", EXACT),
    ("**/dir", "dir", EXACT),
    ("**/dir", "dir/file", INEXACT),
    ("**/dir2/*", "dir/dir2/file", EXACT),
    ("**/dir2/*", "dir/dir2/file/", INEXACT),
    ("**/dir2/**", "dir/dir2/dir3/file", EXACT),
    ("**/dir2/**", "dir/dir2/dir3/file/", EXACT),
    ("**file", "file", EXACT),
    ("**file", "dir/file", EXACT),
    ("**/file", "dir/file", EXACT),
    ("**file", "dir/dir/file", EXACT),
    ("**/file", "dir/dir/file", EXACT),
    ("**/file*", "dir/dir/file", EXACT),
    ("**/file*", "dir/dir/file.txt", EXACT),
    ("**/file*txt", "dir/dir/file.txt", EXACT),
    ("**/file*.txt", "dir/dir/file.txt", EXACT),
    ("**/file*.txt*", "dir/dir/file.txt", EXACT),
    ("**/**/*.txt", "dir/dir/file.txt", EXACT),
    ("**/**/*.txt2", "dir/dir/file.txt", FAIL),
    ("**/*.txt", "file.txt", EXACT),
    ("**/**/*.txt", "file.txt", EXACT),
    ("a**/*.txt", "a/file.txt", EXACT),
    ("a**/*.txt", "a/dir/file.txt", EXACT),
    ("a**/*.txt", "a/dir/dir/file.txt", EXACT),
    ("a/*.txt", "a/dir/file.txt", FAIL),
    ("a/*.txt", "a/file.txt", EXACT),
    ("a/*.txt**", "a/file.txt", EXACT),
    ("a[b-d]e", "ae", FAIL),
    ("a[b-d]e", "ace", EXACT),
    ("a[b-d]e", "aae", FAIL),
    ("a[^b-d]e", "aze", EXACT),
    (".*", ".foo", EXACT),
    (".*", "foo", FAIL),
    ("abc.def", "abcdef", FAIL),
    ("abc.def", "abc.def", EXACT),
    ("abc.def", "abcZdef", FAIL),
    ("abc?def", "abcZdef", EXACT),
    ("abc?def", "abcdef", FAIL),
    ("**/foo/bar", "foo/bar", EXACT),
    ("**/foo/bar", "dir/foo/bar", EXACT),
    ("**/foo/bar", "dir/dir2/foo/bar", EXACT),
    ("abc/**", "abc", FAIL),
    ("abc/**", "abc/def", EXACT),
    ("abc/**", "abc/def/ghi", EXACT),
    ("**/.foo", ".foo", EXACT),
    ("**/.foo", "bar.foo", FAIL),
    ("a(b)c/def", "a(b)c/def", EXACT),
    ("a(b)c/def", "a(b)c/xyz", FAIL),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", EXACT),
    ("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", EXACT),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", EXACT),
    ("a\\\\", "a\\", EXACT),
    ("a\\*b", "a*b", EXACT),
]

MULTI = [
    (["**", "!util/docker/web"], "util/docker/web/foo", FAIL),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", EXACT),
    (["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"],
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", FAIL),
    (["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", FAIL),
]

# Go's filepath.Match tests (as copied into patternmatcher_test.go): (pattern, name, match, bad pattern)
GO_MATCH = [
    ("abc", "abc", True, False),
    ("*", "abc", True, False),
    ("*c", "abc", True, False),
    ("a*", "a", True, False),
    ("a*", "abc", True, False),
    ("a*", "ab/c", False, False),  # filepath.Match: * does not cross /
    ("a*/b", "abc/b", True, False),
    ("a*/b", "a/c/b", False, False),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True, False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True, False),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False, False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False, False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True, False),
    ("a*b?c*x", "abxbbxdbxebxczzy", False, False),
    ("ab[c]", "abc", True, False),
    ("ab[b-d]", "abc", True, False),
    ("ab[e-g]", "abc", False, False),
    ("ab[^c]", "abc", False, False),
    ("ab[^b-d]", "abc", False, False),
    ("ab[^e-g]", "abc", True, False),
    ("a\\*b", "a*b", True, False),
    ("a\\*b", "ab", False, False),
    ("a?b", "a☺b", True, False),
    ("a[^a]b", "a☺b", True, False),
    ("a???b", "a☺b", False, False),
    ("a[^a][^a][^a]b", "a☺b", False, False),
    ("[a-ζ]*", "α", True, False),
    ("*[a-ζ]", "A", False, False),
    ("a?b", "a/b", False, False),
    ("a*b", "a/b", False, False),
    ("[\\]a]", "]", True, False),
    ("[\\-]", "-", True, False),
    ("[x\\-]", "x", True, False),
    ("[x\\-]", "-", True, False),
    ("[x\\-]", "z", False, False),
    ("[\\-x]", "x", True, False),
    ("[\\-x]", "-", True, False),
    ("[\\-x]", "a", False, False),
    ("[]a]", "]", False, True),
    ("[-]", "-", False, True),
    ("[x-]", "x", False, True),
    ("[x-]", "-", False, True),
    ("[x-]", "z", False, True),
    ("[-x]", "x", False, True),
    ("[-x]", "-", False, True),
    ("[-x]", "a", False, True),
    ("\\", "a", False, True),
    ("[a-b-c]", "a", False, True),
    ("[", "a", False, True),
    ("[^", "a", False, True),
    ("[^bc", "a", False, True),
    ("a[", "a", False, True),
    ("a[", "ab", False, True),
    ("*x", "xxx", True, False),
]


@pytest.mark.parametrize(("pattern", "text", "result"), MATCHES)
def test_patternmatcher_matches_or_parent_matches(pattern: str, text: str, result: str) -> None:
    assert IgnoreMatcher.from_patterns([pattern]).matches(text) is (result != FAIL)


@pytest.mark.parametrize(("patterns", "text", "result"), MULTI)
def test_patternmatcher_multi_patterns(patterns: list[str], text: str, result: str) -> None:
    assert IgnoreMatcher.from_patterns(patterns).matches(text) is (result != FAIL)


@pytest.mark.parametrize(("pattern", "name", "matched", "bad"), GO_MATCH)
def test_go_filepath_match(pattern: str, name: str, matched: bool, bad: bool) -> None:
    if bad:
        with pytest.raises(BadPattern):
            match(pattern, name)
    else:
        assert match(pattern, name) is matched


@pytest.mark.parametrize(("pattern", "name", "matched", "bad"), GO_MATCH)
def test_patternmatcher_match_table(pattern: str, name: str, matched: bool, bad: bool) -> None:
    """TestMatch: the Go table through patternmatcher."""
    if bad:
        with pytest.raises(InvalidArgument, match="syntax error in pattern"):
            IgnoreMatcher.from_patterns([pattern])
        return
    if (pattern, name) == ("a*", "ab/c"):
        matched = True  # patternmatcher's table: the parent "ab" matches, so ab/c does
    assert IgnoreMatcher.from_patterns([pattern]).matches(name) is matched


@pytest.mark.parametrize(("pattern", "kind", "regexp"), [
    ("*", "regexp", "^[^/]*\\Z"),
    ("file*", "regexp", "^file[^/]*\\Z"),
    ("*file", "regexp", "^[^/]*file\\Z"),
    ("a*/b", "regexp", "^a[^/]*/b\\Z"),
    ("**", "suffix", None),
    ("**/**", "regexp", "^(.*/)?.*\\Z"),
    ("dir/**", "prefix", None),
    ("**/dir", "suffix", None),
    ("**/dir2/*", "regexp", "^(.*/)?dir2/[^/]*\\Z"),
    ("**/dir2/**", "regexp", "^(.*/)?dir2/.*\\Z"),
    ("**file", "suffix", None),
    ("**/file*txt", "regexp", "^(.*/)?file[^/]*txt\\Z"),
    ("**/**/*.txt", "regexp", "^(.*/)?(.*/)?[^/]*\\.txt\\Z"),
    ("a[b-d]e", "regexp", "^a[b-d]e\\Z"),
    (".*", "regexp", "^\\.[^/]*\\Z"),
    ("abc.def", "exact", None),
    ("abc?def", "regexp", "^abc[^/]def\\Z"),
    ("**/foo/bar", "suffix", None),
    ("a(b)c/def", "exact", None),
    ("a.|)$(}+{bc", "exact", None),
])
def test_patternmatcher_compile(pattern: str, kind: str, regexp: str | None) -> None:
    compiled = Pattern.compile(pattern, False)
    assert compiled.kind == kind
    if regexp is not None:
        assert compiled.regexp is not None and compiled.regexp.pattern == regexp


def test_simple_cases_of_patternmatcher() -> None:
    m = IgnoreMatcher.from_patterns
    assert m(["*"]).matches("fileutils.go")
    assert m(["*.go"]).matches("fileutils.go")
    assert m(["!fileutils.go", "*.go"]).matches("fileutils.go")  # exception before: the later pattern wins
    assert not m(["*.go", "!fileutils.go"]).matches("fileutils.go")
    for folder in ("docs", "docs/", "docs/*"):
        assert not m([folder, "!docs/README.md"]).matches("docs/README.md")
    assert not m(["*.go"]).matches(".")  # the context itself is never excluded
    assert not m([]).matches("any/path/there")
    assert len(m(["docs", "config", ""]).patterns) == 2
    assert m(["docs", "  !docs/README.md  "]).exclusions
    with pytest.raises(InvalidArgument, match="illegal exclusion"):
        m(["!"])
    with pytest.raises(InvalidArgument, match="syntax error"):
        m(["["])
    with pytest.raises(InvalidArgument, match="syntax error"):
        m(["[Local-Only]/"])  # moby: a bad range found at match time; here when parsed


def test_ignorefile_read_all() -> None:
    text = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n"
    pats = [("!" if p.exclusion else "") + p.text for p in IgnoreMatcher.parse(text).patterns]
    assert pats == ["test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path"]
    # a lone "!" (also "! ") is an error, as docker build says
    for bad in ("!\n", "! \n"):
        with pytest.raises(InvalidArgument, match="illegal exclusion"):
            IgnoreMatcher.parse(bad)
    bom = IgnoreMatcher.parse("\ufeffnode_modules\r\n  # not a comment\n./x/../y/\n")
    assert [p.text for p in bom.patterns] == ["node_modules", "# not a comment", "y"]


def test_from_file(tmp_path: Path) -> None:
    assert IgnoreMatcher.from_file(tmp_path / "missing").patterns == ()
    (tmp_path / ".dockerignore").write_text("*.log\n")
    assert IgnoreMatcher.from_file(tmp_path / ".dockerignore").ignored("a.log")


def test_ignored_and_directory_exceptions() -> None:
    m = IgnoreMatcher.parse("build\n!build/keep\n**/*.tmp\nsecret/\n!secret/../public\n")
    assert m.ignored("build/out.o")
    assert not m.ignored("build/keep")
    assert not m.ignored("build", is_dir=True)  # walked: an exception starts with build/
    assert m.ignored("build")  # as a file it is just excluded
    assert m.ignored("a/b/c.tmp") and m.ignored("/x.tmp")
    assert m.ignored("secret", is_dir=True) and m.ignored("secret/x")
    assert not m.ignored("public") and not m.ignored("")
    # the CLI's walk skips a directory unless an exception starts with its path:
    # "**/keep" re-includes nothing below an excluded directory
    deep = IgnoreMatcher.parse("vendor\n!**/keep\n")
    assert deep.ignored("vendor", is_dir=True) and deep.ignored("vendor/keep")
    assert not deep.matches("vendor/keep")  # though the patterns alone would keep it


def test_wildcard_detection() -> None:
    assert contains_wildcards("*.txt") and contains_wildcards("a?") and contains_wildcards("x[ab]")
    assert not contains_wildcards("plain/path") and not contains_wildcards("a\\*b")
