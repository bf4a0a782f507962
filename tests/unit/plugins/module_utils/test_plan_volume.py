"""plan_volume(desired, actual): a pure function, tested as a table (no engine)."""

from __future__ import annotations

import pytest
from ansible_collections.berth.core.plugins.module_utils.options import parse_options
from ansible_collections.berth.core.plugins.module_utils.runner import ABSENT, Difference
from ansible_collections.berth.core.plugins.module_utils.volume import Volume, VolumeOptions, plan_volume

from berth.errors import InvalidArgument


def want(**kw) -> VolumeOptions:
    return parse_options(VolumeOptions, {"name": "data", **kw})


def have(labels=None, options=None) -> dict:
    return {"CreatedAt": "2024-01-01T00:00:00Z", "Driver": "local", "Labels": labels or {},
            "Mountpoint": "/r/volumes/data/_data", "Name": "data", "Options": options or {}, "Scope": "local"}


BIND = {"type": "none", "o": "bind", "device": "/srv/x"}

# (desired, actual, action kinds, differences as {field: (before, after)}, warns)
CASES = {
    "absent, missing: nothing": (want(state="absent"), None, [], {}, False),
    "absent, there: remove": (want(state="absent"), have(), ["remove"], {"exists": (True, False)}, False),
    "present, missing: create": (want(), None, ["create"], {"exists": (False, True), "driver": (None, "local")},
                                 False),
    "present, same: nothing": (want(), have(), [], {}, False),
    "labels not given are not compared": (want(), have(labels={"a": "1"}), [], {}, False),
    "labels given: only their keys": (want(labels={"a": "1"}), have(labels={"a": "1", "b": "2"}), [], {}, False),
    "label differs, never: warn only": (want(labels={"a": "2"}), have(labels={"a": "1"}), [],
                                        {"labels": ({"a": "1"}, {"a": "2"})}, True),
    "label missing, options-changed: recreate": (
        want(labels={"a": "1"}, recreate="options-changed"), have(), ["remove", "create"],
        {"labels": ({"a": None}, {"a": "1"})}, False),
    "options differ, options-changed: recreate": (
        want(driver_options=BIND, recreate="options-changed"), have(), ["remove", "create"],
        {"driver_options": ({"type": None, "o": None, "device": None}, BIND)}, False),
    "options same, options-changed: nothing": (want(driver_options=BIND, recreate="options-changed"),
                                               have(options=BIND), [], {}, False),
    "always: recreate even when equal": (want(recreate="always"), have(), ["remove", "create"],
                                         {"created": ("2024-01-01T00:00:00Z", "(recreated)")}, False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan(case):
    desired, actual, kinds, differences, warns = CASES[case]
    plan = plan_volume(desired, actual)
    assert [a.kind for a in plan.actions] == kinds
    assert {d.field: (None if d.before is ABSENT else d.before, d.after) for d in plan.differences} == differences
    assert bool(plan.warnings) == warns
    assert plan.changed == bool(kinds)


def test_create_carries_the_options_and_the_diff_shows_the_new_volume():
    plan = plan_volume(want(labels={"a": "1"}, driver_options=BIND), None)
    assert plan.actions[0].params == {"name": "data", "driver": "local", "options": BIND, "labels": {"a": "1"}}
    assert plan.diff() == {"before": {"exists": False},
                           "after": {"exists": True, "driver": "local", "driver_options": BIND, "labels": {"a": "1"}}}


def test_no_change_means_an_empty_diff_even_with_differences():
    plan = plan_volume(want(labels={"a": "2"}), have(labels={"a": "1"}))
    assert plan.differences == [Difference("labels", {"a": "1"}, {"a": "2"})]
    assert plan.diff() == {"before": {}, "after": {}}
    assert "recreate is never" in plan.warnings[0]


def test_plan_is_pure():
    desired, actual = want(labels={"a": "1"}, recreate="options-changed"), have(labels={"a": "0"})
    snapshot = repr(actual)
    assert repr(plan_volume(desired, actual)) == repr(plan_volume(desired, actual))
    assert repr(actual) == snapshot


@pytest.mark.parametrize(("options", "field"), [
    ({"name": "bad name"}, "name"),
    ({"driver_options": {"type": "nfs", "device": ":/x"}}, "option"),
    ({"driver_options": {"size": "1g"}}, "option"),
])
def test_the_engines_own_checks_run_at_plan_time(options, field):
    """So check mode refuses what a real run would."""
    desired = parse_options(VolumeOptions, {"name": "data", **options})
    with pytest.raises(InvalidArgument) as err:
        Volume.plan(desired, None)
    assert field in err.value.data


def test_absent_skips_the_creation_checks():
    assert [a.kind for a in Volume.plan(want(state="absent", driver_options={"size": "1"}), have()).actions] == [
        "remove"]
