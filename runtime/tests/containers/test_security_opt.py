"""``--security-opt`` parsing: Docker's CLI rules, profile files read and checked at parse time."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

import pytest

from berth.cli.run_options import add_run_options, spec_from_args
from berth.containers.parse import parse_security_opt, parse_security_opts
from berth.containers.record import spec_from_json, spec_to_json
from berth.containers.security import SecurityOptions, seccomp_profile, security_options
from berth.containers.spec import ContainerSpec
from berth.errors import InvalidArgument


def args(line: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="berth run", add_help=False)
    add_run_options(parser)
    return parser.parse_args(shlex.split(line))


PROFILE = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}


@pytest.mark.parametrize(("value", "expected"), [
    ("seccomp=unconfined", "seccomp=unconfined"),
    ("seccomp:unconfined", "seccomp=unconfined"),  # Docker's old spelling
    ("seccomp=builtin", "seccomp=builtin"),
    ("no-new-privileges", "no-new-privileges"),
    ("no-new-privileges=true", "no-new-privileges=true"),
    ("no-new-privileges:false", "no-new-privileges=false"),
    ("systempaths=unconfined", "systempaths=unconfined"),
    ("apparmor=unconfined", "apparmor=unconfined"),
    ("label=disable", "label=disable"),
    ("label:disable", "label=disable"),
])
def test_values(value, expected) -> None:
    assert parse_security_opt(value) == expected


def test_profile_file_is_read_and_compacted(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(PROFILE, indent=4))
    opt = parse_security_opt(f"seccomp={path}")
    assert opt == ('seccomp={"defaultAction":"SCMP_ACT_ALLOW",'
                   '"syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}')
    # the container keeps the content: the file can go away
    path.unlink()
    assert seccomp_profile(security_options([opt])) == PROFILE


@pytest.mark.parametrize(("content", "message"), [
    (None, r'invalid --security-opt value "seccomp=.*/p.json": opening seccomp profile \(.*/p.json\) failed: '
           "No such file or directory"),
    ("{", r"seccomp profile \(.*/p.json\) is not valid JSON"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "archMap": '
     '[{"architecture": "SCMP_ARCH_X86_64"}]}', "both 'architectures' and 'archMap'"),
    ('{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "ALLOW"}]}',
     r'syscalls\[0\]: action "ALLOW" is not a seccomp action'),
    ("\xff\xfe", "opening seccomp profile"),
])
def test_bad_profile_files(tmp_path: Path, content, message) -> None:
    path = tmp_path / "p.json"
    if content is not None:
        path.write_bytes(content.encode("latin-1"))
    with pytest.raises(InvalidArgument, match=message) as err:
        parse_security_opt(f"seccomp={path}")
    assert err.value.data["flag"] == "--security-opt"


@pytest.mark.parametrize(("value", "message"), [
    ("seccomp", "expected KEY=VALUE"),
    ("seccomp=", "expected KEY=VALUE"),
    ("bogus=1", 'unknown option "bogus"'),
    ("no-new-privileges=maybe", "takes true or false"),
    ("systempaths=confined", "unconfined only"),
    ("apparmor=docker-default", "no AppArmor profile"),
    ("label=type:svirt_t", "no SELinux labels"),
])
def test_bad_values(value, message) -> None:
    with pytest.raises(InvalidArgument, match=message):
        parse_security_opt(value)


def test_the_last_seccomp_wins_and_duplicates_go() -> None:
    assert parse_security_opts(["seccomp=unconfined", "no-new-privileges", "seccomp=builtin",
                                "no-new-privileges"]) == ("seccomp=builtin", "no-new-privileges")


def test_reading_back_the_record() -> None:
    assert security_options(None) == SecurityOptions()
    assert security_options(["seccomp=builtin"]) == SecurityOptions()
    opts = security_options(["seccomp:unconfined", "no-new-privileges:true", "systempaths=unconfined"])
    assert opts.seccomp_unconfined and opts.no_new_privileges and opts.unmask_system_paths
    assert not security_options(["no-new-privileges=false"]).no_new_privileges
    assert seccomp_profile(security_options(["seccomp=unconfined"])) is None


def test_run_flags_and_record_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(PROFILE))
    spec = spec_from_args(args(f"--security-opt seccomp={shlex.quote(str(path))} "
                               "--security-opt no-new-privileges busybox"))
    assert spec.security_opt == (f"seccomp={json.dumps(PROFILE, separators=(',', ':'))}", "no-new-privileges")
    assert spec_from_json(json.loads(json.dumps(spec_to_json(spec)))) == spec
    assert spec_from_args(args("busybox")).security_opt == ()
    assert spec_from_json({"image": "x"}) == ContainerSpec(image="x")  # records from before the field
    with pytest.raises(InvalidArgument, match=r'invalid --security-opt value "seccomp=/no/such\.json"'):
        spec_from_args(args("--security-opt seccomp=/no/such.json busybox"))
