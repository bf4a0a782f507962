"""BuildContext: opening a context, the Dockerfile, COPY/ADD sources (wildcards, .dockerignore,
symlinks kept inside the context) and the checksum that keys the COPY/ADD cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from filekit import write_tree

from berth.build.context import BuildContext, Source, SourceNotFound
from berth.errors import InvalidArgument, NotFound


@pytest.fixture
def ctx_dir(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "ctx", {
        "Dockerfile": "FROM scratch\n",
        "app.py": "print(1)\n",
        "lib.py": "x = 1\n",
        "README.md": "readme\n",
        "src/a.go": "package a\n",
        "src/b.go": "package b\n",
        "src/sub/c.go": "package c\n",
        "docs/guide.md": "guide\n",
    })


def rels(sources: list[Source]) -> list[str]:
    return [s.rel for s in sources]


# -- opening ---------------------------------------------------------------------------------
def test_open_needs_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match='unable to prepare context: path "/nonexistent/ctx" not found'):
        BuildContext.open(Path("/nonexistent/ctx"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidArgument, match="context must be a directory"):
        BuildContext.open(tmp_path / "file")


def test_dockerfile_relative_absolute_lowercase_and_missing(ctx_dir: Path, tmp_path: Path) -> None:
    assert BuildContext.open(ctx_dir).dockerfile_text() == "FROM scratch\n"
    write_tree(ctx_dir, {"build/Dockerfile.dev": "\ufeffFROM dev\n"})
    assert BuildContext.open(ctx_dir, "build/Dockerfile.dev").dockerfile_text() == "FROM dev\n"  # BOM dropped
    outside = write_tree(tmp_path / "elsewhere", {"Df": "FROM outside\n"}) / "Df"
    assert BuildContext.open(ctx_dir, str(outside)).dockerfile_text() == "FROM outside\n"  # -f anywhere
    lower = write_tree(tmp_path / "lower", {"dockerfile": "FROM lower\n"})
    assert BuildContext.open(lower).dockerfile_text() == "FROM lower\n"  # the CLI's fallback
    with pytest.raises(NotFound, match="Cannot locate specified Dockerfile: Nope"):
        BuildContext.open(ctx_dir, "Nope").dockerfile_text()
    with pytest.raises(NotFound, match="Cannot locate specified Dockerfile: src"):
        BuildContext.open(ctx_dir, "src").dockerfile_text()


def test_ignored_dockerfile_and_dockerignore_are_still_read_but_not_copyable(ctx_dir: Path) -> None:
    write_tree(ctx_dir, {".dockerignore": "Dockerfile\n.dockerignore\n*.md\n"})
    ctx = BuildContext.open(ctx_dir)
    assert ctx.dockerfile_text() == "FROM scratch\n"
    assert ctx.ignore.ignored("README.md")
    for name in ("Dockerfile", ".dockerignore", "README.md"):
        with pytest.raises(SourceNotFound):
            ctx.resolve([name])


def test_roots_that_are_not_a_context_skip_dockerignore(ctx_dir: Path) -> None:
    write_tree(ctx_dir, {".dockerignore": "app.py\n"})
    stage = BuildContext.open(ctx_dir, dockerignore=False)  # a stage's rootfs for COPY --from
    assert rels(stage.resolve(["app.py"])) == ["app.py"]


def test_dockerignore_symlinked_out_of_the_context_is_not_followed(ctx_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "host-ignore").write_text("app.py\n")
    (ctx_dir / ".dockerignore").symlink_to(tmp_path / "host-ignore")
    assert rels(BuildContext.open(ctx_dir).resolve(["app.py"])) == ["app.py"]


# -- sources ---------------------------------------------------------------------------------
def test_plain_sources_dot_and_slash(ctx_dir: Path) -> None:
    ctx = BuildContext.open(ctx_dir)
    (app,) = ctx.resolve(["app.py"])
    assert (app.rel, app.name, app.is_dir, app.path) == ("app.py", "app.py", False, ctx_dir / "app.py")
    for whole in (".", "/", "./", "//"):
        (src,) = ctx.resolve([whole])
        assert src.rel == "" and src.is_dir and src.path == ctx_dir
    assert rels(ctx.resolve(["/app.py", "./lib.py", "src/", "src/sub/../a.go"])) == ["app.py", "lib.py", "src",
                                                                                    "src/a.go"]


def test_missing_source_names_it(ctx_dir: Path) -> None:
    ctx = BuildContext.open(ctx_dir)
    msg = "file not found in build context or excluded by .dockerignore: stat nope.txt: file does not exist"
    with pytest.raises(SourceNotFound, match=msg):
        ctx.resolve(["app.py", "/nope.txt"])
    with pytest.raises(SourceNotFound, match=r"stat app\.py/x"):
        ctx.resolve(["app.py/x"])  # a file on the way


@pytest.mark.parametrize("escape", ["../x", "../../etc/passwd", "src/../../x", "/../x", ".."])
def test_paths_climbing_out_are_forbidden(ctx_dir: Path, escape: str) -> None:
    # the classic builder's error (BuildKit would clamp to the root); the host file is never read
    with pytest.raises(InvalidArgument, match=r"forbidden path outside the build context: .* \(\)"):
        BuildContext.open(ctx_dir).resolve([escape])


def test_wildcards_match_per_component_in_walk_order(ctx_dir: Path) -> None:
    ctx = BuildContext.open(ctx_dir)
    assert rels(ctx.resolve(["*.py"])) == ["app.py", "lib.py"]
    assert rels(ctx.resolve(["src/*.go"])) == ["src/a.go", "src/b.go"]  # not src/sub/c.go
    assert rels(ctx.resolve(["src/*/*.go"])) == ["src/sub/c.go"]
    assert rels(ctx.resolve(["/s?c"])) == ["src"]
    assert rels(ctx.resolve(["[al]*.py"])) == ["app.py", "lib.py"]
    assert rels(ctx.resolve(["[^a]*.py"])) == ["lib.py"]
    assert [s.name for s in ctx.resolve(["*"])] == ["Dockerfile", "README.md", "app.py", "docs", "lib.py", "src"]
    with pytest.raises(SourceNotFound, match=r"nothing in the build context matches \*\.rs"):
        ctx.resolve(["*.rs"])
    with pytest.raises(InvalidArgument, match="syntax error in pattern"):
        ctx.resolve(["[a-"])
    with pytest.raises(InvalidArgument, match="forbidden path"):
        ctx.resolve(["../*"])


def test_dockerignore_hides_sources_and_wildcard_matches(ctx_dir: Path) -> None:
    write_tree(ctx_dir, {".dockerignore": "# comment\n*.md\nsrc/sub\n!docs/guide.md\nlib.py\n"})
    ctx = BuildContext.open(ctx_dir)
    assert rels(ctx.resolve(["*"])) == [".dockerignore", "Dockerfile", "app.py", "docs", "src"]
    assert rels(ctx.resolve(["docs/*"])) == ["docs/guide.md"]  # re-included by the exception
    assert rels(ctx.resolve(["src/*"])) == ["src/a.go", "src/b.go"]
    for hidden in ("lib.py", "README.md", "src/sub", "src/sub/c.go"):
        with pytest.raises(SourceNotFound, match=r"excluded by \.dockerignore"):
            ctx.resolve([hidden])


def test_excluded_directory_with_an_exception_exists_only_for_it(ctx_dir: Path) -> None:
    write_tree(ctx_dir, {".dockerignore": "src\n!src/sub/c.go\n"})
    ctx = BuildContext.open(ctx_dir)
    assert rels(ctx.resolve(["src/sub/c.go", "src"])) == ["src/sub/c.go", "src"]
    with pytest.raises(SourceNotFound):
        ctx.resolve(["src/a.go"])


def test_symlinks_are_followed_inside_the_context_only(ctx_dir: Path) -> None:
    (ctx_dir / "passwd-link").symlink_to("/etc/passwd")  # the host's: must not be read
    (ctx_dir / "up-link").symlink_to("../../../../../../etc/passwd")
    (ctx_dir / "dir-link").symlink_to("src")
    (ctx_dir / "abs-in").symlink_to("/app.py")  # absolute: the context's own /app.py
    write_tree(ctx_dir, {"etc/passwd": "context's own passwd\n"})
    ctx = BuildContext.open(ctx_dir)
    for link in ("passwd-link", "up-link"):
        (src,) = ctx.resolve([link])
        assert src.rel == "etc/passwd" and src.name == link and src.path == ctx_dir / "etc" / "passwd"
    (d,) = ctx.resolve(["dir-link"])
    assert (d.rel, d.is_dir, d.name) == ("src", True, "dir-link")
    assert rels(ctx.resolve(["dir-link/sub/c.go", "abs-in"])) == ["src/sub/c.go", "app.py"]
    (ctx_dir / "etc" / "passwd").unlink()
    with pytest.raises(SourceNotFound):
        ctx.resolve(["passwd-link"])  # dangling inside the context, not the host file
    (ctx_dir / "loop").symlink_to("loop")
    with pytest.raises(InvalidArgument, match="too many levels"):
        ctx.resolve(["loop"])


def test_a_link_to_an_ignored_file_does_not_reach_it(ctx_dir: Path) -> None:
    write_tree(ctx_dir, {".dockerignore": "secret.txt\n", "secret.txt": "s3cr3t\n"})
    (ctx_dir / "innocent").symlink_to("secret.txt")
    with pytest.raises(SourceNotFound):
        BuildContext.open(ctx_dir).resolve(["innocent"])


# -- checksum --------------------------------------------------------------------------------
def digest(root: Path, *sources: str) -> str:
    ctx = BuildContext.open(root)
    return ctx.checksum(ctx.resolve(list(sources)))


def test_checksum_is_stable_and_equal_for_equal_trees(ctx_dir: Path, tmp_path: Path) -> None:
    first = digest(ctx_dir, ".")
    assert first.startswith("sha256:") and len(first) == 71
    assert digest(ctx_dir, ".") == first
    twin = tmp_path / "twin"
    twin.mkdir()
    for p in sorted(ctx_dir.rglob("*")):  # the same tree, made in another order at other times
        target = twin / p.relative_to(ctx_dir)
        if p.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(p.read_bytes())
    os.utime(twin / "app.py", (1, 1))
    assert digest(twin, ".") == first
    assert digest(ctx_dir, "src", "app.py") != digest(ctx_dir, "app.py", "src")  # order is the copy's order


def test_checksum_ignores_mtime_and_owner(ctx_dir: Path) -> None:
    before = digest(ctx_dir, ".")
    os.utime(ctx_dir / "src" / "a.go", (12345, 12345))
    os.utime(ctx_dir / "src", (12345, 12345))
    os.chown(ctx_dir / "lib.py", 1234, 5678)
    assert digest(ctx_dir, ".") == before


@pytest.mark.parametrize("change", ["content", "mode", "rename", "new file", "symlink target", "dockerignore",
                                    "empty dir"])
def test_checksum_changes_with_what_is_copied(ctx_dir: Path, change: str) -> None:
    (ctx_dir / "link").symlink_to("app.py")
    before = digest(ctx_dir, ".")
    if change == "content":
        (ctx_dir / "src" / "a.go").write_text("package A\n")
    elif change == "mode":
        os.chmod(ctx_dir / "app.py", 0o755)
    elif change == "rename":
        (ctx_dir / "lib.py").rename(ctx_dir / "lib2.py")
    elif change == "new file":
        (ctx_dir / "src" / "new.go").write_text("")
    elif change == "symlink target":
        (ctx_dir / "link").unlink()
        (ctx_dir / "link").symlink_to("lib.py")
    elif change == "dockerignore":
        (ctx_dir / ".dockerignore").write_text("docs\n")
        before = digest(ctx_dir, "src", "app.py")  # .dockerignore itself is not among these sources
        (ctx_dir / ".dockerignore").write_text("src/sub\n")
    elif change == "empty dir":
        (ctx_dir / "src" / "empty").mkdir()
    if change == "dockerignore":
        assert digest(ctx_dir, "src", "app.py") != before
    else:
        assert digest(ctx_dir, ".") != before


def test_checksum_of_a_file_source_covers_its_name(ctx_dir: Path) -> None:
    write_tree(ctx_dir, {"copy.py": "print(1)\n"})  # same content as app.py
    assert digest(ctx_dir, "app.py") != digest(ctx_dir, "copy.py")  # they land under different names
    (ctx_dir / "alias").symlink_to("app.py")
    assert digest(ctx_dir, "alias") != digest(ctx_dir, "app.py")  # copied as "alias"


def test_checksum_of_a_dir_is_of_its_visible_contents(ctx_dir: Path) -> None:
    before = digest(ctx_dir, "src")
    (ctx_dir / ".dockerignore").write_text("src/b.go\n")
    after = digest(ctx_dir, "src")
    assert after != before
    (ctx_dir / "src" / "b.go").write_text("changed but ignored\n")
    assert digest(ctx_dir, "src") == after


def test_checksum_of_host_files_and_other_roots(tmp_path: Path) -> None:
    f = tmp_path / "dl" / "file.bin"
    f.parent.mkdir()
    f.write_bytes(b"\x00" * 10)
    src = Source.host_file(f)
    ctx = BuildContext.open(tmp_path / "dl")
    assert ctx.checksum([src]) == ctx.checksum(ctx.resolve(["file.bin"]))
