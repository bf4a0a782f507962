"""plan_copy(desired, actual): a pure function, tested as a table (no engine, no container)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from ansible_collections.berth.core.plugins.module_utils import copy as mod
from ansible_collections.berth.core.plugins.module_utils.options import OptionsError, parse_options
from ansible_collections.berth.core.plugins.module_utils.runner import Refused

TEXT = b"a=1\n"
SHA = hashlib.sha256(TEXT).hexdigest()
CONTAINER = {"Id": "c0ffee", "Name": "app", "ReadOnly": False}


def want(**kw) -> mod.CopyOptions:
    return parse_options(mod.CopyOptions, {"container": "app", "container_path": "/etc/app.conf", **kw})


def source(data=TEXT, mode=0o644) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "mode": mode, "data": data, "text": data}


def target(data=TEXT, mode=0o644, uid=0, gid=0, kind="file", link=None) -> dict:
    return {"kind": kind, "mode": mode, "uid": uid, "gid": gid, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest() if kind == "file" else None, "target": link,
            "content": data if kind == "file" else None}


def have(tgt=None, src=None, container=CONTAINER, error=None) -> dict:
    return {"container": container, "source": src or source(), "target": tgt, "target_error": error}


# (desired, actual, changed, differences as {field: (before, after)})
CASES = {
    "missing: write": (want(content="a=1\n"), have(), True,
                       {"state": ("absent", "file"), "checksum": (None, SHA), "mode": (None, "0644"),
                        "owner": (None, "0:0")}),
    "same: nothing": (want(content="a=1\n"), have(target()), False, {}),
    "content differs": (want(content="a=2\n"), have(target(), source(b"a=2\n")), True,
                        {"checksum": (SHA, hashlib.sha256(b"a=2\n").hexdigest())}),
    "mode differs": (want(content="a=1\n", mode="0600"), have(target()), True, {"mode": ("0644", "0600")}),
    "a host file's own mode": (want(path="/src"), have(target(mode=0o600), source(mode=0o755)), True,
                               {"mode": ("0600", "0755")}),
    "owner differs": (want(content="a=1\n", owner_id=1000, group_id=100), have(target()), True,
                      {"owner": ("0:0", "1000:100")}),
    "owner not given means root": (want(content="a=1\n"), have(target(uid=5, gid=5)), True,
                                   {"owner": ("5:5", "0:0")}),
    "force false, exists: nothing": (want(content="a=2\n", force=False), have(target(), source(b"a=2\n")), False,
                                     {"checksum": (SHA, hashlib.sha256(b"a=2\n").hexdigest())}),
    "force false, missing: write": (want(content="a=1\n", force=False), have(), True,
                                    {"state": ("absent", "file"), "checksum": (None, SHA), "mode": (None, "0644"),
                                     "owner": (None, "0:0")}),
    "force true, same: write": (want(content="a=1\n", force=True), have(target()), True, {"written": (False, True)}),
    "a symlink is replaced": (want(content="a=1\n"), have(target(kind="symlink", link="/x")), True,
                              {"state": ("a symlink to /x", "file"), "checksum": (None, SHA), "mode": (None, "0644"),
                               "owner": (None, "0:0")}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan(case):
    desired, actual, changed, differences = CASES[case]
    plan = mod.plan_copy(desired, actual)
    assert plan.changed is changed
    assert [a.kind for a in plan.actions] == (["write"] if changed else [])
    assert {d.field: (None if d.before is mod.ABSENT else d.before, d.after) for d in plan.differences} == differences


def test_the_write_carries_what_the_engine_needs():
    plan = mod.plan_copy(want(content="a=2\n", mode=0o600, owner_id=1, group_id=2, follow=True),
                         have(target(), source(b"a=2\n")))
    (action,) = plan.actions
    assert action.summary == "write /etc/app.conf in container app (4 bytes, mode 0600, owner 1:2)"
    assert action.params == {"container": "c0ffee", "path": "/etc/app.conf", "data": b"a=2\n", "source": None,
                             "mode": 0o600, "uid": 1, "gid": 2, "follow": True}


def test_small_text_gets_a_content_diff_after_the_attributes():
    plan = mod.plan_copy(want(content="a=2\n"), have(target(), source(b"a=2\n")))
    attributes, text = plan.diff()
    assert attributes == {"before": {"checksum": SHA}, "after": {"checksum": hashlib.sha256(b"a=2\n").hexdigest()}}
    assert text == {"before_header": "app:/etc/app.conf (before)", "after_header": "app:/etc/app.conf (after)",
                    "before": "a=1\n", "after": "a=2\n"}
    new = mod.plan_copy(want(content="a=1\n"), have()).diff()
    assert new[1]["before"] == "" and new[1]["after"] == "a=1\n"


@pytest.mark.parametrize(("before", "after"), [
    (b"\x00\x01binary", TEXT), (TEXT, b"\xff\xfe"), (TEXT, b"x" * (mod.DIFF_LIMIT + 1)),
])
def test_binary_or_big_files_get_checksums_only(before, after):
    src = source(after)
    if len(after) > mod.DIFF_LIMIT:
        src["text"] = None  # what observe keeps of a big host file
    plan = mod.plan_copy(want(path="/src"), have(target(before), src))
    assert isinstance(plan.diff(), dict) and "checksum" in plan.diff()["after"]


def test_mode_changes_only_have_no_text_diff():
    assert isinstance(mod.plan_copy(want(content="a=1\n", mode="600"), have(target())).diff(), dict)


@pytest.mark.parametrize(("actual", "message"), [
    (have(container=None), "container: no such container: app"),
    (have(src={"error": "cannot read /nope: No such file or directory"}),
     "path: cannot read /nope: No such file or directory"),
    (have(error="no such directory in the container: /etc/app.conf"),
     "container_path: no such directory in the container: /etc/app.conf"),
    (have(target(kind="directory")), "container_path: /etc/app.conf is a directory in the container"),
    (have(target(kind="other")), "container_path: /etc/app.conf is not a regular file in the container"),
    (have(container={**CONTAINER, "ReadOnly": True}), "container: the root filesystem of container app is read-only"),
])
def test_what_cannot_be_done_is_refused_naming_the_option(actual, message):
    with pytest.raises(Refused) as err:
        mod.plan_copy(want(content="a=1\n"), actual)
    assert str(err.value) == message


def test_a_read_only_container_with_the_file_in_place_is_fine():
    assert not mod.plan_copy(want(content="a=1\n"), have(target(), container={**CONTAINER, "ReadOnly": True})).changed


@pytest.mark.parametrize(("value", "mode"), [("0644", 0o644), ("644", 0o644), ("0o4755", 0o4755), (420, 0o644),
                                             (None, None)])
def test_modes(value, mode):
    assert want(content="x", mode=value).mode == mode


@pytest.mark.parametrize(("options", "needle"), [
    ({"mode": "rw-r--r--"}, "option mode: not an octal file mode: 'rw-r--r--'"),
    ({"mode": "0888"}, "option mode: not an octal file mode"),
    ({"mode": 0o17777}, "option mode: not a file mode"),
    ({"container_path": "etc/app.conf"}, "option container_path: must be an absolute path"),
    ({"content": None, "path": "relative/file"}, "option path: must be an absolute path on the managed host"),
    ({"container_path": "/etc/"}, "option container_path: must name a file"),
    ({"owner_id": -1, "group_id": 0}, "option owner_id: Input should be greater than or equal to 0"),
    ({"content_is_b64": True, "content": "not base64!"}, "content: not valid base64"),
])
def test_bad_options_name_the_option(options, needle):
    with pytest.raises(OptionsError) as err:
        want(**{"content": "x", **options})
    assert str(err.value).startswith(needle)


def test_base64_content_is_decoded():
    data = bytes(range(256))
    assert mod.wanted_bytes(want(content=base64.b64encode(data).decode(), content_is_b64=True)) == data
