"""-v, --mount, --tmpfs, --volumes-from."""

from __future__ import annotations

import pytest

from berth.containers.parse import parse_mount, parse_tmpfs, parse_volume, parse_volumes_from
from berth.containers.spec import Mount
from berth.errors import InvalidArgument


@pytest.mark.parametrize(
    ("text", "mount"),
    [
        ("/data/mysql:/var/lib/mysql", Mount("bind", "/var/lib/mysql", "/data/mysql")),
        ("/root/docker/c1:/c1", Mount("bind", "/c1", "/root/docker/c1")),
        ("/etc/app.conf:/etc/app.conf:ro", Mount("bind", "/etc/app.conf", "/etc/app.conf", True)),
        ("/src/:/app/./x/", Mount("bind", "/app/x", "/src")),
        ("/src:/app:rw", Mount("bind", "/app", "/src")),
        ("/src:/app:ro,z", Mount("bind", "/app", "/src", True, ("z",))),
        ("/src:/app:rslave,Z", Mount("bind", "/app", "/src", False, ("Z", "rslave"))),
        ("/src:/app:cached", Mount("bind", "/app", "/src")),
        ("mydata:/var/lib/mysql", Mount("volume", "/var/lib/mysql", "mydata")),
        ("my.data_1-x:/d:ro,nocopy", Mount("volume", "/d", "my.data_1-x", True, ("nocopy",))),
        ("/volume", Mount("volume", "/volume")),
        ("/volume:ro", Mount("volume", "/volume", "", True)),
        ("/volume:nocopy", Mount("volume", "/volume", "", False, ("nocopy",))),
    ],
)
def test_volume(text: str, mount: Mount) -> None:
    assert parse_volume(text) == mount


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("./data:/data", "invalid characters for a local volume name"),
        ("data/sub:/data", "absolute path"),
        ("~/x:/x", "invalid characters"),
        ("a:/data", "too short"),
        ("/src:app", "must be absolute"),
        ("relative", "must be absolute"),
        ("/src:/", "can't be '/'"),
        ("/", "can't be '/'"),
        ("/src:/app:bogus", "invalid mode: bogus"),
        ("/src:/app:ro,rw", "invalid mode"),
        ("/src:/app:ro,", "invalid mode"),
        ("/src:/app:nocopy", "nocopy applies to volumes"),
        ("vol:/app:rshared", "propagation applies to bind"),
        (":/app", "expected"),
        ("", "expected"),
        ("/a:/b:ro:x", "expected"),
        ("/src:", "must be absolute"),
    ],
)
def test_bad_volume(text: str, needle: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_volume(text)
    assert str(info.value).startswith(f'invalid --volume value "{text}": ')
    assert needle in str(info.value)


@pytest.mark.parametrize(
    ("text", "mount"),
    [
        ("type=bind,source=/srv/www,target=/usr/share/nginx/html,readonly",
         Mount("bind", "/usr/share/nginx/html", "/srv/www", True, create_host_path=False)),
        ("type=bind,src=/a,dst=/b,ro=false,bind-propagation=rshared",
         Mount("bind", "/b", "/a", False, ("rshared",), create_host_path=False)),
        ('"type=bind","source=/a,b",target=/c', Mount("bind", "/c", "/a,b", create_host_path=False)),
        ("type=volume,source=data,destination=/data,volume-nocopy",
         Mount("volume", "/data", "data", options=("nocopy",), create_host_path=False)),
        ("target=/anon", Mount("volume", "/anon", create_host_path=False)),
        ("type=volume,target=/v,volume-driver=local,ro=1", Mount("volume", "/v", "", True, create_host_path=False)),
        ("type=tmpfs,target=/run,tmpfs-size=64m,tmpfs-mode=1777",
         Mount("tmpfs", "/run", options=("size=67108864", "mode=1777"), create_host_path=False)),
        ("Type=TMPFS,Target=/t,tmpfs-mode=700", Mount("tmpfs", "/t", options=("mode=700",), create_host_path=False)),
    ],
)
def test_mount(text: str, mount: Mount) -> None:
    assert parse_mount(text) == mount


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("type=bind,target=/x", "source is required"),
        ("type=bind,source=rel,target=/x", "must be an absolute path"),
        ("type=bind,source=/a", "target is required"),
        ("type=tmpfs,source=/a,target=/x", "source must not be specified"),
        ("type=npipe,target=/x", "not supported"),
        ("type=volume,source=./x,target=/x", "invalid characters"),
        ("type=bind,source=/a,target=/x,tmpfs-size=1m", "cannot mix 'tmpfs-size'"),
        ("type=tmpfs,target=/x,volume-nocopy", "cannot mix 'volume-nocopy'"),
        ("type=volume,target=/x,bind-propagation=shared", "cannot mix"),
        ("type=tmpfs,target=/x,tmpfs-size=lots", "invalid value for tmpfs-size"),
        ("type=tmpfs,target=/x,tmpfs-mode=999", "invalid value for tmpfs-mode"),
        ("type=bind,source=/a,target=/x,bind-propagation=weird", "invalid value for bind-propagation"),
        ("type=bind,source=/a,target=/x,readonly=maybe", "invalid value for readonly"),
        ("type=bind,source=/a,target=/x,colour=blue", "unexpected key 'colour'"),
        ("type=bind,source=/a,target=/x,bogus", "must be a key=value pair"),
        ("type=volume,target=/x,volume-driver=nfs", "not supported"),
        ("type=volume,target=/x,volume-opt=a=b", "not supported"),
        ("type=bind,source=/a,target=relative", "must be absolute"),
    ],
)
def test_bad_mount(text: str, needle: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_mount(text)
    assert str(info.value).startswith(f'invalid --mount value "{text}": ')
    assert needle in str(info.value)


@pytest.mark.parametrize(
    ("text", "mount"),
    [
        ("/run", Mount("tmpfs", "/run")),
        ("/run:rw,size=64m", Mount("tmpfs", "/run", options=("size=67108864",))),
        ("/run:ro,noexec,nosuid,size=50%,mode=1777,uid=1000",
         Mount("tmpfs", "/run", read_only=True, options=("noexec", "nosuid", "size=50%", "mode=1777", "uid=1000"))),
    ],
)
def test_tmpfs(text: str, mount: Mount) -> None:
    assert parse_tmpfs(text) == mount


@pytest.mark.parametrize(("text", "needle"), [
    ("run", "must be absolute"), ("/run:size=lots", "invalid value for size"), ("/run:bind", "invalid tmpfs option"),
    ("/run:colour=blue", "invalid tmpfs option"), ("/run:mode=8", "invalid value for mode"), ("/:size=1m", "'/'"),
])
def test_bad_tmpfs(text: str, needle: str) -> None:
    with pytest.raises(InvalidArgument, match="--tmpfs") as info:
        parse_tmpfs(text)
    assert needle in str(info.value) and f'"{text}"' in str(info.value)


def test_volumes_from() -> None:
    assert parse_volumes_from("test_1") == "test_1"
    assert parse_volumes_from("test_1:ro") == "test_1:ro"
    for bad in ("", ":ro", "test_1:rx"):
        with pytest.raises(InvalidArgument, match="--volumes-from"):
            parse_volumes_from(bad)
