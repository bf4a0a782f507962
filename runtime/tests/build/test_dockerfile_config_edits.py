"""How instructions edit an image config (Docker's dispatchers), shared by the builder and --change."""

from __future__ import annotations

from typing import Any

import pytest

from berth.build.dockerfile import ShellLex, parse_instructions
from berth.build.dockerfile import instructions as ins
from berth.build.dockerfile.config_edits import EDITS_CONFIG, apply_instruction, command_argv
from berth.errors import InvalidArgument


def apply(text: str, config: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    """A stage's config edits as a builder makes them: each instruction expanded with the
    config's Env at that point (plus ``env``, say build args), then applied, CMD tracked."""
    cfg: dict[str, Any] = dict(config or {})
    cmd_set = False
    for instr in parse_instructions(text):
        scope = {**(env or {}), **dict(e.split("=", 1) for e in cfg.get("Env") or [])}
        cmd_set = apply_instruction(cfg, instr.expand(ShellLex(), scope), cmd_set_in_stage=cmd_set)
    return cfg


@pytest.mark.parametrize(
    ("text", "base", "expected"),
    [
        ('CMD ["python", "app.py"]', {}, {"Cmd": ["python", "app.py"]}),
        ("CMD echo $HOME", {}, {"Cmd": ["/bin/sh", "-c", "echo $HOME"]}),  # the shell expands it at run time
        ('SHELL ["/bin/bash", "-eu", "-c"]\nCMD echo hi', {},
         {"Shell": ["/bin/bash", "-eu", "-c"], "Cmd": ["/bin/bash", "-eu", "-c", "echo hi"]}),
        ("CMD echo hi", {"Shell": ["/bin/ash", "-c"]},
         {"Shell": ["/bin/ash", "-c"], "Cmd": ["/bin/ash", "-c", "echo hi"]}),
        ("CMD []", {"Cmd": ["old"]}, {"Cmd": []}),
        ("ENTRYPOINT exec top", {}, {"Entrypoint": ["/bin/sh", "-c", "exec top"]}),
        # ENTRYPOINT drops an inherited CMD ...
        ('ENTRYPOINT ["e"]', {"Cmd": ["inherited"]}, {"Entrypoint": ["e"]}),
        # ... but not one set earlier in the same stage, before or after it
        ('CMD ["c"]\nENTRYPOINT ["e"]', {"Cmd": ["inherited"]}, {"Cmd": ["c"], "Entrypoint": ["e"]}),
        ('ENTRYPOINT ["e"]\nCMD ["c"]', {"Cmd": ["inherited"]}, {"Cmd": ["c"], "Entrypoint": ["e"]}),
        ("ENTRYPOINT []", {"Entrypoint": ["old"], "Cmd": ["x"]}, {"Entrypoint": None}),
        ("ENV A=1 B=2", {}, {"Env": ["A=1", "B=2"]}),
        # replaced in place, appended otherwise
        ("ENV B=new C=3", {"Env": ["PATH=/bin", "B=old", "Z=9"]}, {"Env": ["PATH=/bin", "B=new", "Z=9", "C=3"]}),
        ("ENV PATH=/opt/bin:$PATH", {"Env": ["PATH=/bin"]}, {"Env": ["PATH=/opt/bin:/bin"]}),
        ("ENV A=1\nENV B=$A C=$B", {"Env": ["B=0"]}, {"Env": ["B=1", "A=1", "C=0"]}),
        ("ENV NAME World", {}, {"Env": ["NAME=World"]}),
        ('ENV GREETING="hello world" EMPTY=', {}, {"Env": ["GREETING=hello world", "EMPTY="]}),
        ("EXPOSE 5000", {}, {"ExposedPorts": {"5000/tcp": {}}}),
        ("EXPOSE 80/tcp 53/UDP 9000-9002/sctp", {"ExposedPorts": {"22/tcp": {}}},
         {"ExposedPorts": {"22/tcp": {}, "80/tcp": {}, "53/udp": {}, "9000/sctp": {}, "9001/sctp": {},
                           "9002/sctp": {}}}),
        ("LABEL a=b \"c d\"='e f'", {"Labels": {"a": "old", "keep": "1"}},
         {"Labels": {"a": "b", "keep": "1", "c d": "e f"}}),
        ("USER alexwoo", {}, {"User": "alexwoo"}),
        ("WORKDIR /app", {}, {"WorkingDir": "/app"}),
        ("WORKDIR /app\nWORKDIR src/../lib", {}, {"WorkingDir": "/app/lib"}),
        ("WORKDIR rel", {}, {"WorkingDir": "/rel"}),
        ("WORKDIR sub", {"WorkingDir": "/home/app"}, {"WorkingDir": "/home/app/sub"}),
        ("WORKDIR //double/", {}, {"WorkingDir": "/double"}),
        ('VOLUME ["/data", "/logs"]', {"Volumes": {"/old": {}}}, {"Volumes": {"/old": {}, "/data": {}, "/logs": {}}}),
        ("VOLUME /var/lib/mysql", {"Volumes": None}, {"Volumes": {"/var/lib/mysql": {}}}),
        ("ONBUILD RUN echo built\nONBUILD COPY . /app", {"OnBuild": ["ADD x y"]},
         {"OnBuild": ["ADD x y", "RUN echo built", "COPY . /app"]}),
        ("STOPSIGNAL SIGQUIT", {}, {"StopSignal": "SIGQUIT"}),
        ("STOPSIGNAL term", {}, {"StopSignal": "term"}),
        ("STOPSIGNAL 9", {}, {"StopSignal": "9"}),
        ("HEALTHCHECK NONE", {"Healthcheck": {"Test": ["CMD", "x"]}}, {"Healthcheck": {"Test": ["NONE"]}}),
        ("HEALTHCHECK --interval=30s --timeout=1m30s --start-period=1s --start-interval=2s --retries=3 CMD wget -q x",
         {}, {"Healthcheck": {"Test": ["CMD-SHELL", "wget -q x"], "Interval": 30_000_000_000,
                              "Timeout": 90_000_000_000, "StartPeriod": 1_000_000_000,
                              "StartInterval": 2_000_000_000, "Retries": 3}}),
        ('HEALTHCHECK CMD ["true"]', {}, {"Healthcheck": {"Test": ["CMD", "true"]}}),
    ],
)
def test_config_edits(text: str, base: dict[str, Any], expected: dict[str, Any]) -> None:
    assert apply(text, base) == expected


def test_expanded_values_are_what_is_stored() -> None:
    env = {"PORT": "8080", "APP": "/srv/app", "WHO": "app"}
    assert apply("EXPOSE $PORT\nWORKDIR $APP\nUSER $WHO\nLABEL home=$APP\nENV HOME=$APP", env=env) == {
        "ExposedPorts": {"8080/tcp": {}}, "WorkingDir": "/srv/app", "User": "app", "Labels": {"home": "/srv/app"},
        "Env": ["HOME=/srv/app"]}


def test_the_cmd_flag_is_returned_and_carried() -> None:
    cfg: dict[str, Any] = {"Cmd": ["inherited"]}
    (cmd,) = parse_instructions('CMD ["c"]')
    (env,) = parse_instructions("ENV A=1")
    (entry,) = parse_instructions('ENTRYPOINT ["e"]')
    assert apply_instruction(cfg, env, cmd_set_in_stage=False) is False
    assert apply_instruction(cfg, cmd, cmd_set_in_stage=False) is True
    assert apply_instruction(cfg, entry, cmd_set_in_stage=True) is True
    assert cfg["Cmd"] == ["c"]
    # a new stage starts with the flag down: its ENTRYPOINT drops the CMD it inherited
    assert apply_instruction(cfg, entry, cmd_set_in_stage=False) is False
    assert "Cmd" not in cfg


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("EXPOSE http", {}, "EXPOSE: invalid port 'http'"),
        ("EXPOSE 70000", {}, "EXPOSE: invalid port range '70000'"),
        ("EXPOSE 90-80", {}, "invalid port range"),
        ("EXPOSE 80/icmp", {}, "invalid port"),
        ("STOPSIGNAL SIGNOPE", {}, "STOPSIGNAL: invalid signal 'SIGNOPE'"),
        ("STOPSIGNAL 0", {}, "invalid signal"),
        ("VOLUME $EMPTY", {"EMPTY": ""}, "VOLUME specified can not be an empty string"),
        ("WORKDIR $EMPTY", {"EMPTY": ""}, "WORKDIR: the path is empty"),
    ],
)
def test_values_checked_after_substitution(text: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(")):
        apply(text, env=env)


@pytest.mark.parametrize(
    "text", ["FROM x", "RUN true", "COPY a b", "ADD a b", "ARG A", "MAINTAINER me"],
)
def test_instructions_that_do_not_edit_the_config(text: str) -> None:
    (instr,) = parse_instructions(text)
    assert instr.keyword not in EDITS_CONFIG
    with pytest.raises(TypeError, match=f"{instr.keyword} does not edit the image config"):
        apply_instruction({}, instr, cmd_set_in_stage=False)


def test_every_config_keyword_has_an_edit() -> None:
    assert set(ins.KEYWORDS) >= EDITS_CONFIG
    samples = {"CMD": "CMD x", "ENTRYPOINT": "ENTRYPOINT x", "ENV": "ENV a=b", "EXPOSE": "EXPOSE 1",
               "HEALTHCHECK": "HEALTHCHECK NONE", "LABEL": "LABEL a=b", "ONBUILD": "ONBUILD RUN x",
               "SHELL": 'SHELL ["sh"]', "STOPSIGNAL": "STOPSIGNAL 1", "USER": "USER a", "VOLUME": "VOLUME /v",
               "WORKDIR": "WORKDIR /w"}
    assert set(samples) == EDITS_CONFIG
    for text in samples.values():
        (instr,) = parse_instructions(text)
        apply_instruction({}, instr, cmd_set_in_stage=False)


def test_command_argv_for_run() -> None:
    (run,) = parse_instructions("RUN apt-get update && apt-get install -y nginx")
    assert command_argv({}, run) == ["/bin/sh", "-c", "apt-get update && apt-get install -y nginx"]
    assert command_argv({"Shell": ["bash", "-c"]}, run)[:2] == ["bash", "-c"]
    (exec_run,) = parse_instructions('RUN ["echo", "x"]')
    assert command_argv({"Shell": ["bash", "-c"]}, exec_run) == ["echo", "x"]


def test_commit_changes_share_these_edits_without_substitution() -> None:
    from berth.archive.changes import apply_changes

    base = {"Shell": ["/bin/bash", "-c"], "Env": ["HOME=/root"], "Cmd": ["inherited"]}
    assert apply_changes(["ENV A=$HOME B='${X:-y}'", "CMD echo $HOME", 'ENTRYPOINT ["e"]'], base) == {
        "Shell": ["/bin/bash", "-c"],
        "Env": ["HOME=/root", "A=$HOME", "B=${X:-y}"],  # quotes removed, references kept as written
        "Cmd": ["/bin/bash", "-c", "echo $HOME"],  # set by these changes: ENTRYPOINT keeps it
        "Entrypoint": ["e"],
    }
