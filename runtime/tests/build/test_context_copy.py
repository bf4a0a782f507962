"""copy_into: Docker's COPY rules into a rootfs (a tmp dir standing for the mounted overlay),
and no write outside it whatever symlinks the image holds."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from filekit import write_tree

from berth.build.context import BuildContext, CopyFailed, IgnoreMatcher, Source, copy_into
from berth.errors import InvalidArgument


@pytest.fixture
def ctx(tmp_path: Path) -> BuildContext:
    root = write_tree(tmp_path / "ctx", {
        "app.py": "app\n",
        "lib.py": "lib\n",
        "conf/app.ini": "[app]\n",
        "conf/sub/deep.ini": "deep\n",
    })
    os.chmod(root / "app.py", 0o751)
    os.utime(root / "lib.py", (1_000_000, 1_000_000))
    (root / "conf" / "link").symlink_to("app.ini")
    os.chown(root / "lib.py", 4321, 4321)  # a context file's owner is never kept
    return BuildContext.open(root)


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    r = tmp_path / "rootfs"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (r / "app").mkdir()
    return r


def owner(p: Path) -> tuple[int, int]:
    st = os.lstat(p)
    return st.st_uid, st.st_gid


def mode(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


# -- Docker's path rules ------------------------------------------------------------------------
def test_file_to_a_new_name_into_a_dir_and_relative_to_workdir(ctx: BuildContext, rootfs: Path) -> None:
    copy_into(rootfs, ctx.resolve(["app.py"]), "/opt/new/name.py")  # missing parents made
    assert (rootfs / "opt/new/name.py").read_text() == "app\n"
    assert mode(rootfs / "opt/new/name.py") == 0o751 and mode(rootfs / "opt/new") == 0o755
    copy_into(rootfs, ctx.resolve(["app.py"]), "/srv/")  # trailing slash: into a directory, made
    assert (rootfs / "srv/app.py").is_file()
    copy_into(rootfs, ctx.resolve(["lib.py"]), "/app")  # an existing directory: into it
    assert (rootfs / "app/lib.py").read_text() == "lib\n"
    assert os.stat(rootfs / "app/lib.py").st_mtime == 1_000_000  # mtime kept
    assert owner(rootfs / "app/lib.py") == (0, 0)
    copy_into(rootfs, ctx.resolve(["lib.py"]), "rel/x.py", workdir="/app")
    copy_into(rootfs, ctx.resolve(["lib.py"]), ".", workdir="/work")
    assert (rootfs / "app/rel/x.py").is_file() and (rootfs / "work/lib.py").is_file()


def test_directory_contents_are_copied_not_the_directory(ctx: BuildContext, rootfs: Path) -> None:
    copy_into(rootfs, ctx.resolve(["conf"]), "/etc/myapp")
    assert sorted(p.name for p in (rootfs / "etc/myapp").iterdir()) == ["app.ini", "link", "sub"]
    assert os.readlink(rootfs / "etc/myapp/link") == "app.ini"  # symlinks stay symlinks
    assert (rootfs / "etc/myapp/sub/deep.ini").read_text() == "deep\n"
    copy_into(rootfs, ctx.resolve(["conf"]), "/app/")  # into an existing directory: merged
    assert (rootfs / "app/app.ini").is_file() and not (rootfs / "app/conf").exists()
    copy_into(rootfs, ctx.resolve(["."]), "/whole")
    assert (rootfs / "whole/app.py").is_file() and (rootfs / "whole/conf/sub/deep.ini").is_file()


def test_several_sources_or_a_wildcard_need_a_directory(ctx: BuildContext, rootfs: Path) -> None:
    copy_into(rootfs, ctx.resolve(["app.py", "lib.py"]), "/multi")  # several: a directory, made
    assert sorted(p.name for p in (rootfs / "multi").iterdir()) == ["app.py", "lib.py"]
    copy_into(rootfs, ctx.resolve(["*.py"]), "/glob/")
    assert sorted(p.name for p in (rootfs / "glob").iterdir()) == ["app.py", "lib.py"]
    (rootfs / "afile").write_text("x")
    with pytest.raises(CopyFailed, match=r"afile is not a directory .*more than one source"):
        copy_into(rootfs, ctx.resolve(["app.py", "lib.py"]), "/afile")
    # one match of a wildcard to a name without "/": a file, as Docker (COPY target/*.jar app.jar)
    copy_into(rootfs, ctx.resolve(["a*.py"]), "/app.jar")
    assert (rootfs / "app.jar").read_text() == "app\n"
    with pytest.raises(InvalidArgument, match="no source files"):
        copy_into(rootfs, [], "/x/")


def test_replacing_existing_entries(ctx: BuildContext, rootfs: Path) -> None:
    (rootfs / "app" / "app.py").mkdir()  # a directory where the file goes: replaced (Docker's untar)
    (rootfs / "app" / "app.py" / "junk").write_text("x")
    copy_into(rootfs, ctx.resolve(["app.py"]), "/app/")
    assert (rootfs / "app/app.py").read_text() == "app\n"
    with pytest.raises(CopyFailed, match="not a directory"):
        copy_into(rootfs, ctx.resolve(["conf"]), "/app/app.py")  # a directory onto a file
    (rootfs / "app/x").mkdir()
    (rootfs / "app/x/y").write_text("")
    with pytest.raises(CopyFailed, match="parent of /app/x/y/z is not a directory"):
        copy_into(rootfs, ctx.resolve(["app.py"]), "/app/x/y/z")


# -- owner and mode -----------------------------------------------------------------------------
def test_chown_applies_to_copies_and_made_directories(ctx: BuildContext, rootfs: Path) -> None:
    os.chown(rootfs / "app", 7, 7)
    copy_into(rootfs, ctx.resolve(["conf"]), "/app/new/conf", chown=(1000, 1001))
    for p in ("app/new", "app/new/conf", "app/new/conf/app.ini", "app/new/conf/link", "app/new/conf/sub/deep.ini"):
        assert owner(rootfs / p) == (1000, 1001), p
    assert owner(rootfs / "app") == (7, 7)  # an existing directory keeps its owner
    copy_into(rootfs, ctx.resolve(["app.py"]), "/app/", chown=(5, 6))
    assert owner(rootfs / "app/app.py") == (5, 6)


def test_chmod_applies_to_files_and_directories(ctx: BuildContext, rootfs: Path) -> None:
    copy_into(rootfs, ctx.resolve(["app.py", "conf"]), "/m/", chmod=0o640)
    assert mode(rootfs / "m/app.ini") == 0o640 and mode(rootfs / "m/sub") == 0o640
    assert mode(rootfs / "m/app.py") == 0o640
    assert mode(rootfs / "m") == 0o755  # made on the way for app.py: not a copy
    copy_into(rootfs, ctx.resolve(["conf"]), "/fresh", chmod=0o700)
    assert mode(rootfs / "fresh") == 0o700  # made for conf's contents: conf's copy
    os.chmod(ctx.root / "conf", 0o750)
    copy_into(rootfs, ctx.resolve(["conf"]), "/fresh2")
    assert mode(rootfs / "fresh2") == 0o750


def test_setuid_survives_the_chown(tmp_path: Path, rootfs: Path) -> None:
    root = write_tree(tmp_path / "c", {"suid": "x"})
    os.chmod(root / "suid", 0o4755)
    copy_into(rootfs, BuildContext.open(root).resolve(["suid"]), "/bin/", chown=(1, 1))
    assert mode(rootfs / "bin/suid") == 0o4755


# -- .dockerignore inside copied directories ---------------------------------------------------
def test_ignored_content_of_a_directory_is_not_copied(tmp_path: Path, rootfs: Path) -> None:
    root = write_tree(tmp_path / "c", {
        ".dockerignore": "**/*.log\nconf/sub\nbuild\n!build/keep/me\n",
        "conf/a.ini": "", "conf/x.log": "", "conf/sub/deep": "", "top.log": "",
        "build/out.o": "", "build/keep/me": "kept\n", "build/keep/not": "",
    })
    ctx = BuildContext.open(root)
    copy_into(rootfs, ctx.resolve(["."]), "/c")
    found = sorted(str(p.relative_to(rootfs / "c")) for p in (rootfs / "c").rglob("*"))
    assert found == [".dockerignore", "build", "build/keep", "build/keep/me", "conf", "conf/a.ini"]
    assert mode(rootfs / "c/build") == 0o755  # an implied parent of the re-included file
    # an explicit matcher (its patterns are relative to the context, as the source's rel)
    copy_into(rootfs, [Source(root, "conf", "conf", True)], "/d", ignore=IgnoreMatcher.parse("conf/a.ini\n"))
    assert sorted(p.name for p in (rootfs / "d").iterdir()) == ["sub", "x.log"]


# -- safety ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("link", ["/", "../../..", "/etc/..", "../../../../../../../../"])
def test_image_symlink_to_root_keeps_writes_in_the_rootfs(ctx: BuildContext, rootfs: Path, tmp_path: Path,
                                                          link: str) -> None:
    (rootfs / "escape").symlink_to(link)
    copy_into(rootfs, ctx.resolve(["app.py"]), "/escape/etc/berth-evil")
    copy_into(rootfs, ctx.resolve(["conf"]), "/escape/tmp/")
    assert (rootfs / "etc/berth-evil").read_text() == "app\n"  # the rootfs's own /etc
    assert (rootfs / "tmp/app.ini").is_file()
    assert not Path("/etc/berth-evil").exists() and not (tmp_path / "etc").exists()


def test_image_symlink_to_etc_is_followed_inside(ctx: BuildContext, rootfs: Path) -> None:
    (rootfs / "dest").symlink_to("/etc")
    copy_into(rootfs, ctx.resolve(["lib.py"]), "/dest/")
    assert (rootfs / "etc/lib.py").is_file()
    (rootfs / "etc/passwd-link").symlink_to("/etc/passwd")
    copy_into(rootfs, ctx.resolve(["lib.py"]), "/etc/passwd-link")  # a file path through a link: its target
    assert (rootfs / "etc/passwd").read_text() == "lib\n"
    assert Path("/etc/passwd").read_text() != "lib\n"
    # a symlink where a file lands *inside* a directory is replaced, not followed
    (rootfs / "app/lib.py").symlink_to("/etc/shadow")
    copy_into(rootfs, ctx.resolve(["lib.py"]), "/app/")
    assert (rootfs / "app/lib.py").is_file() and not (rootfs / "app/lib.py").is_symlink()


def test_image_symlinks_inside_a_merged_directory_are_replaced(ctx: BuildContext, rootfs: Path,
                                                                tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (rootfs / "app" / "sub").symlink_to(victim)  # conf/sub would be written through it
    (rootfs / "app" / "app.ini").symlink_to(victim / "file")
    copy_into(rootfs, ctx.resolve(["conf"]), "/app")
    assert list(victim.iterdir()) == []
    assert (rootfs / "app/sub").is_dir() and not (rootfs / "app/sub").is_symlink()
    assert (rootfs / "app/app.ini").read_text() == "[app]\n"


def test_context_symlink_to_host_file_copies_the_contexts_own(tmp_path: Path, rootfs: Path) -> None:
    root = write_tree(tmp_path / "c", {"etc/passwd": "mine\n"})
    (root / "pw").symlink_to("/etc/passwd")
    (root / "dir").mkdir()
    (root / "dir" / "pw").symlink_to("/etc/passwd")  # nested: copied as a symlink, never read
    ctx = BuildContext.open(root)
    copy_into(rootfs, ctx.resolve(["pw"]), "/out/")
    assert (rootfs / "out/pw").read_text() == "mine\n"  # named after the link, content of the context's file
    copy_into(rootfs, ctx.resolve(["dir"]), "/dir")
    assert os.readlink(rootfs / "dir/pw") == "/etc/passwd"


def test_host_files_as_pairs_or_paths(tmp_path: Path, rootfs: Path) -> None:
    dl = tmp_path / "dl"
    dl.mkdir()
    (dl / "__unnamed__").write_text("x")
    (dl / "tool").write_text("y")
    copy_into(rootfs, [(dl / "__unnamed__", "renamed"), dl / "tool"], "/usr/local/bin/")
    assert (rootfs / "usr/local/bin/renamed").read_text() == "x" and (rootfs / "usr/local/bin/tool").is_file()


def test_special_files(tmp_path: Path, rootfs: Path) -> None:
    root = tmp_path / "c"
    root.mkdir()
    os.mkfifo(root / "fifo", 0o640)
    import socket

    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock"))
    try:
        copy_into(rootfs, BuildContext.open(root).resolve(["."]), "/s")
    finally:
        sock.close()
    assert stat.S_ISFIFO(os.lstat(rootfs / "s/fifo").st_mode) and mode(rootfs / "s/fifo") == 0o640
    assert not (rootfs / "s/sock").exists()  # sockets are not copied, as Docker's tar
