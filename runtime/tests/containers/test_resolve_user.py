"""resolve_user against a handmade rootfs, and reading files inside a rootfs safely."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from berth.containers.rootfs import read_in_root
from berth.containers.users import ExecUser, lookup_user, resolve_user
from berth.errors import InvalidArgument

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
# a comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
app:x:1000:1000:App:/home/app:/bin/sh
mysql:x:999:999::/nonexistent:/bin/false
broken:x:notanumber:1::/:/bin/sh
"""
GROUP = """\
root:x:0:
adm:x:4:app,daemon
www-data:x:33:
staff:x:50:app
app:x:1000:
mysql:x:999:
wheel:x:10:root
"""


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    return root


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (None, (0, 0, (10,))),
        ("", (0, 0, (10,))),
        ("root", (0, 0, (10,))),
        ("app", (1000, 1000, (4, 50))),
        ("1000", (1000, 1000, (4, 50))),  # a uid finds its passwd entry and groups
        ("www-data", (33, 33, ())),
        ("mysql", (999, 999, ())),
        ("4242", (4242, 0, ())),  # a numeric uid need not exist
        ("app:staff", (1000, 50, ())),  # an explicit group: no supplementary groups
        ("app:33", (1000, 33, ())),
        ("1000:1000", (1000, 1000, ())),
        ("4242:4242", (4242, 4242, ())),
        ("daemon:adm", (1, 4, ())),
        (":adm", (0, 4, ())),
    ],
)
def test_resolve(rootfs: Path, user: str | None, expected: tuple) -> None:
    assert resolve_user(rootfs, user) == expected


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("nobody", "unable to find user nobody: no matching entries in passwd file"),
        ("broken", "unable to find user broken: no matching entries in passwd file"),
        ("app:nogroup", "unable to find group nogroup: no matching entries in group file"),
        ("2147483648", "uids and gids must be in range"),
        ("app:2147483648", "uids and gids must be in range"),
    ],
)
def test_errors(rootfs: Path, user: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        resolve_user(rootfs, user)
    assert message in str(info.value)


def test_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert resolve_user(empty, None) == (0, 0, ())
    assert resolve_user(empty, "1000:1000") == (1000, 1000, ())
    with pytest.raises(InvalidArgument, match="unable to find user app: no matching entries in passwd file"):
        resolve_user(empty, "app")


def test_symlink_out_of_rootfs_is_not_followed(tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "passwd").write_text("evil:x:0:0::/:/bin/sh\n")
    (host / "group").write_text("evil:x:0:evil\n")
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").symlink_to(host / "passwd")  # absolute: resolved inside the rootfs
    (root / "etc" / "group").symlink_to("../../../../../../../../" + str(host / "group"))  # .. stops at /
    with pytest.raises(InvalidArgument, match="unable to find user evil"):
        resolve_user(root, "evil")
    assert resolve_user(root, None) == (0, 0, ())


def test_etc_symlinked_out_of_rootfs(tmp_path: Path) -> None:
    host_etc = tmp_path / "hostetc"
    host_etc.mkdir()
    (host_etc / "passwd").write_text("evil:x:0:0::/:/bin/sh\n")
    root = tmp_path / "rootfs"
    root.mkdir()
    (root / "etc").symlink_to(host_etc)
    with pytest.raises(InvalidArgument, match="unable to find user evil"):
        resolve_user(root, "evil")


def test_symlinks_inside_rootfs_are_followed(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "usr" / "share" / "base").mkdir(parents=True)
    (root / "usr" / "share" / "base" / "passwd").write_text("app:x:1000:1000::/:/bin/sh\n")
    (root / "etc").symlink_to("usr/share/base")
    (root / "usr" / "share" / "base" / "group").symlink_to("/etc/grp.real")  # absolute, in the rootfs
    (root / "usr" / "share" / "base" / "grp.real").write_text("staff:x:50:app\n")
    assert resolve_user(root, "app") == (1000, 1000, (50,))


def test_read_in_root_edge_cases(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "file").write_text("ok")
    (root / "etc" / "loop").symlink_to("loop")
    (root / "etc" / "dir").mkdir()
    os.mkfifo(root / "etc" / "fifo")
    assert read_in_root(root, "/etc/file") == b"ok"
    assert read_in_root(root, "etc/./dir/../file") == b"ok"
    assert read_in_root(root, "/../../etc/file") == b"ok"
    for missing in ("/etc/loop", "/etc/dir", "/etc/fifo", "/etc/file/x", "/nope", "/"):
        assert read_in_root(root, missing) is None, missing
    assert read_in_root(root, "/etc/file", limit=1) == b"o"


def test_lookup_user_gives_home(rootfs: Path) -> None:
    assert lookup_user(rootfs, "app") == ExecUser(1000, 1000, (4, 50), "/home/app")
    assert lookup_user(rootfs, None).home == "/root"
    assert lookup_user(rootfs, "4242").home == "/"
    assert lookup_user(rootfs, "mysql:adm") == ExecUser(999, 4, (), "/nonexistent")
