"""``--change`` instructions: the Dockerfile subset ``docker import``/``commit`` accept."""

from __future__ import annotations

import pytest

from berth.archive.changes import apply_changes
from berth.errors import InvalidArgument


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (['CMD ["sh"]'], {"Cmd": ["sh"]}),
        (["CMD echo hello world"], {"Cmd": ["/bin/sh", "-c", "echo hello world"]}),
        (["cmd [not json"], {"Cmd": ["/bin/sh", "-c", "[not json"]}),
        (['ENTRYPOINT ["/bin/busybox"]'], {"Entrypoint": ["/bin/busybox"]}),
        (["ENTRYPOINT exec top"], {"Entrypoint": ["/bin/sh", "-c", "exec top"]}),
        (['CMD ["a"]', 'ENTRYPOINT ["e"]'], {"Cmd": ["a"], "Entrypoint": ["e"]}),
        (["ENV A=1 B=2"], {"Env": ["A=1", "B=2"]}),
        (['ENV GREETING="hello world" EMPTY='], {"Env": ["GREETING=hello world", "EMPTY="]}),
        (["ENV PATH /usr/bin:/bin"], {"Env": ["PATH=/usr/bin:/bin"]}),
        (["ENV LEGACY a value with spaces"], {"Env": ["LEGACY=a value with spaces"]}),
        (["ENV A=1", "ENV A=2"], {"Env": ["A=2"]}),
        (["ENV A=x\\ y"], {"Env": ["A=x y"]}),
        (["EXPOSE 80 443/tcp 53/udp"], {"ExposedPorts": {"80/tcp": {}, "443/tcp": {}, "53/udp": {}}}),
        (["EXPOSE 8000-8002"], {"ExposedPorts": {"8000/tcp": {}, "8001/tcp": {}, "8002/tcp": {}}}),
        (['LABEL a=b "c d"="e f"'], {"Labels": {"a": "b", "c d": "e f"}}),
        (["LABEL maintainer someone@example.com"], {"Labels": {"maintainer": "someone@example.com"}}),
        (["USER nobody:nogroup"], {"User": "nobody:nogroup"}),
        (["WORKDIR /app"], {"WorkingDir": "/app"}),
        (["WORKDIR /app", "WORKDIR src"], {"WorkingDir": "/app/src"}),
        (["WORKDIR rel"], {"WorkingDir": "/rel"}),
        (['VOLUME ["/data", "/logs"]'], {"Volumes": {"/data": {}, "/logs": {}}}),
        (["VOLUME /data /logs"], {"Volumes": {"/data": {}, "/logs": {}}}),
        (["ONBUILD RUN echo built"], {"OnBuild": ["RUN echo built"]}),
        (["STOPSIGNAL SIGQUIT"], {"StopSignal": "SIGQUIT"}),
        (["STOPSIGNAL 9"], {"StopSignal": "9"}),
        (["HEALTHCHECK NONE"], {"Healthcheck": {"Test": ["NONE"]}}),
        (
            ["HEALTHCHECK --interval=30s --timeout=1m30s --retries=3 CMD wget -q localhost"],
            {"Healthcheck": {"Test": ["CMD-SHELL", "wget -q localhost"], "Interval": 30_000_000_000,
                             "Timeout": 90_000_000_000, "Retries": 3}},
        ),
        (['HEALTHCHECK CMD ["true"]'], {"Healthcheck": {"Test": ["CMD", "true"]}}),
        (["# a comment\nCMD x \\\n  y"], {"Cmd": ["/bin/sh", "-c", "x y"]}),
        (['ENV A=1\nCMD ["sh"]'], {"Env": ["A=1"], "Cmd": ["sh"]}),
        ([], {}),
    ],
)
def test_changes(changes: list[str], expected: dict) -> None:
    assert apply_changes(changes) == expected


def test_entrypoint_resets_an_inherited_cmd() -> None:
    assert apply_changes(['ENTRYPOINT ["e"]'], {"Cmd": ["old"]}) == {"Entrypoint": ["e"]}


def test_changes_do_not_modify_the_base() -> None:
    base = {"Env": ["A=1"]}
    assert apply_changes(["ENV B=2"], base) == {"Env": ["A=1", "B=2"]}
    assert base == {"Env": ["A=1"]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("RUN apt-get update", "RUN is not a valid change command"),
        ("FROM busybox", "FROM is not a valid change command"),
        ("COPY a b", "COPY is not a valid change command"),
        ("CMD", "CMD requires at least one argument"),
        ("ENV ONLYKEY", "ENV ONLYKEY"),
        ("ENV A=1 broken", "is not of the form key=value"),
        ("EXPOSE http", "invalid port"),
        ("EXPOSE 70000", "invalid port range"),
        ("STOPSIGNAL SIGNOPE", "invalid signal"),
        ("ONBUILD ONBUILD RUN x", "Chaining ONBUILD"),
        ("HEALTHCHECK --interval=soon CMD x", "invalid duration"),
        ("HEALTHCHECK --bogus=1 CMD x", "unknown flag"),
        ("HEALTHCHECK wget x", "expected NONE"),
        ('ENV A="unterminated', "unterminated quote"),
        ('VOLUME [""]', "empty string"),
    ],
)
def test_invalid_changes(change: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        apply_changes([change])
