"""The runner: observe -> plan -> apply (not in check mode) -> report, and error messages."""

from __future__ import annotations

import typing

import pytest
from ansible_collections.berth.core.plugins.module_utils import runner
from ansible_collections.berth.core.plugins.module_utils.options import ModuleOptions, parse_options
from ansible_collections.berth.core.plugins.module_utils.runner import (
    ABSENT,
    Action,
    Difference,
    Plan,
    Resource,
    describe_error,
    error_details,
    execute,
)
from ansible_collections.berth.core.plugins.plugin_utils import engine_action as action

from berth.network.errors import InvalidNetworkConfig


class ThingOptions(ModuleOptions):
    name: str
    size: int = 1


class Thing(Resource):
    """A resource living in a dict (the 'engine')."""

    options = ThingOptions
    result_key = "thing"

    def observe(self):
        return self.engine.get(self.opts.name)

    @staticmethod
    def plan(desired, actual):
        if actual == {"size": desired.size}:
            return Plan()
        before = ABSENT if actual is None else actual["size"]
        return Plan([Action("put", f"put {desired.name}", name=desired.name, size=desired.size)],
                    [Difference("size", before, desired.size)], warnings=["careful"])

    def apply_put(self, name, size):
        self.engine[name] = {"size": size}


class Things(Thing):
    read_only = True

    def report(self, actual):
        return {"exists": actual is not None}


def opts(**kw):
    return parse_options(ThingOptions, {"name": "t", **kw})


def test_apply_then_report_the_state_observed_again():
    engine: dict = {}
    result, warnings = execute(Thing, opts(size=2), engine, check_mode=False)
    assert engine == {"t": {"size": 2}}
    assert result == {"changed": True, "actions": ["put t"], "diff": {"before": {}, "after": {"size": 2}},
                      "thing": {"size": 2}}
    assert warnings == ["careful"]


def test_check_mode_stops_before_apply_and_reports_the_state_as_it_is():
    engine = {"t": {"size": 1}}
    result, _ = execute(Thing, opts(size=2), engine, check_mode=True)
    assert engine == {"t": {"size": 1}}
    assert result["changed"] is True
    assert result["diff"] == {"before": {"size": 1}, "after": {"size": 2}}
    assert result["thing"] == {"size": 1}


def test_no_change():
    result, _ = execute(Thing, opts(size=1), {"t": {"size": 1}}, check_mode=False)
    assert result == {"changed": False, "actions": [], "diff": {"before": {}, "after": {}}, "thing": {"size": 1}}


def test_an_action_that_turned_out_to_change_nothing_is_not_reported():
    class Settling(Thing):
        """The first action finds the thing as wanted (a pull getting the image the host had);
        the second changes it and fills in a value only the run could tell."""

        @staticmethod
        def plan(desired, actual):
            return Plan([Action("noop", "look at t"), Action("put", "put t", name="t", size=desired.size)],
                        [Difference("size", actual["size"], "?")])

        def apply_noop(self):
            return False

        def settle_diff(self, diff, actual):
            return {"before": diff["before"], "after": {"size": actual["size"]}}

    engine = {"t": {"size": 1}}
    result, _ = execute(Settling, opts(size=2), engine, check_mode=False)
    assert result["changed"] is True and result["actions"] == ["put t"]
    assert result["diff"] == {"before": {"size": 1}, "after": {"size": 2}}
    checked, _ = execute(Settling, opts(size=3), engine, check_mode=True)  # check mode: as planned
    assert checked["actions"] == ["look at t", "put t"] and checked["diff"]["after"] == {"size": "?"}


def test_a_run_whose_actions_all_changed_nothing_reports_no_change_and_no_diff():
    class Idle(Thing):
        def apply_put(self, name, size):
            return False

    result, _ = execute(Idle, opts(size=2), {"t": {"size": 1}}, check_mode=False)
    assert result == {"changed": False, "actions": [], "diff": {"before": {}, "after": {}}, "thing": {"size": 1}}


def test_read_only_resources_report_no_actions_or_diff():
    result, _ = execute(Things, opts(), {}, check_mode=False)
    assert result == {"changed": False, "exists": False}


def test_a_failing_action_is_known_to_the_boundary():
    class Failing(Thing):
        def apply_put(self, name, size):
            raise InvalidNetworkConfig("invalid subnet 10.0.0.0/33: bad", subnet="10.0.0.0/33")

    progress = runner._Progress()
    with pytest.raises(InvalidNetworkConfig) as err:
        execute(Failing, opts(size=3), {}, check_mode=False, progress=progress)
    assert progress.current.summary == "put t" and progress.done == []
    msg = describe_error(err.value, {"subnet": "ipam_config[0].subnet"}, progress.current)
    assert msg == "put t: ipam_config[0].subnet: invalid subnet 10.0.0.0/33: bad"
    assert error_details(err.value) == {"error": {"type": "InvalidNetworkConfig", "subnet": "10.0.0.0/33"}}


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, "invalid option key"),
    ({"option": "driver_options.{value}"}, "driver_options.size: invalid option key"),
    ({"missing": "x", "option": "driver_options.{value}"}, "driver_options.size: invalid option key"),
])
def test_describe_error_names_the_option_from_the_errors_data(fields, expected):
    from berth.errors import InvalidArgument

    assert describe_error(InvalidArgument("invalid option key", option="size"), fields) == expected


def test_conflicts_are_not_blamed_on_an_option():
    from berth.volumes import VolumeInUse

    err = VolumeInUse("data", ["c1"])
    assert describe_error(err, {"name": "name"}, Action("remove", "remove volume data")) == (
        "remove volume data: remove data: volume is in use - [c1]")


def test_error_details_are_plain_data():
    from pathlib import Path

    from berth.errors import Conflict

    details = error_details(Conflict("in use", containers=("a", "b"), path=Path("/x")))
    assert details == {"error": {"type": "Conflict", "containers": ["a", "b"], "path": "/x"}}
    assert error_details(ValueError("x")) == {}


def test_the_action_plugin_and_the_runner_agree_on_names():
    assert action.ROOT_ENV == runner.ROOT_ENV
    assert action.ENGINE_MISSING_KEY == runner.ENGINE_MISSING_KEY


@pytest.mark.parametrize(("outcome", "missing"), [
    ({"failed": True, "rc": 127, "module_stdout": "", "module_stderr": "/bin/sh: 1: /x/python: not found"}, True),
    ({"failed": True, "rc": 126, "module_stdout": "", "module_stderr": "permission denied"}, True),
    ({"failed": True, runner.ENGINE_MISSING_KEY: True, "msg": "cannot import berth"}, True),
    ({"failed": True, "rc": 1, "module_stdout": "", "module_stderr": "Traceback ..."}, False),
    ({"failed": True, "msg": "volume x: in use"}, False),
    ({"changed": False, "rc": 127}, False),
])
def test_the_action_plugin_tells_a_missing_engine(outcome, missing):
    assert action._engine_missing(outcome) is missing


def test_module_kwargs_reach_ansible_module():
    class Exclusive(ModuleOptions):
        module_kwargs: typing.ClassVar[dict] = {"mutually_exclusive": [["a", "b"]]}
        a: str | None = None
        b: str | None = None

    from ansible_collections.berth.core.plugins.module_utils.options import argument_spec

    assert set(argument_spec(Exclusive)) == {"a", "b"}
    assert Exclusive.module_kwargs == {"mutually_exclusive": [["a", "b"]]}
