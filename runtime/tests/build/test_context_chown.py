"""parse_chown: moby's parseChownFlag against a fake rootfs with etc/passwd and etc/group."""

from __future__ import annotations

from pathlib import Path

import pytest

from berth.build.context import parse_chown
from berth.errors import InvalidArgument


@pytest.fixture
def root(tmp_path: Path) -> Path:
    etc = tmp_path / "rootfs" / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                "app:x:1000:1000::/home/app:/bin/sh\n"
                                "# a comment\n"
                                "web:x:33:33::/var/www:/usr/sbin/nologin\n"
                                "solo:x:2000:100::/home/solo:/bin/sh\n")
    (etc / "group").write_text("root:x:0:\napp:x:1000:\nstaff:x:50:app\nweb:x:33:\nusers:x:100:\n")
    return tmp_path / "rootfs"


@pytest.mark.parametrize(("spec", "ids"), [
    ("0", (0, 0)),
    ("1000", (1000, 1000)),  # no group: the uid doubles as the gid
    ("1234:5678", (1234, 5678)),  # numbers need no entry
    ("55555", (55555, 55555)),
    ("app", (1000, 1000)),  # a name alone: the group of the same name
    ("app:staff", (1000, 50)),
    ("web:users", (33, 100)),
    ("1000:staff", (1000, 50)),
    ("app:0", (1000, 0)),
    ("solo:users", (2000, 100)),
])
def test_specs(root: Path, spec: str, ids: tuple[int, int]) -> None:
    assert parse_chown(spec, root) == ids


def test_a_name_alone_needs_a_group_of_that_name(root: Path) -> None:
    # moby uses the user spec as the group spec: not the user's primary group
    with pytest.raises(InvalidArgument, match="can't find gid for group solo: no such group: solo"):
        parse_chown("solo", root)


def test_unknown_names_and_bad_specs(root: Path) -> None:
    with pytest.raises(InvalidArgument, match="can't find uid for user nobody: no such user: nobody"):
        parse_chown("nobody:staff", root)
    with pytest.raises(InvalidArgument, match="no such group: wheel"):
        parse_chown("app:wheel", root)
    with pytest.raises(InvalidArgument, match="invalid chown string format: a:b:c"):
        parse_chown("a:b:c", root)
    with pytest.raises(InvalidArgument, match="range"):
        parse_chown("99999999999", root)


def test_files_are_read_inside_the_rootfs(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").symlink_to("/etc/passwd")  # the host's: resolved in the rootfs, missing there
    (root / "etc" / "group").symlink_to("../../../../../etc/group")
    with pytest.raises(InvalidArgument, match="no such user: root"):
        parse_chown("root", root)
    assert parse_chown("0:0", root) == (0, 0)
    with pytest.raises(InvalidArgument, match="no such user"):
        parse_chown("root", tmp_path / "empty")  # no /etc at all
