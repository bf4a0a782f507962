"""plan_image(desired, actual) and image_refs(desired): pure functions, tested as tables (no engine)."""

from __future__ import annotations

import pytest
from ansible_collections.berth.core.plugins.module_utils.image import ImageOptions, settle_diff
from ansible_collections.berth.core.plugins.module_utils.image_plan import UNKNOWN, image_refs, plan_image
from ansible_collections.berth.core.plugins.module_utils.options import parse_options
from ansible_collections.berth.core.plugins.module_utils.runner import ABSENT, Refused

A, B = "sha256:" + "a" * 64, "sha256:" + "b" * 64
MA, MB = "sha256:" + "1" * 64, "sha256:" + "2" * 64
REG = "127.0.0.1:5000"


def want(**kw) -> ImageOptions:
    return parse_options(ImageOptions, {"name": "app", "source": "pull", **kw})


def image(image_id=A, manifest=MA, os="linux", arch="amd64") -> dict:
    return {"Id": image_id, "RepoTags": ["app:latest"], "Os": os, "Architecture": arch,
            "Descriptor": {"digest": manifest}}


def archived(image_id=A, tags=("docker.io/library/app:latest",), present=False, tagged=False) -> dict:
    return {"id": image_id, "tags": list(tags), "familiar": [t.split("/")[-1] for t in tags],
            "present": present, "tagged": tagged}


BUILD = {"path": "/ctx"}

# (desired, actual, action kinds, diff)
CASES = {
    "pull, missing: pull": (want(), {"image": None}, ["pull"],
                            {"before": {"exists": False}, "after": {"exists": True, "id": UNKNOWN}}),
    "pull, present: nothing (no registry asked)": (want(), {"image": image()}, [], {}),
    "pull forced, registry has the same image: nothing": (
        want(force_source=True), {"image": image(), "remote": {"digest": MA, "id": A}}, [], {}),
    "pull forced, registry's tag moved: pull": (
        want(force_source=True), {"image": image(), "remote": {"digest": MB, "id": B}}, ["pull"],
        {"before": {"id": A}, "after": {"id": B}}),
    "pull by digest, present: nothing": (want(name=f"app@{MA}", force_source=True), {"image": image()}, [], {}),
    "pull, another platform present: pull": (want(platform="linux/arm64"), {"image": image()}, ["pull"],
                                             {"before": {"id": A}, "after": {"id": UNKNOWN}}),
    "pull, same platform present: nothing": (want(platform="linux/amd64"), {"image": image()}, [], {}),
    "build, missing: build": (want(source="build", build=BUILD), {"image": None, "context": None}, ["build"],
                              {"before": {"exists": False}, "after": {"exists": True, "id": UNKNOWN}}),
    "build, present: nothing": (want(source="build", build=BUILD), {"image": image()}, [], {}),
    "build forced: build, ID known after": (want(source="build", build=BUILD, force_source=True),
                                            {"image": image(), "context": None}, ["build"],
                                            {"before": {"id": A}, "after": {"id": UNKNOWN}}),
    "load, missing: load": (want(source="load", load_path="/a.tar"), {"image": None, "archive": [archived()]},
                            ["load"], {"before": {"exists": False}, "after": {"exists": True, "id": A}}),
    "load forced, all there: nothing": (
        want(source="load", load_path="/a.tar", force_source=True),
        {"image": image(), "archive": [archived(present=True, tagged=True)]}, [], {}),
    "load forced, one image missing: load": (
        want(source="load", load_path="/a.tar", force_source=True),
        {"image": image(), "archive": [archived(present=True, tagged=True), archived(B, (), present=False)]},
        ["load"], {"before": {"id": A}, "after": {"id": A}}),
    "load forced, the tag moves: load": (
        want(source="load", load_path="/a.tar", force_source=True),
        {"image": image(), "archive": [archived(B, present=True, tagged=False)]}, ["load"],
        {"before": {"id": A}, "after": {"id": B}}),
    "local, present: nothing": (want(source="local"), {"image": image()}, [], {}),
    "absent, present: remove": (want(state="absent"), {"image": image()}, ["remove"],
                                {"before": {"exists": True, "id": A}, "after": {"exists": False}}),
    "absent, missing: nothing": (want(state="absent"), {"image": None}, [], {}),
    "repository missing: tag": (want(source="local", repository=f"{REG}/app"),
                                {"image": image(), "repository": None}, ["tag"],
                                {"before": {"repository": {f"{REG}/app:latest": None}},
                                 "after": {"repository": {f"{REG}/app:latest": A}}}),
    "repository same image: nothing": (want(source="local", repository=f"{REG}/app:2"),
                                       {"image": image(), "repository": A}, [], {}),
    "repository elsewhere, no force_tag: nothing": (want(source="local", repository=f"{REG}/app"),
                                                    {"image": image(), "repository": B}, [], {}),
    "repository elsewhere, force_tag: tag moves": (
        want(source="local", repository=f"{REG}/app", force_tag=True), {"image": image(), "repository": B},
        ["tag"], {"before": {"repository": {f"{REG}/app:latest": B}},
                  "after": {"repository": {f"{REG}/app:latest": A}}}),
    "push, registry has it: nothing": (want(name=f"{REG}/app", source="local", push=True),
                                       {"image": image(), "registry": MA, "local_manifest": MA}, [], {}),
    "push, registry has another: push": (
        want(name=f"{REG}/app", source="local", push=True), {"image": image(), "registry": MB, "local_manifest": MA},
        ["push"], {"before": {"pushed": {f"{REG}/app:latest": MB}}, "after": {"pushed": {f"{REG}/app:latest": MA}}}),
    "push after a pull: push, digest known after": (
        want(name=f"{REG}/app", push=True), {"image": None, "registry": MA, "local_manifest": None},
        ["pull", "push"], {"before": {"exists": False, "pushed": {f"{REG}/app:latest": MA}},
                           "after": {"exists": True, "id": UNKNOWN, "pushed": {f"{REG}/app:latest": UNKNOWN}}}),
    "tag and push a new repository": (
        want(source="local", repository=f"{REG}/mirror/app:1", push=True),
        {"image": image(), "repository": None, "registry": None, "local_manifest": None}, ["tag", "push"],
        {"before": {"repository": {f"{REG}/mirror/app:1": None}, "pushed": {f"{REG}/mirror/app:1": None}},
         "after": {"repository": {f"{REG}/mirror/app:1": A}, "pushed": {f"{REG}/mirror/app:1": UNKNOWN}}}),
    "archive holds it: nothing": (want(source="local", archive_path="/o.tar"),
                                  {"image": image(), "saved": [{"id": A, "tags": ["docker.io/library/app:latest"]}]},
                                  [], {}),
    "archive missing: save": (want(source="local", archive_path="/o.tar"), {"image": image(), "saved": None},
                              ["save"], {"before": {"archive": {"/o.tar": None}},
                                         "after": {"archive": {"/o.tar": [A]}}}),
    "archive of another image: save": (
        want(source="local", archive_path="/o.tar"),
        {"image": image(), "saved": [{"id": B, "tags": ["docker.io/library/app:latest"]}]}, ["save"],
        {"before": {"archive": {"/o.tar": [B]}}, "after": {"archive": {"/o.tar": [A]}}}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan(case):
    desired, actual, kinds, diff = CASES[case]
    plan = plan_image(desired, actual)
    assert [a.kind for a in plan.actions] == kinds
    assert plan.diff() == (diff or {"before": {}, "after": {}})


@pytest.mark.parametrize(("options", "actual", "message"), [
    ({"name": "Bad Name"}, {"image": None}, "name: invalid reference format"),
    ({"tag": "no tag!"}, {"image": None}, "tag: invalid reference format"),
    ({"repository": "app@" + MA, "source": "local"}, {"image": image()}, "repository: app@sha256:"),
    ({"name": A, "push": True, "source": "local"}, {"image": image()}, "push: sha256:"),
    ({"platform": "linux"}, {"image": None}, "platform: invalid platform"),
    ({"name": A}, {"image": None}, "name: sha256:aaaa"),
    ({"source": "local"}, {"image": None}, "name: image app:latest is not present"),
    ({"source": "local", "archive_path": "/no/o.tar"}, {"image": image(), "saved": None, "archive_dir": False},
     "archive_path: the directory of /no/o.tar does not exist"),
    ({"source": "build", "build": {"path": "/nope"}}, {"image": None, "context": "build.path: /nope does not exist"},
     "build.path: /nope does not exist"),
    ({"source": "load", "load_path": "/a.tar"}, {"image": None, "archive": [archived(tags=["docker.io/x/y:1"])]},
     "load_path: /a.tar does not hold image app:latest (it holds y:1)"),
])
def test_bad_input_is_refused_naming_the_option(options, actual, message):
    with pytest.raises(Refused) as exc:
        plan_image(want(**options), actual)
    assert str(exc.value).startswith(message)


@pytest.mark.parametrize(("options", "expected"), [
    ({}, ("app:latest", "tag", "latest", None, None)),
    ({"tag": "2"}, ("app:2", "tag", "2", None, None)),
    ({"name": "app:1", "tag": "2"}, ("app:1", "tag", "1", None, None)),  # the name's tag wins
    ({"name": f"{REG}/team/app"}, (f"{REG}/team/app:latest", "tag", "latest", None, None)),
    ({"name": f"app@{MA}"}, (f"app@{MA}", "digest", None, None, None)),
    ({"name": A}, (A, "id", None, None, None)),
    ({"name": "app:1", "repository": f"{REG}/app", "push": True},
     ("app:1", "tag", "1", f"{REG}/app:1", f"{REG}/app:1")),
    ({"repository": f"{REG}/app:9", "push": True}, ("app:latest", "tag", "latest", f"{REG}/app:9", f"{REG}/app:9")),
    ({"name": f"{REG}/app", "push": True}, (f"{REG}/app:latest", "tag", "latest", None, f"{REG}/app:latest")),
])
def test_refs(options, expected):
    assert tuple(image_refs(want(**options))) == expected


def test_warns_when_the_repository_tag_names_another_image():
    plan = plan_image(want(source="local", repository="other"), {"image": image(), "repository": B})
    assert not plan.actions and "force_tag: true moves it" in plan.warnings[0]


def test_actions_carry_what_apply_needs():
    plan = plan_image(want(force_source=True), {"image": image(), "remote": {"digest": MB, "id": B}})
    assert plan.actions[0].params == {"ref": "app:latest", "platform": None, "before": A}
    assert plan.actions[0].summary == "pull image app:latest"
    plan = plan_image(want(state="absent", force_absent=True), {"image": image()})
    assert plan.actions[0].params == {"ref": "app:latest", "force": True}


def test_absent_diff_leaves_the_id_out_of_after():
    plan = plan_image(want(state="absent"), {"image": image()})
    assert plan.differences[1].after is ABSENT


def test_settle_diff_fills_in_what_the_run_told_and_drops_what_did_not_move():
    diff = {"before": {"exists": False, "pushed": {"r/a:1": None}},
            "after": {"exists": True, "id": UNKNOWN, "pushed": {"r/a:1": UNKNOWN}}}
    assert settle_diff(diff, {"image": image(), "local_manifest": MA}) == {
        "before": {"exists": False, "pushed": {"r/a:1": None}},
        "after": {"exists": True, "id": A, "pushed": {"r/a:1": MA}}}
    rebuilt_same = {"before": {"id": A}, "after": {"id": UNKNOWN}}
    assert settle_diff(rebuilt_same, {"image": image()}) == {"before": {}, "after": {}}
    saved = {"before": {"archive": {"/o.tar": None}}, "after": {"archive": {"/o.tar": [UNKNOWN]}}}
    assert settle_diff(saved, {"image": image(B)})["after"] == {"archive": {"/o.tar": [B]}}


def test_plan_is_pure():
    desired = want(source="load", load_path="/a.tar", force_source=True, archive_path="/o.tar")
    actual = {"image": image(), "archive": [archived(B, present=True)], "saved": None}
    snapshot = repr(actual)
    assert repr(plan_image(desired, actual)) == repr(plan_image(desired, actual))
    assert repr(actual) == snapshot
